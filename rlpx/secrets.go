package rlpx

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding"
	"errors"
	"hash"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/internal/keccak"
)

// Secrets are the session keys a handshake agrees on (rlpx.md "Initial
// Handshake"):
//
//	shared-secret = keccak256(ephemeral-key || keccak256(nonce || initiator-nonce))
//	aes-secret    = keccak256(ephemeral-key || shared-secret)
//	mac-secret    = keccak256(ephemeral-key || aes-secret)
//
// EgressMAC and IngressMAC are Keccak-256 states already seeded with
// (mac-secret ^ nonce) and the handshake packet. InitWithSecrets accepts
// any Keccak-256 hash.Hash: states it can copy (its own, or any that
// serialise in the x/crypto/sha3 format) run on the package's allocation-free
// sponge; others are used through hash.Hash, more slowly, and are owned by
// the Conn from then on.
type Secrets struct {
	AES, MAC              []byte
	EgressMAC, IngressMAC hash.Hash
	remote                *crypto.PublicKey
}

// sessionKeys are the secrets a handshake derives, in the form the Conn
// installs them: the handshake fills one on the stack, so that nothing
// on the way from the handshake to the session is allocated.
type sessionKeys struct {
	aes, mac        [32]byte
	egress, ingress keccak.State
}

// deriveSecrets computes the session secrets from the ephemeral shared
// secret, both nonces and both handshake packets as sent on the wire.
func deriveSecrets(ecdhe *[32]byte, initNonce, respNonce *[nonceLen]byte, auth, ack []byte, initiator bool) Secrets {
	k := new(sessionKeys)
	deriveKeys(ecdhe, initNonce, respNonce, auth, ack, initiator, k)
	return Secrets{AES: k.aes[:], MAC: k.mac[:], EgressMAC: &k.egress, IngressMAC: &k.ingress}
}

// deriveKeys is deriveSecrets writing into k.
func deriveKeys(ecdhe *[32]byte, initNonce, respNonce *[nonceLen]byte, auth, ack []byte, initiator bool, k *sessionKeys) {
	var h keccak.State
	var nonces, shared [32]byte

	h.Write(respNonce[:])
	h.Write(initNonce[:])
	h.Sum256(&nonces)

	h.Reset()
	h.Write(ecdhe[:])
	h.Write(nonces[:])
	h.Sum256(&shared)

	h.Reset()
	h.Write(ecdhe[:])
	h.Write(shared[:])
	h.Sum256(&k.aes)

	h.Reset()
	h.Write(ecdhe[:])
	h.Write(k.aes[:])
	h.Sum256(&k.mac)

	// egress-mac (initiator) = keccak256.init((mac-secret ^ recipient-nonce) || auth)
	// ingress-mac (initiator) = keccak256.init((mac-secret ^ initiator-nonce) || ack)
	authMAC, ackMAC := &k.egress, &k.ingress
	if !initiator {
		authMAC, ackMAC = ackMAC, authMAC
	}
	var x [32]byte
	authMAC.Reset()
	subtle.XORBytes(x[:], k.mac[:], respNonce[:])
	authMAC.Write(x[:])
	authMAC.Write(auth)
	ackMAC.Reset()
	subtle.XORBytes(x[:], k.mac[:], initNonce[:])
	ackMAC.Write(x[:])
	ackMAC.Write(ack)
}

var errSecretLength = errors.New("rlpx: AES and MAC secrets must be 32 bytes")

// sessionFromSecrets builds both directions' cipher and MAC state. The AES
// key is ephemeral, so both directions use AES-256-CTR from an all-zero IV
// (rlpx.md "Framing"); the MAC uses AES-256 in single-block mode.
func sessionFromSecrets(sec *Secrets, r *frameReader, w *frameWriter) error {
	if len(sec.AES) != 32 || len(sec.MAC) != 32 {
		return errSecretLength
	}
	if sec.EgressMAC == nil || sec.IngressMAC == nil {
		return errMissingMAC
	}
	egress, egressForeign := importKeccak(sec.EgressMAC)
	ingress, ingressForeign := importKeccak(sec.IngressMAC)
	return installSession((*[32]byte)(sec.AES), (*[32]byte)(sec.MAC), &egress, egressForeign, &ingress, ingressForeign, r, w)
}

// installSession sets up both directions from the AES and MAC secrets and
// the seeded MAC states (or, where a state could not be copied, the
// foreign hash to use instead).
func installSession(aesKey, macKey *[32]byte, egress *keccak.State, egressForeign hash.Hash, ingress *keccak.State, ingressForeign hash.Hash, r *frameReader, w *frameWriter) error {
	encBlock, err := aes.NewCipher(aesKey[:])
	if err != nil {
		return err
	}
	macBlock, err := aes.NewCipher(macKey[:])
	if err != nil {
		return err
	}
	var iv [aes.BlockSize]byte
	w.enc = cipher.NewCTR(encBlock, iv[:])
	w.mac.init(macBlock, egress, egressForeign)
	r.dec = cipher.NewCTR(encBlock, iv[:])
	r.mac.init(macBlock, ingress, ingressForeign)
	return nil
}

var errMissingMAC = errors.New("rlpx: EgressMAC and IngressMAC must be set")

// importKeccak copies a Keccak-256 state into ours: directly, or through
// the x/crypto/sha3 serialisation. When neither works it returns h itself
// as the foreign state to use instead.
func importKeccak(h hash.Hash) (s keccak.State, foreign hash.Hash) {
	switch h := h.(type) {
	case *keccak.State:
		return *h, nil
	case encoding.BinaryMarshaler:
		if b, err := h.MarshalBinary(); err == nil && s.UnmarshalBinary(b) == nil {
			return s, nil
		}
	}
	return s, h
}

package rlpx

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding"
	"errors"
	"fmt"
	"hash"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/rlpx/internal/keccak"
)

// Secrets are the session keys a handshake agrees on (rlpx.md "Initial
// Handshake"):
//
//	shared-secret = keccak256(ephemeral-key || keccak256(nonce || initiator-nonce))
//	aes-secret    = keccak256(ephemeral-key || shared-secret)
//	mac-secret    = keccak256(ephemeral-key || aes-secret)
//
// EgressMAC and IngressMAC are Keccak-256 states already seeded with
// (mac-secret ^ nonce) and the handshake packet. Any Keccak-256
// implementation that can serialise its state in the x/crypto/sha3 format
// (crypto.NewKeccak256 can) may be passed to InitWithSecrets.
type Secrets struct {
	AES, MAC              []byte
	EgressMAC, IngressMAC hash.Hash
	remote                *crypto.PublicKey
}

// deriveSecrets computes the session secrets from the ephemeral shared
// secret, both nonces and both handshake packets as sent on the wire.
func deriveSecrets(ecdhe *[32]byte, initNonce, respNonce *[nonceLen]byte, auth, ack []byte, initiator bool) Secrets {
	var h keccak.State
	var nonces, shared, aesSecret, macSecret [32]byte

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
	h.Sum256(&aesSecret)

	h.Reset()
	h.Write(ecdhe[:])
	h.Write(aesSecret[:])
	h.Sum256(&macSecret)

	// egress-mac (initiator) = keccak256.init((mac-secret ^ recipient-nonce) || auth)
	// ingress-mac (initiator) = keccak256.init((mac-secret ^ initiator-nonce) || ack)
	var x [32]byte
	authMAC := keccak.New()
	subtle.XORBytes(x[:], macSecret[:], respNonce[:])
	authMAC.Write(x[:])
	authMAC.Write(auth)
	ackMAC := keccak.New()
	subtle.XORBytes(x[:], macSecret[:], initNonce[:])
	ackMAC.Write(x[:])
	ackMAC.Write(ack)

	s := Secrets{AES: aesSecret[:], MAC: macSecret[:]}
	if initiator {
		s.EgressMAC, s.IngressMAC = authMAC, ackMAC
	} else {
		s.EgressMAC, s.IngressMAC = ackMAC, authMAC
	}
	return s
}

var errSecretLength = errors.New("rlpx: AES and MAC secrets must be 32 bytes")

// sessionFromSecrets builds both directions' cipher and MAC state. The AES
// key is ephemeral, so both directions use AES-256-CTR from an all-zero IV
// (rlpx.md "Framing"); the MAC uses AES-256 in single-block mode.
func sessionFromSecrets(sec *Secrets, r *frameReader, w *frameWriter) error {
	if len(sec.AES) != 32 || len(sec.MAC) != 32 {
		return errSecretLength
	}
	encBlock, err := aes.NewCipher(sec.AES)
	if err != nil {
		return err
	}
	macBlock, err := aes.NewCipher(sec.MAC)
	if err != nil {
		return err
	}
	egress, err := importKeccak(sec.EgressMAC)
	if err != nil {
		return fmt.Errorf("rlpx: EgressMAC: %w", err)
	}
	ingress, err := importKeccak(sec.IngressMAC)
	if err != nil {
		return fmt.Errorf("rlpx: IngressMAC: %w", err)
	}
	var iv [aes.BlockSize]byte
	w.enc = cipher.NewCTR(encBlock, iv[:])
	w.mac.init(macBlock, &egress)
	r.dec = cipher.NewCTR(encBlock, iv[:])
	r.mac.init(macBlock, &ingress)
	return nil
}

// importKeccak copies a Keccak-256 state: ours directly, any other through
// its binary serialisation.
func importKeccak(h hash.Hash) (keccak.State, error) {
	var s keccak.State
	switch h := h.(type) {
	case *keccak.State:
		return *h, nil
	case encoding.BinaryMarshaler:
		b, err := h.MarshalBinary()
		if err != nil {
			return s, err
		}
		return s, s.UnmarshalBinary(b)
	case nil:
		return s, errors.New("missing MAC state")
	default:
		return s, fmt.Errorf("MAC state %T cannot be serialised", h)
	}
}

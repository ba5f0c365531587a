package rlpx

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/crypto/ecies"
	"github.com/trellis-p2p/trellis/internal/ec"
)

// The encrypted handshake (rlpx.md "Initial Handshake", EIP-8):
//
//	initiator                                  recipient
//	auth = ECIES(recipient-pubk, auth-body)  ->
//	                                        <- ack = ECIES(initiator-pubk, ack-body)
//
// The auth signature, made with the initiator's ephemeral key over
// static-shared-secret ^ initiator-nonce, lets the recipient recover that
// ephemeral key; the ack carries the recipient's ephemeral key in the clear
// (inside the ECIES envelope). Both sides then derive the session secrets
// from the ephemeral shared secret and the nonces (secrets.go).
//
// Scalar multiplications per handshake (the dominant cost; internal/ec
// does them, directly or through crypto/ecies):
//
//	initiator: static ECDH, signing (k·G), ECIES encrypt (r·G, r·P),
//	           ECIES decrypt, ephemeral ECDH             4 variable + 2 fixed-base
//	recipient: ECIES decrypt, static ECDH, ephemeral key (k·G),
//	           recovery fused with ephemeral ECDH,
//	           ECIES encrypt (r·G, r·P)                  4 variable + 3 fixed-base
//
// The initiator never computes its own ephemeral public key: EIP-8 auth
// does not carry it (the recipient recovers it from the signature), and its
// static public key is cached (curve.go).

// handshake is one side's state during the handshake. The exchange
// functions at the bottom do the I/O; the rest is pure computation.
type handshake struct {
	initiator bool
	rand      io.Reader // nonces, ephemeral keys and ECIES randomness

	local  *crypto.PrivateKey
	remote *ec.Point // remote static key: the dial destination, or from auth
	eph    *crypto.PrivateKey

	initNonce, respNonce [nonceLen]byte
	ecdhe                [32]byte // ephemeral shared secret, once known
	remoteVersion        uint64   // auth-vsn or ack-vsn received
}

// makeAuth creates the initiator's auth packet (EIP-8 format).
func (h *handshake) makeAuth() ([]byte, error) {
	if _, err := io.ReadFull(h.rand, h.initNonce[:]); err != nil {
		return nil, err
	}
	eph, err := crypto.GenerateKeyFrom(h.rand)
	if err != nil {
		return nil, err
	}
	h.eph = eph

	static, _ := ec.ScalarMultX(&h.local.Key, h.remote)
	var digest [32]byte
	subtle.XORBytes(digest[:], static[:], h.initNonce[:])
	msg := authMsg{
		Signature:       ec.SignRecoverable(&h.eph.Key, &digest),
		InitiatorPubkey: *localPubkey(h.local),
		Nonce:           h.initNonce,
		Version:         authVsn,
	}
	return sealEIP8(h.rand, h.remote, msg.appendRLP(make([]byte, 0, 512)))
}

// handleAuth processes the auth packet on the recipient, whose ephemeral key
// and nonce must already be set.
func (h *handshake) handleAuth(packet []byte, eip8 bool) error {
	plain, err := openPacket(h.local, packet, eip8)
	if err != nil {
		return err
	}
	var msg authMsg
	if eip8 {
		err = msg.decodeRLP(plain)
	} else {
		err = msg.decodeV4(plain)
	}
	if err != nil {
		return err
	}
	remote, ok := ec.ParsePoint(&msg.InitiatorPubkey)
	if !ok {
		return fmt.Errorf("%w: initiator-pubk not on the curve", ErrHandshakeKey)
	}
	h.remote = remote
	h.initNonce = msg.Nonce
	h.remoteVersion = msg.Version

	static, _ := ec.ScalarMultX(&h.local.Key, remote)
	var digest [32]byte
	subtle.XORBytes(digest[:], static[:], h.initNonce[:])
	// The fused recovery and ECDH (ec.RecoverMultX) saves the variable-base
	// multiplication that recovering the initiator's ephemeral key and then
	// multiplying it would take.
	h.ecdhe, err = ec.RecoverMultX(&h.eph.Key, &digest, &msg.Signature)
	if err != nil {
		return fmt.Errorf("%w: auth signature: %w", ErrHandshakeKey, err)
	}
	return nil
}

// makeAck creates the recipient's ack packet, in the format of the auth.
func (h *handshake) makeAck(eip8 bool) ([]byte, error) {
	msg := ackMsg{
		EphemeralPubkey: ec.ScalarBaseMult(&h.eph.Key),
		Nonce:           h.respNonce,
		Version:         authVsn,
	}
	if !eip8 {
		return ecies.Encrypt(h.rand, h.remote.PublicKey(), msg.appendV4(nil), nil, nil)
	}
	return sealEIP8(h.rand, h.remote, msg.appendRLP(make([]byte, 0, 512)))
}

// handleAck processes the ack packet on the initiator.
func (h *handshake) handleAck(packet []byte, eip8 bool) error {
	plain, err := openPacket(h.local, packet, eip8)
	if err != nil {
		return err
	}
	var msg ackMsg
	if eip8 {
		err = msg.decodeRLP(plain)
	} else {
		err = msg.decodeV4(plain)
	}
	if err != nil {
		return err
	}
	remoteEph, ok := ec.ParsePoint(&msg.EphemeralPubkey)
	if !ok {
		return fmt.Errorf("%w: recipient-ephemeral-pubk not on the curve", ErrHandshakeKey)
	}
	h.respNonce = msg.Nonce
	h.remoteVersion = msg.Version
	h.ecdhe, _ = ec.ScalarMultX(&h.eph.Key, remoteEph)
	return nil
}

// secrets derives the session secrets once both packets are known.
func (h *handshake) secrets(auth, ack []byte) Secrets {
	s := deriveSecrets(&h.ecdhe, &h.initNonce, &h.respNonce, auth, ack, h.initiator)
	s.remote = h.remote.PublicKey()
	return s
}

// keys is secrets without allocation, for Conn.Handshake.
func (h *handshake) keys(auth, ack []byte, k *sessionKeys) {
	deriveKeys(&h.ecdhe, &h.initNonce, &h.respNonce, auth, ack, h.initiator, k)
}

// sealEIP8 pads body and encrypts it to remote, with the 2-byte size
// prefix as ECIES shared data (EIP-8: "enc-auth-body = ecies.encrypt(
// recipient-pubk, auth-body || auth-padding, auth-size)").
func sealEIP8(rnd io.Reader, remote *ec.Point, body []byte) ([]byte, error) {
	// The padding only needs to vary in length; its content is encrypted.
	pad := minPadding + rand.IntN(maxPadding-minPadding+1)
	body = append(body, make([]byte, pad)...)
	var prefix [2]byte
	binary.BigEndian.PutUint16(prefix[:], uint16(len(body)+ecies.Overhead))
	ct, err := ecies.Encrypt(rnd, remote.PublicKey(), body, nil, prefix[:])
	if err != nil {
		return nil, err
	}
	return append(prefix[:], ct...), nil
}

// openPacket decrypts an auth or ack packet. For EIP-8 the size prefix is
// the ECIES shared data; the old format has none.
func openPacket(k *crypto.PrivateKey, packet []byte, eip8 bool) ([]byte, error) {
	var (
		plain []byte
		err   error
	)
	if eip8 {
		plain, err = ecies.Decrypt(k, packet[2:], nil, packet[:2])
	} else {
		plain, err = ecies.Decrypt(k, packet, nil, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshakeDecrypt, err)
	}
	return plain, nil
}

// readPacket reads one auth or ack packet, in either format. legacyLen is
// the fixed size of the pre-EIP-8 packet (307 for auth, 210 for ack).
//
// Any pre-EIP-8 packet starts with the ECIES ephemeral key, 0x04 || X || Y.
// An EIP-8 packet starting with 0x04 would announce over 1 KiB, and its
// first 65 bytes are a valid curve point only with negligible probability,
// so that test tells the formats apart without trial decryption and without
// waiting for bytes an EIP-8 peer may never send.
func readPacket(rb *readBuffer, r io.Reader, legacyLen int) (packet []byte, eip8 bool, err error) {
	if err := rb.fill(r, 2); err != nil {
		return nil, false, err
	}
	if rb.unread()[0] == 0x04 {
		if err := rb.fill(r, crypto.PubkeyLength); err != nil {
			return nil, false, err
		}
		if _, ok := ec.ParsePoint((*[64]byte)(rb.unread()[1:crypto.PubkeyLength])); ok {
			if err := rb.fill(r, legacyLen); err != nil {
				return nil, false, err
			}
			return rb.next(legacyLen), false, nil
		}
	}
	size := int(binary.BigEndian.Uint16(rb.unread()))
	if size > MaxHandshakeSize {
		return nil, true, &SizeError{Err: ErrHandshakeSize, What: "EIP-8 size prefix", Size: uint64(size), Limit: MaxHandshakeSize}
	}
	if err := rb.fill(r, 2+size); err != nil {
		return nil, true, err
	}
	return rb.next(2 + size), true, nil
}

// runInitiator performs the initiator's side over r/w. rb is the
// connection's receive buffer: bytes after the ack stay in it.
func (h *handshake) runInitiator(w io.Writer, r io.Reader, rb *readBuffer) (auth, ack []byte, err error) {
	h.initiator = true
	auth, err = h.makeAuth()
	if err != nil {
		return nil, nil, err
	}
	if _, err := w.Write(auth); err != nil {
		return nil, nil, err
	}
	ack, eip8, err := readPacket(rb, r, ackV4Len+ecies.Overhead)
	if err != nil {
		return nil, nil, err
	}
	if err := h.handleAck(ack, eip8); err != nil {
		return nil, nil, err
	}
	return auth, ack, nil
}

// runRecipient performs the recipient's side.
func (h *handshake) runRecipient(w io.Writer, r io.Reader, rb *readBuffer) (auth, ack []byte, err error) {
	if _, err := io.ReadFull(h.rand, h.respNonce[:]); err != nil {
		return nil, nil, err
	}
	eph, err := crypto.GenerateKeyFrom(h.rand)
	if err != nil {
		return nil, nil, err
	}
	h.eph = eph
	auth, eip8, err := readPacket(rb, r, authV4Len+ecies.Overhead)
	if err != nil {
		return nil, nil, err
	}
	if err := h.handleAuth(auth, eip8); err != nil {
		return nil, nil, err
	}
	ack, err = h.makeAck(eip8)
	if err != nil {
		return nil, nil, err
	}
	if _, err := w.Write(ack); err != nil {
		return nil, nil, err
	}
	// auth still points into rb: derive the secrets before reading on.
	return auth, ack, nil
}

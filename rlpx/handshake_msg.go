package rlpx

import (
	"fmt"

	"github.com/trellis-p2p/trellis/rlp"
)

// Handshake message bodies (rlpx.md "Initial Handshake", EIP-8). This file
// only encodes and decodes plaintext; encryption is in handshake.go.
//
//	auth-body = [sig, initiator-pubk, initiator-nonce, auth-vsn, ...]
//	ack-body  = [recipient-ephemeral-pubk, recipient-nonce, ack-vsn, ...]
//
// Before EIP-8 the bodies were fixed-size concatenations:
//
//	auth = sig (65) || keccak256(ephemeral-pubk) (32) || initiator-pubk (64) || nonce (32) || 0x00
//	ack  = recipient-ephemeral-pubk (64) || nonce (32) || 0x00
const (
	sigLen    = 65 // R || S || V
	pubLen    = 64 // X || Y, without the 0x04 prefix
	nonceLen  = 32
	authVsn   = 4 // auth-vsn and ack-vsn we send
	authV4Len = sigLen + 32 + pubLen + nonceLen + 1
	ackV4Len  = pubLen + nonceLen + 1

	// EIP-8 asks for at least 100 bytes of padding, so that an EIP-8
	// packet is never mistaken for the old format, and recommends a random
	// amount in [100, 300].
	minPadding = 100
	maxPadding = 300
)

type authMsg struct {
	Signature       [sigLen]byte
	InitiatorPubkey [pubLen]byte
	Nonce           [nonceLen]byte
	Version         uint64
}

type ackMsg struct {
	EphemeralPubkey [pubLen]byte
	Nonce           [nonceLen]byte
	Version         uint64
}

// appendRLP appends the EIP-8 auth-body.
func (m *authMsg) appendRLP(b []byte) []byte {
	w := rlp.NewEncoderBuffer(nil)
	l := w.List()
	w.WriteBytes(m.Signature[:])
	w.WriteBytes(m.InitiatorPubkey[:])
	w.WriteBytes(m.Nonce[:])
	w.WriteUint64(m.Version)
	w.ListEnd(l)
	b = w.AppendToBytes(b)
	w.Flush()
	return b
}

func (m *ackMsg) appendRLP(b []byte) []byte {
	w := rlp.NewEncoderBuffer(nil)
	l := w.List()
	w.WriteBytes(m.EphemeralPubkey[:])
	w.WriteBytes(m.Nonce[:])
	w.WriteUint64(m.Version)
	w.ListEnd(l)
	b = w.AppendToBytes(b)
	w.Flush()
	return b
}

// decodeRLP decodes an EIP-8 auth-body. As EIP-8 requires, any auth-vsn is
// accepted, as are additional list elements and data after the list (the
// padding).
func (m *authMsg) decodeRLP(b []byte) error {
	elems, _, err := rlp.SplitList(b)
	if err != nil {
		return fmt.Errorf("%w: auth-body: %w", ErrHandshakeMessage, err)
	}
	if elems, err = splitFixed(elems, m.Signature[:], "sig"); err != nil {
		return err
	}
	if elems, err = splitFixed(elems, m.InitiatorPubkey[:], "initiator-pubk"); err != nil {
		return err
	}
	if elems, err = splitFixed(elems, m.Nonce[:], "initiator-nonce"); err != nil {
		return err
	}
	m.Version, err = splitVersion(elems, "auth-vsn")
	return err
}

// decodeRLP decodes an EIP-8 ack-body, as liberally as authMsg.decodeRLP.
func (m *ackMsg) decodeRLP(b []byte) error {
	elems, _, err := rlp.SplitList(b)
	if err != nil {
		return fmt.Errorf("%w: ack-body: %w", ErrHandshakeMessage, err)
	}
	if elems, err = splitFixed(elems, m.EphemeralPubkey[:], "recipient-ephemeral-pubk"); err != nil {
		return err
	}
	if elems, err = splitFixed(elems, m.Nonce[:], "recipient-nonce"); err != nil {
		return err
	}
	m.Version, err = splitVersion(elems, "ack-vsn")
	return err
}

// splitFixed reads one string of exactly len(dst) bytes.
func splitFixed(b, dst []byte, name string) (rest []byte, err error) {
	v, rest, err := rlp.SplitString(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrHandshakeMessage, name, err)
	}
	if len(v) != len(dst) {
		return nil, fmt.Errorf("%w: %s is %d bytes, want %d", ErrHandshakeMessage, name, len(v), len(dst))
	}
	copy(dst, v)
	return rest, nil
}

// splitVersion reads the version and checks that whatever follows it in the
// list is well-formed RLP (the extra elements are otherwise ignored, as
// go-ethereum does with its rlp:"tail" field).
func splitVersion(b []byte, name string) (uint64, error) {
	v, rest, err := rlp.SplitUint64(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrHandshakeMessage, name, err)
	}
	if _, err := rlp.CountValues(rest); err != nil {
		return 0, fmt.Errorf("%w: elements after %s: %w", ErrHandshakeMessage, name, err)
	}
	return v, nil
}

// decodeV4 decodes a pre-EIP-8 auth body. The keccak256(ephemeral-pubk)
// field is not checked: the ephemeral key comes from the signature, and the
// hash adds nothing to its authenticity (go-ethereum ignored it too).
func (m *authMsg) decodeV4(b []byte) error {
	if len(b) != authV4Len {
		return fmt.Errorf("%w: pre-EIP-8 auth is %d bytes, want %d", ErrHandshakeMessage, len(b), authV4Len)
	}
	copy(m.Signature[:], b)
	b = b[sigLen+32:]
	copy(m.InitiatorPubkey[:], b)
	copy(m.Nonce[:], b[pubLen:])
	m.Version = authVsn
	return nil
}

func (m *ackMsg) decodeV4(b []byte) error {
	if len(b) != ackV4Len {
		return fmt.Errorf("%w: pre-EIP-8 ack is %d bytes, want %d", ErrHandshakeMessage, len(b), ackV4Len)
	}
	copy(m.EphemeralPubkey[:], b)
	copy(m.Nonce[:], b[pubLen:])
	m.Version = authVsn
	return nil
}

// appendV4 appends the pre-EIP-8 ack body, sent in reply to a pre-EIP-8
// auth (EIP-8 changes the ack format only for EIP-8 auths).
func (m *ackMsg) appendV4(b []byte) []byte {
	b = append(b, m.EphemeralPubkey[:]...)
	b = append(b, m.Nonce[:]...)
	return append(b, 0)
}

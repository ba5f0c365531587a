package v4wire

import "errors"

// Errors returned by Decode and Encode. Failures wrap one of them with
// context (the packet and field for ErrMalformed, which also wraps the rlp
// error), so callers test with errors.Is.
var (
	// ErrPacketTooSmall: shorter than the header plus the type byte.
	ErrPacketTooSmall = errors.New("v4wire: packet too small")
	// ErrPacketTooBig: larger than MaxPacketSize, received or to be sent.
	ErrPacketTooBig = errors.New("v4wire: packet larger than 1280 bytes")
	// ErrBadHash: the leading hash does not match the rest of the packet.
	// Such a datagram is not a discv4 packet (or was damaged); a socket
	// shared with discv5 hands it on.
	ErrBadHash = errors.New("v4wire: packet hash mismatch")
	// ErrBadSignature: no public key can be recovered from the signature.
	ErrBadSignature = errors.New("v4wire: invalid packet signature")
	// ErrUnknownType: the packet-type byte is not one of the six known
	// types.
	ErrUnknownType = errors.New("v4wire: unknown packet type")
	// ErrMalformed: packet-data is not an RLP list, lacks a field, or a
	// field has the wrong kind or size.
	ErrMalformed = errors.New("v4wire: malformed packet data")
)

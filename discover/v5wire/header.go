package v5wire

import (
	"encoding/binary"
	"fmt"
)

// Packet size limits (discv5-wire.md "UDP Communication").
const (
	// MaxPacketSize: "The maximum size of any packet is 1280 bytes.
	// Implementations should not generate or process packets larger than
	// this size."
	MaxPacketSize = 1280
	// MinPacketSize: "The minimum size of any Discovery v5 packet is 63
	// bytes. Implementations should reject packets smaller than this size."
	// It is the size of a WHOAREYOU packet.
	MinPacketSize = maskingIVSize + staticHeaderSize + whoareyouAuthSize

	// MaxMessageSize is the largest message plaintext (message-type ||
	// message-data) that fits an ordinary message packet. A handshake packet
	// has room for less: its authdata holds a signature, a key and perhaps a
	// record instead of a node ID.
	MaxMessageSize = MaxPacketSize - maskingIVSize - staticHeaderSize - messageAuthSize - gcmTagSize
)

// Header layout (discv5-wire.md "Protocol Header"):
//
//	packet        = masking-iv || masked-header || message
//	header        = static-header || authdata
//	static-header = protocol-id || version || flag || nonce || authdata-size
const (
	maskingIVSize    = 16
	staticHeaderSize = 6 + 2 + 1 + nonceSize + 2
	headerStart      = maskingIVSize                    // offset of static-header
	authDataStart    = maskingIVSize + staticHeaderSize // offset of authdata

	protocolID = "discv5"
)

// Version is the packet header version this codec writes, 0x0001. Decode
// accepts higher versions too, as go-ethereum does: the field leaves room
// for compatible extensions.
const Version = 1

// Packet kinds, the header's flag.
const (
	flagMessage   byte = 0
	flagWhoareyou byte = 1
	flagHandshake byte = 2
)

// authdata sizes of the packet kinds.
const (
	messageAuthSize       = 32         // src-id
	whoareyouAuthSize     = 16 + 8     // id-nonce || enr-seq
	handshakeAuthHeadSize = 32 + 1 + 1 // src-id || sig-size || eph-key-size

	// minMessageSize is what must follow the static header of an ordinary
	// or handshake packet at least: authdata of the smaller one and the
	// GCM tag of an empty message.
	minMessageSize = messageAuthSize + gcmTagSize

	// randomMessageSize is the length of the random stand-in for a message
	// that Encode sends when it has no session: enough to look like a
	// short encrypted message.
	randomMessageSize = 20
)

// Nonce is the 96-bit AES-GCM nonce of a message, unique per packet. A
// WHOAREYOU carries the nonce of the packet it challenges.
type Nonce [12]byte

const nonceSize = len(Nonce{})

// staticHeader holds the decoded static-header fields.
type staticHeader struct {
	version  uint16
	flag     byte
	nonce    Nonce
	authSize uint16
}

// appendStaticHeader writes the static header after the masking IV.
func appendStaticHeader(dst []byte, flag byte, nonce *Nonce, authSize int) []byte {
	dst = append(dst, protocolID...)
	dst = binary.BigEndian.AppendUint16(dst, Version)
	dst = append(dst, flag)
	dst = append(dst, nonce[:]...)
	return binary.BigEndian.AppendUint16(dst, uint16(authSize))
}

// parseStaticHeader reads the unmasked static header b and checks it against
// rest, the number of packet bytes that follow it.
func parseStaticHeader(b []byte, rest int) (h staticHeader, err error) {
	if string(b[:len(protocolID)]) != protocolID {
		return h, ErrBadMasking
	}
	b = b[len(protocolID):]
	h.version = binary.BigEndian.Uint16(b)
	h.flag = b[2]
	copy(h.nonce[:], b[3:3+nonceSize])
	h.authSize = binary.BigEndian.Uint16(b[3+nonceSize:])
	switch {
	case h.version < Version:
		return h, fmt.Errorf("%w: %d", ErrInvalidVersion, h.version)
	case h.flag > flagHandshake:
		return h, fmt.Errorf("%w: %d", ErrUnknownFlag, h.flag)
	case h.flag != flagWhoareyou && rest < minMessageSize:
		return h, fmt.Errorf("%w: %d bytes after static header", ErrMessageTooShort, rest)
	case int(h.authSize) > rest:
		return h, fmt.Errorf("%w: %d bytes declared, %d left in packet", ErrInvalidAuthSize, h.authSize, rest)
	}
	return h, nil
}

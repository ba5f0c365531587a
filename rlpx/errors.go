package rlpx

import (
	"errors"
	"fmt"
)

// Limits on sizes a remote peer controls.
const (
	// MaxFrameSize is the largest frame-size a header can announce: the
	// field is a 24-bit big-endian integer (rlpx.md "Framing"). A frame
	// carries the RLP message code plus the (possibly compressed) payload.
	MaxFrameSize = 1<<24 - 1

	// MaxMessageSize bounds a message payload after snappy decompression.
	// EIP-706 ("Avoiding DOS attacks") keeps the pre-compression limit of
	// 24-bit frames for decompressed data and asks that the length be
	// checked before inflating. go-ethereum rejects a decoded length above
	// 2^24-1 (its maxUint24), so that is the limit here too: a frame
	// announcing 16 MiB (2^24) exactly is rejected by both.
	MaxMessageSize = 1<<24 - 1

	// MaxHandshakeSize bounds the EIP-8 size prefix of an auth or ack
	// packet. The prefix could announce up to 65535 bytes; like
	// go-ethereum we refuse more than 2 KiB (a real packet is 300-700
	// bytes) so that an unauthenticated peer cannot make us buffer more.
	MaxHandshakeSize = 2048
)

// Handshake errors. Each failure of Handshake wraps one of them (or an I/O
// error from the connection).
var (
	// ErrHandshakeSize: the EIP-8 size prefix exceeds MaxHandshakeSize.
	ErrHandshakeSize = errors.New("rlpx: handshake packet too large")
	// ErrHandshakeDecrypt: the packet is not an ECIES ciphertext for our key
	// (garbage, truncated, wrong recipient or tampered).
	ErrHandshakeDecrypt = errors.New("rlpx: cannot decrypt handshake packet")
	// ErrHandshakeMessage: the decrypted auth or ack body is malformed.
	ErrHandshakeMessage = errors.New("rlpx: malformed handshake message")
	// ErrHandshakeKey: a public key in the handshake is not on secp256k1,
	// or the auth signature does not recover to a valid ephemeral key.
	ErrHandshakeKey = errors.New("rlpx: invalid key in handshake")
	// ErrHandshakeRemote: the dial destination given to NewConn is not a
	// point on secp256k1.
	ErrHandshakeRemote = errors.New("rlpx: invalid dial destination key")
)

// Frame and message errors, returned by ReadMsg and WriteMsg.
var (
	// ErrHeaderMAC: a frame header failed authentication.
	ErrHeaderMAC = errors.New("rlpx: bad frame header MAC")
	// ErrFrameMAC: a frame body failed authentication.
	ErrFrameMAC = errors.New("rlpx: bad frame MAC")
	// ErrFrameSize: a frame header announces a frame-size the reader does
	// not accept (zero, or above the configured limit), or a message is too
	// large to send in one frame.
	ErrFrameSize = errors.New("rlpx: frame size out of range")
	// ErrMessageCode: the frame does not start with a valid RLP integer.
	ErrMessageCode = errors.New("rlpx: invalid message code")
	// ErrMessageSize: a snappy payload announces a decoded length above the
	// limit; it was rejected without decompressing.
	ErrMessageSize = errors.New("rlpx: decompressed message too large")
	// ErrSnappy: the payload is not valid snappy data.
	ErrSnappy = errors.New("rlpx: invalid snappy data")
	// ErrNoSession: ReadMsg or a write before Handshake (or
	// InitWithSecrets).
	ErrNoSession = errors.New("rlpx: no session (handshake not done)")
	// ErrSessionExists: Handshake or InitWithSecrets on a Conn that already
	// has a session.
	ErrSessionExists = errors.New("rlpx: session already established")
)

// SizeError reports a size that broke a limit. It wraps one of the sentinel
// errors above (ErrHandshakeSize, ErrFrameSize, ErrMessageSize), so callers
// can test with errors.Is and read the numbers with errors.As.
type SizeError struct {
	Err   error  // the sentinel
	What  string // which size, e.g. "frame-size"
	Size  uint64 // what the peer announced or the caller passed
	Limit uint64 // the limit it broke
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%v: %s %d, limit %d", e.Err, e.What, e.Size, e.Limit)
}

func (e *SizeError) Unwrap() error { return e.Err }

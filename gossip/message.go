package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/rlp"
)

// Limits on what a peer may send. The gossip protocol is Trellis's own, so
// these are its specification.
const (
	// MaxPayloadSize is the largest payload a message may carry.
	MaxPayloadSize = 1024
	// MaxMessageSize bounds the encoded message: the payload plus its RLP
	// framing, the 32-byte origin, two 8-byte integers and room for a few
	// small fields added by later versions (decoded and ignored, as EIP-8
	// does for the RLPx handshake).
	MaxMessageSize = MaxPayloadSize + 128
)

// Errors of message decoding. Every decoding failure wraps one of them.
var (
	ErrInvalidMessage  = errors.New("gossip: invalid message")
	ErrMessageTooLarge = errors.New("gossip: message too large")
	ErrPayloadTooLarge = errors.New("gossip: payload too large")
	ErrInvalidTime     = errors.New("gossip: invalid origin timestamp")
	ErrInvalidCode     = errors.New("gossip: invalid message code")
)

// ID identifies a message: Keccak-256(origin || seq || payload), with seq as
// 8 big-endian bytes. Receivers compute it; it is not sent, so a peer cannot
// make two different messages collide or replay one under a new ID without
// changing its content.
type ID [32]byte

func (id ID) String() string { return fmt.Sprintf("%x", id[:8]) }

// Message is one gossip message.
type Message struct {
	ID      ID
	Origin  enode.ID  // node that published it
	Seq     uint64    // per-origin counter, makes equal payloads distinct
	Sent    time.Time // origin's clock at publication (nanosecond precision)
	Payload []byte
}

// wireMessage is the RLP layout of a message (message code 0):
//
//	[origin: B_32, seq: P, time: P (Unix nanoseconds), payload: B]
//
// Elements after payload are ignored, so that a later version can add some.
type wireMessage struct {
	Origin  [32]byte
	Seq     uint64
	Time    uint64
	Payload []byte
	Rest    []rlp.RawValue `rlp:"tail"`
}

func messageID(origin enode.ID, seq uint64, payload []byte) ID {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	return crypto.Keccak256Hash(origin[:], s[:], payload)
}

// NewMessage builds the message that origin publishes as its seq-th, at time
// sent, computing its ID.
func NewMessage(origin enode.ID, seq uint64, sent time.Time, payload []byte) (Message, error) {
	if len(payload) > MaxPayloadSize {
		return Message{}, fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, len(payload), MaxPayloadSize)
	}
	if sent.UnixNano() < 0 {
		return Message{}, fmt.Errorf("%w: %v is before 1970", ErrInvalidTime, sent)
	}
	return Message{
		ID:      messageID(origin, seq, payload),
		Origin:  origin,
		Seq:     seq,
		Sent:    time.Unix(0, sent.UnixNano()),
		Payload: payload,
	}, nil
}

// EncodeMessage returns the wire encoding of m.
func EncodeMessage(m Message) ([]byte, error) {
	if len(m.Payload) > MaxPayloadSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, len(m.Payload), MaxPayloadSize)
	}
	t := m.Sent.UnixNano()
	if t < 0 {
		return nil, fmt.Errorf("%w: %v is before 1970", ErrInvalidTime, m.Sent)
	}
	return rlp.EncodeToBytes(&wireMessage{Origin: m.Origin, Seq: m.Seq, Time: uint64(t), Payload: m.Payload})
}

// DecodeMessage decodes a message from its wire encoding and computes its ID.
// The payload does not alias b.
func DecodeMessage(b []byte) (Message, error) {
	if len(b) > MaxMessageSize {
		return Message{}, fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLarge, len(b), MaxMessageSize)
	}
	var w wireMessage
	if err := rlp.DecodeBytes(b, &w); err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if len(w.Payload) > MaxPayloadSize {
		return Message{}, fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, len(w.Payload), MaxPayloadSize)
	}
	if w.Time > math.MaxInt64 {
		return Message{}, fmt.Errorf("%w: %d ns", ErrInvalidTime, w.Time)
	}
	origin := enode.ID(w.Origin)
	return Message{
		ID:      messageID(origin, w.Seq, w.Payload),
		Origin:  origin,
		Seq:     w.Seq,
		Sent:    time.Unix(0, int64(w.Time)),
		Payload: w.Payload,
	}, nil
}

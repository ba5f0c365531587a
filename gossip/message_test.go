package gossip

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/rlp"
)

func TestMessageRoundTrip(t *testing.T) {
	origin := enode.ID{1, 2, 3}
	sent := time.Unix(1700000000, 123456789)
	for _, payload := range [][]byte{nil, {}, []byte("hello"), bytes.Repeat([]byte{0xab}, MaxPayloadSize)} {
		m, err := NewMessage(origin, 42, sent, payload)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := EncodeMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		if len(enc) > MaxMessageSize {
			t.Fatalf("encoding of %d-byte payload is %d bytes, over MaxMessageSize", len(payload), len(enc))
		}
		got, err := DecodeMessage(enc)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != m.ID || got.Origin != origin || got.Seq != 42 || !got.Sent.Equal(sent) || !bytes.Equal(got.Payload, payload) {
			t.Fatalf("round trip changed the message: %+v -> %+v", m, got)
		}
	}
}

func TestMessageID(t *testing.T) {
	o := enode.ID{9}
	now := time.Unix(1, 0)
	a, _ := NewMessage(o, 1, now, []byte("x"))
	b, _ := NewMessage(o, 1, now.Add(time.Hour), []byte("x"))
	if a.ID != b.ID {
		t.Error("ID depends on the timestamp; want origin, seq and payload only")
	}
	for name, m := range map[string]Message{
		"origin":  must(NewMessage(enode.ID{8}, 1, now, []byte("x"))),
		"seq":     must(NewMessage(o, 2, now, []byte("x"))),
		"payload": must(NewMessage(o, 1, now, []byte("y"))),
	} {
		if m.ID == a.ID {
			t.Errorf("ID does not depend on %s", name)
		}
	}
}

func must(m Message, err error) Message {
	if err != nil {
		panic(err)
	}
	return m
}

// TestDecodeMalformed maps bad inputs to their errors.
func TestDecodeMalformed(t *testing.T) {
	enc := func(v any) []byte {
		b, err := rlp.EncodeToBytes(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	origin := make([]byte, 32)
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"empty", nil, ErrInvalidMessage},
		{"string, not list", enc([]byte("hello")), ErrInvalidMessage},
		{"empty list", enc([]any{}), ErrInvalidMessage},
		{"three fields", enc([]any{origin, uint64(1), uint64(2)}), ErrInvalidMessage},
		{"short origin", enc([]any{origin[:31], uint64(1), uint64(2), []byte{}}), ErrInvalidMessage},
		{"long origin", enc([]any{append(origin, 0), uint64(1), uint64(2), []byte{}}), ErrInvalidMessage},
		{"seq is a list", enc([]any{origin, []any{}, uint64(2), []byte{}}), ErrInvalidMessage},
		{"payload is a list", enc([]any{origin, uint64(1), uint64(2), []any{}}), ErrInvalidMessage},
		{"seq over 64 bits", enc([]any{origin, make([]byte, 9), uint64(2), []byte{}}), ErrInvalidMessage},
		{"trailing bytes", append(enc([]any{origin, uint64(1), uint64(2), []byte{}}), 0x80), ErrInvalidMessage},
		{"truncated", enc([]any{origin, uint64(1), uint64(2), []byte("abc")})[:10], ErrInvalidMessage},
		{"time over int64", enc([]any{origin, uint64(1), uint64(1) << 63, []byte{}}), ErrInvalidTime},
		{"payload over limit", enc([]any{origin, uint64(1), uint64(2), make([]byte, MaxPayloadSize+1)}), ErrPayloadTooLarge},
		{"message over limit", enc([]any{origin, uint64(1), uint64(2), []byte{}, make([]byte, MaxMessageSize)}), ErrMessageTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMessage(tt.input)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

// Fields after the payload are ignored (forward compatibility).
func TestDecodeExtraFields(t *testing.T) {
	origin := make([]byte, 32)
	b, _ := rlp.EncodeToBytes([]any{origin, uint64(1), uint64(2), []byte("p"), []byte("future"), []any{uint64(7)}})
	m, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Payload) != "p" || m.Seq != 1 {
		t.Fatalf("wrong message %+v", m)
	}
}

func TestNewMessageLimits(t *testing.T) {
	if _, err := NewMessage(enode.ID{}, 1, time.Now(), make([]byte, MaxPayloadSize+1)); !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("oversized payload: got %v", err)
	}
	if _, err := NewMessage(enode.ID{}, 1, time.Unix(-1, 0), nil); !errors.Is(err, ErrInvalidTime) {
		t.Errorf("time before 1970: got %v", err)
	}
}

// FuzzDecodeMessage checks that decoding never panics and that whatever
// decodes re-encodes to something that decodes to the same message.
func FuzzDecodeMessage(f *testing.F) {
	m, _ := NewMessage(enode.ID{1}, 7, time.Unix(1700000000, 5), []byte("seed"))
	b, _ := EncodeMessage(m)
	f.Add(b)
	f.Add([]byte{0xc0})
	f.Add([]byte{0xc4, 0x80, 0x80, 0x80, 0x80})
	ext, _ := rlp.EncodeToBytes([]any{make([]byte, 32), uint64(1), uint64(2), []byte("p"), []byte("x")})
	f.Add(ext)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			return
		}
		if len(m.Payload) > MaxPayloadSize {
			t.Fatalf("decoded payload of %d bytes", len(m.Payload))
		}
		enc, err := EncodeMessage(m)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v", err)
		}
		m2, err := DecodeMessage(enc)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if m2.ID != m.ID || m2.Origin != m.Origin || m2.Seq != m.Seq || !m2.Sent.Equal(m.Sent) || !bytes.Equal(m2.Payload, m.Payload) {
			t.Fatalf("re-encoding changed the message")
		}
	})
}

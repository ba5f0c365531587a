package rlpx

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/golang/snappy"
)

// handshakeErrors are the failures a recipient may report for bad input.
var handshakeErrors = []error{
	ErrHandshakeSize, ErrHandshakeDecrypt, ErrHandshakeMessage, ErrHandshakeKey,
	io.EOF, io.ErrUnexpectedEOF,
}

func isOneOf(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// FuzzHandshakeRecipient feeds arbitrary bytes to a recipient as the auth
// packet. It must fail with a typed error (or succeed, for a valid auth)
// and never panic.
func FuzzHandshakeRecipient(f *testing.F) {
	v, k := loadVectors(f)
	for _, p := range v.Auth {
		f.Add(unhex(f, p.Hex))
	}
	f.Add([]byte{0x08, 0x01})
	f.Add([]byte{0x04})
	f.Add(append([]byte{0x01, 0x00}, make([]byte, 256)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		fc := newFakeConn(data)
		c := NewConn(fc, nil)
		remote, err := c.Handshake(k.staticB)
		if err != nil {
			if !isOneOf(err, handshakeErrors) {
				t.Fatalf("untyped error: %v", err)
			}
			if fc.out.Len() != 0 {
				t.Fatal("recipient replied to an invalid auth")
			}
			return
		}
		if remote == nil || fc.out.Len() == 0 {
			t.Fatal("handshake succeeded without remote key or ack")
		}
	})
}

// frameErrors are the failures ReadMsg may report for bad frames.
var frameErrors = []error{
	ErrHeaderMAC, ErrFrameMAC, ErrFrameSize, ErrMessageCode, ErrMessageSize, ErrSnappy,
	io.EOF, io.ErrUnexpectedEOF,
}

// FuzzReadFrame feeds a reader with fixed secrets a frame that passes
// authentication but announces an arbitrary frame-size and carries
// arbitrary frame data, followed by arbitrary raw bytes (which fail
// authentication unless they come from the fuzzer's luck).
func FuzzReadFrame(f *testing.F) {
	f.Add(uint32(6), []byte{0x01, 'h', 'e', 'l', 'l', 'o'}, []byte{}, false)
	f.Add(uint32(0), []byte{}, []byte{}, false)
	f.Add(uint32(1), []byte{0x80}, bytes.Repeat([]byte{0xaa}, 48), false)
	f.Add(uint32(3), []byte{0x00, 0x01, 0x02}, []byte{}, true)
	f.Add(uint32(MaxFrameSize), []byte{0x01}, []byte{}, false)
	f.Add(uint32(6), append([]byte{0x01}, snappy.Encode(nil, []byte("hello"))...), []byte{}, true)
	f.Fuzz(func(t *testing.T, fsize uint32, body, raw []byte, useSnappy bool) {
		fsize &= MaxFrameSize
		c := frameConn(t, func(fw *frameWriter) []byte {
			return append(sealRaw(fw, nil, int(fsize), body), raw...)
		})
		c.SetSnappy(useSnappy)
		for range 4 {
			_, data, _, err := c.ReadMsg()
			if err != nil {
				if !isOneOf(err, frameErrors) {
					t.Fatalf("untyped error: %v", err)
				}
				return
			}
			if len(data) > MaxMessageSize {
				t.Fatalf("message of %d bytes passed the limit", len(data))
			}
		}
	})
}

// FuzzSnappyFrame sends arbitrary bytes as the snappy payload of an
// authentic frame. The reader must agree with snappy.Decode on valid input,
// reject the rest with ErrSnappy or ErrMessageSize, and never inflate past
// the limit.
func FuzzSnappyFrame(f *testing.F) {
	f.Add(snappy.Encode(nil, []byte("hello hello hello hello")))
	f.Add(snappy.Encode(nil, bytes.Repeat([]byte{1, 2, 3}, 5000)))
	f.Add([]byte{0x80, 0x80, 0x80, 0x08})             // claims 16 MiB
	f.Add([]byte{0xff, 0xff, 0xff, 0x07, 0x00, 0x00}) // claims 16 MiB - 1
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, payload []byte) {
		const limit = 1 << 20
		c := frameConn(t, func(fw *frameWriter) []byte {
			fsize := 1 + len(payload)
			b := fw.appendStart(nil, fsize, 0)
			b = fw.appendData(b, payload)
			return fw.appendEnd(b, fsize)
		})
		c.SetSnappy(true)
		c.SetReadLimit(limit)
		_, data, wire, err := c.ReadMsg()
		n, lenErr := snappy.DecodedLen(payload)
		switch {
		case err == nil:
			want, derr := snappy.Decode(nil, payload)
			if derr != nil || !bytes.Equal(data, want) {
				t.Fatalf("accepted data that snappy.Decode rejects (%v) or decodes differently", derr)
			}
			if len(data) > limit || wire != len(payload) {
				t.Fatalf("decoded %d bytes (limit %d), wire %d", len(data), limit, wire)
			}
		case errors.Is(err, ErrMessageSize):
			if lenErr != nil || n <= limit {
				t.Fatalf("ErrMessageSize for decoded length %d (%v)", n, lenErr)
			}
		case errors.Is(err, ErrSnappy):
			if _, derr := snappy.Decode(nil, payload); derr == nil && n <= limit {
				t.Fatal("rejected valid snappy data")
			}
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	})
}

// FuzzAuthBody decodes arbitrary plaintext as auth and ack bodies; the
// typed error is the only acceptable failure.
func FuzzAuthBody(f *testing.F) {
	key := newKey(f)
	sig, pub, nonce := validAuthParts(f, key, key)
	f.Add(rlpList(rlpBytes(sig), rlpBytes(pub), rlpBytes(nonce), []byte{4}))
	f.Add(rlpList(rlpBytes(pub), rlpBytes(nonce), []byte{4}, []byte{0xc0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var a authMsg
		if err := a.decodeRLP(b); err != nil && !errors.Is(err, ErrHandshakeMessage) {
			t.Fatalf("auth: untyped error %v", err)
		}
		var k ackMsg
		if err := k.decodeRLP(b); err != nil && !errors.Is(err, ErrHandshakeMessage) {
			t.Fatalf("ack: untyped error %v", err)
		}
	})
}

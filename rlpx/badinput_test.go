package rlpx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/crypto/ecies"
	"github.com/trellis-p2p/trellis/rlp"
)

// eip8Packet encrypts body for pub as an EIP-8 packet, without padding.
func eip8Packet(t testing.TB, pub *crypto.PublicKey, body []byte) []byte {
	t.Helper()
	var prefix [2]byte
	binary.BigEndian.PutUint16(prefix[:], uint16(len(body)+ecies.Overhead))
	ct, err := ecies.Encrypt(cryptoRand{}, pub, body, nil, prefix[:])
	if err != nil {
		t.Fatal(err)
	}
	return append(prefix[:], ct...)
}

// authBody encodes an auth-body list from raw element encodings.
func rlpList(elems ...[]byte) []byte {
	var content []byte
	for _, e := range elems {
		content = append(content, e...)
	}
	w := rlp.NewEncoderBuffer(nil)
	l := w.List()
	w.Write(content)
	w.ListEnd(l)
	out := w.ToBytes()
	w.Flush()
	return out
}

func rlpBytes(b []byte) []byte {
	out, err := rlp.EncodeToBytes(b)
	if err != nil {
		panic(err)
	}
	return out
}

// validAuthParts returns the parts of a well-formed auth from A to B.
func validAuthParts(t testing.TB, keyA, keyB *crypto.PrivateKey) (sig, pub, nonce []byte) {
	t.Helper()
	eph := newKey(t)
	nonce = bytes.Repeat([]byte{9}, 32)
	static := crypto.ECDH(keyA, keyB.PubKey())
	digest := make([]byte, 32)
	for i := range digest {
		digest[i] = static[i] ^ nonce[i]
	}
	sig, err := crypto.Sign(digest, eph)
	if err != nil {
		t.Fatal(err)
	}
	return sig, crypto.MarshalPubkey(keyA.PubKey())[1:], nonce
}

// TestRecipientBadAuth feeds the recipient malformed auth packets; each must
// fail with the error that names the problem.
func TestRecipientBadAuth(t *testing.T) {
	keyA, keyB, other := newKey(t), newKey(t), newKey(t)
	sig, pub, nonce := validAuthParts(t, keyA, keyB)
	v, _ := loadVectors(t)
	auth2 := unhex(t, v.Auth[1].Hex)

	badSig := bytes.Clone(sig)
	clear(badSig[:32]) // r = 0
	badV := bytes.Clone(sig)
	badV[64] = 4
	offCurve := bytes.Clone(pub)
	offCurve[63] ^= 1
	garbage := make([]byte, 400)
	cryptoRand{}.Read(garbage)

	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"empty", nil, io.EOF},
		{"one byte", []byte{0x01}, io.ErrUnexpectedEOF},
		{"garbage after EIP-8 prefix", append([]byte{0x01, 0x8e}, garbage[:398]...), ErrHandshakeDecrypt},
		{"truncated EIP-8 auth", auth2[:len(auth2)/2], io.ErrUnexpectedEOF},
		{"size prefix over limit", append([]byte{0x08, 0x01}, garbage...), ErrHandshakeSize},
		{"size prefix max", append([]byte{0xff, 0xff}, garbage...), ErrHandshakeSize},
		{"size prefix below ECIES overhead", append([]byte{0x00, 0x10}, garbage[:16]...), ErrHandshakeDecrypt},
		{"pre-EIP-8 garbage", append(crypto.MarshalPubkey(other.PubKey()), garbage[:242]...), ErrHandshakeDecrypt},
		{"truncated pre-EIP-8", crypto.MarshalPubkey(other.PubKey()), io.ErrUnexpectedEOF},
		{"encrypted to another key", eip8Packet(t, other.PubKey(), rlpList(rlpBytes(sig), rlpBytes(pub), rlpBytes(nonce), []byte{4})), ErrHandshakeDecrypt},
		{"body not RLP", eip8Packet(t, keyB.PubKey(), []byte{0xff, 0x01}), ErrHandshakeMessage},
		{"body is a string", eip8Packet(t, keyB.PubKey(), rlpBytes(sig)), ErrHandshakeMessage},
		{"empty list", eip8Packet(t, keyB.PubKey(), rlpList()), ErrHandshakeMessage},
		{"short signature", eip8Packet(t, keyB.PubKey(), rlpList(rlpBytes(sig[:64]), rlpBytes(pub), rlpBytes(nonce), []byte{4})), ErrHandshakeMessage},
		{"short pubkey", eip8Packet(t, keyB.PubKey(), rlpList(rlpBytes(sig), rlpBytes(pub[:63]), rlpBytes(nonce), []byte{4})), ErrHandshakeMessage},
		{"missing version", eip8Packet(t, keyB.PubKey(), rlpList(rlpBytes(sig), rlpBytes(pub), rlpBytes(nonce))), ErrHandshakeMessage},
		{"non-canonical version", eip8Packet(t, keyB.PubKey(), rlpList(rlpBytes(sig), rlpBytes(pub), rlpBytes(nonce), []byte{0x81, 0x04})), ErrHandshakeMessage},
		{"malformed extra element", eip8Packet(t, keyB.PubKey(), rlpList(rlpBytes(sig), rlpBytes(pub), rlpBytes(nonce), []byte{4}, []byte{0xb8})), ErrHandshakeMessage},
		{"pubkey not on curve", eip8Packet(t, keyB.PubKey(), rlpList(rlpBytes(sig), rlpBytes(offCurve), rlpBytes(nonce), []byte{4})), ErrHandshakeKey},
		{"signature r = 0", eip8Packet(t, keyB.PubKey(), rlpList(rlpBytes(badSig), rlpBytes(pub), rlpBytes(nonce), []byte{4})), ErrHandshakeKey},
		{"signature v = 4", eip8Packet(t, keyB.PubKey(), rlpList(rlpBytes(badV), rlpBytes(pub), rlpBytes(nonce), []byte{4})), ErrHandshakeKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := newFakeConn(tc.input)
			c := NewConn(fc, nil)
			_, err := c.Handshake(keyB)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if fc.out.Len() != 0 {
				t.Fatal("recipient answered a bad auth")
			}
			if c.ready {
				t.Fatal("session established")
			}
		})
	}

	// Control: the same construction with nothing wrong succeeds.
	good := eip8Packet(t, keyB.PubKey(), rlpList(rlpBytes(sig), rlpBytes(pub), rlpBytes(nonce), []byte{4}, rlpBytes([]byte("extra"))))
	if _, err := NewConn(newFakeConn(good), nil).Handshake(keyB); err != nil {
		t.Fatalf("control auth: %v", err)
	}
}

func TestSizeErrorFields(t *testing.T) {
	c := NewConn(newFakeConn([]byte{0x08, 0x01}), nil)
	_, err := c.Handshake(newKey(t))
	var se *SizeError
	if !errors.As(err, &se) || se.Size != 2049 || se.Limit != MaxHandshakeSize {
		t.Fatalf("err = %#v, want SizeError{Size: 2049, Limit: %d}", err, MaxHandshakeSize)
	}
}

// TestInitiatorBadAck feeds an initiator malformed ack packets.
func TestInitiatorBadAck(t *testing.T) {
	keyA, keyB := newKey(t), newKey(t)
	ephPub := crypto.MarshalPubkey(newKey(t).PubKey())[1:]
	offCurve := bytes.Clone(ephPub)
	offCurve[10] ^= 1
	nonce := make([]byte, 32)
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"garbage", append([]byte{0x01, 0x00}, make([]byte, 256)...), ErrHandshakeDecrypt},
		{"size over limit", []byte{0x10, 0x00}, ErrHandshakeSize},
		{"ephemeral key off curve", eip8Packet(t, keyA.PubKey(), rlpList(rlpBytes(offCurve), rlpBytes(nonce), []byte{4})), ErrHandshakeKey},
		{"short nonce", eip8Packet(t, keyA.PubKey(), rlpList(rlpBytes(ephPub), rlpBytes(nonce[:31]), []byte{4})), ErrHandshakeMessage},
		{"truncated", eip8Packet(t, keyA.PubKey(), rlpList(rlpBytes(ephPub), rlpBytes(nonce), []byte{4}))[:100], io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConn(newFakeConn(tc.input), keyB.PubKey())
			if _, err := c.Handshake(keyA); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// frameConn returns a Conn reading input with the secrets of end b, and a
// writer producing frames as end a.
func frameConn(t testing.TB, input func(fw *frameWriter) []byte) *Conn {
	t.Helper()
	a, b := secretsPair()
	fw := peerWriter(t, a)
	c := NewConn(newFakeConn(input(fw)), nil)
	if err := c.InitWithSecrets(b); err != nil {
		t.Fatal(err)
	}
	return c
}

// sealRaw seals body as frame data of a frame announcing fsize bytes.
func sealRaw(fw *frameWriter, dst []byte, fsize int, body []byte) []byte {
	dst = fw.appendHeader(dst, fsize)
	dst = fw.appendData(dst, body)
	return fw.appendEnd(dst, len(body))
}

func TestBadFrames(t *testing.T) {
	valid := func(fw *frameWriter) []byte {
		b := fw.appendStart(nil, 6, 1)
		b = fw.appendData(b, []byte("hello"))
		return fw.appendEnd(b, 6)
	}
	snappyLen := func(n uint64) []byte { return binary.AppendUvarint(nil, n) }

	tests := []struct {
		name   string
		input  func(fw *frameWriter) []byte
		snappy bool
		limit  int
		want   error
		sticky bool
	}{
		{name: "header MAC", input: func(fw *frameWriter) []byte { b := valid(fw); b[20] ^= 1; return b }, want: ErrHeaderMAC, sticky: true},
		{name: "header ciphertext", input: func(fw *frameWriter) []byte { b := valid(fw); b[0] ^= 1; return b }, want: ErrHeaderMAC, sticky: true},
		{name: "frame MAC", input: func(fw *frameWriter) []byte { b := valid(fw); b[len(b)-1] ^= 1; return b }, want: ErrFrameMAC, sticky: true},
		{name: "frame ciphertext", input: func(fw *frameWriter) []byte { b := valid(fw); b[33] ^= 1; return b }, want: ErrFrameMAC, sticky: true},
		{name: "frame-size zero", input: func(fw *frameWriter) []byte { return sealRaw(fw, nil, 0, nil) }, want: ErrFrameSize, sticky: true},
		{name: "frame-size over read limit", limit: 1024, input: func(fw *frameWriter) []byte { return fw.appendHeader(nil, 2000) }, want: ErrFrameSize, sticky: true},
		{name: "frame-size max without body", input: func(fw *frameWriter) []byte { return fw.appendHeader(nil, MaxFrameSize) }, want: io.ErrUnexpectedEOF, sticky: true},
		{name: "truncated body", input: func(fw *frameWriter) []byte { b := valid(fw); return b[:len(b)-5] }, want: io.ErrUnexpectedEOF, sticky: true},
		{name: "message code non-canonical", input: func(fw *frameWriter) []byte { return sealRaw(fw, nil, 2, []byte{0x00, 0x01}) }, want: ErrMessageCode},
		{name: "message code is a list", input: func(fw *frameWriter) []byte { return sealRaw(fw, nil, 1, []byte{0xc0}) }, want: ErrMessageCode},
		{name: "message code too long", input: func(fw *frameWriter) []byte { return sealRaw(fw, nil, 1, []byte{0x85}) }, want: ErrMessageCode},
		{name: "snappy claims 16 MiB", snappy: true, input: func(fw *frameWriter) []byte {
			return sealRaw(fw, nil, 5, append([]byte{0x01}, snappyLen(1<<24)...))
		}, want: ErrMessageSize},
		{name: "snappy claims 4 GiB", snappy: true, input: func(fw *frameWriter) []byte {
			return sealRaw(fw, nil, 6, append([]byte{0x01}, snappyLen(1<<32-1)...))
		}, want: ErrMessageSize},
		{name: "snappy over read limit", snappy: true, limit: 1000, input: func(fw *frameWriter) []byte {
			return sealRaw(fw, nil, 3, append([]byte{0x01}, snappyLen(1001)...))
		}, want: ErrMessageSize},
		{name: "snappy bad varint", snappy: true, input: func(fw *frameWriter) []byte {
			return sealRaw(fw, nil, 2, []byte{0x01, 0xff})
		}, want: ErrSnappy},
		{name: "snappy corrupt body", snappy: true, input: func(fw *frameWriter) []byte {
			return sealRaw(fw, nil, 5, []byte{0x01, 0x0a, 0xff, 0xff, 0xff})
		}, want: ErrSnappy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := frameConn(t, tc.input)
			c.SetSnappy(tc.snappy)
			c.SetReadLimit(tc.limit)
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			_, _, _, err := c.ReadMsg()
			runtime.ReadMemStats(&ms1)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			// The limit checks come before any allocation for the frame:
			// nothing near the announced sizes is ever allocated.
			if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 512<<10 {
				t.Fatalf("rejecting the frame allocated %d bytes", alloc)
			}
			_, _, _, err2 := c.ReadMsg()
			if tc.sticky && err2 != err {
				t.Fatalf("second ReadMsg: %v, want the same error", err2)
			}
			if !tc.sticky && err2 != io.EOF {
				t.Fatalf("second ReadMsg: %v, want io.EOF (stream in sync)", err2)
			}
		})
	}
}

// TestReadLimitAllowsSnappyExpansion: with a read limit, a message of the
// limit's size still passes when snappy makes it a little larger.
func TestReadLimitAllowsSnappyExpansion(t *testing.T) {
	a, b := tcpPair(t)
	ca, cb := handshakePair(t, a, b)
	defer ca.Close()
	defer cb.Close()
	ca.SetSnappy(true)
	cb.SetSnappy(true)
	cb.SetReadLimit(4096)
	msg := make([]byte, 4096)
	cryptoRand{}.Read(msg)
	exchange(t, ca, cb, 1, msg)
}

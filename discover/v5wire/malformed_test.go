package v5wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// rawPacket is an unmasked packet: header fields and the bytes after the
// authdata, which are sent as they are.
type rawPacket struct {
	iv       [maskingIVSize]byte
	protoID  string
	version  uint16
	flag     byte
	nonce    Nonce
	authSize int // -1: len(auth)
	auth     []byte
	msg      []byte
}

func newRaw(flag byte, auth, msg []byte) rawPacket {
	return rawPacket{iv: [16]byte{0xaa}, protoID: protocolID, version: Version, flag: flag, nonce: Nonce{7}, authSize: -1, auth: auth, msg: msg}
}

// header returns the unmasked masking-iv || header.
func (r rawPacket) header() []byte {
	b := append([]byte(nil), r.iv[:]...)
	b = append(b, r.protoID...)
	b = binary.BigEndian.AppendUint16(b, r.version)
	b = append(b, r.flag)
	b = append(b, r.nonce[:]...)
	size := r.authSize
	if size < 0 {
		size = len(r.auth)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(size))
	return append(b, r.auth...)
}

// encode masks the header for dest and appends msg.
func (r rawPacket) encode(dest enode.ID) []byte {
	b := r.header()
	maskHeader(b, dest)
	return append(b, r.msg...)
}

// sealed encodes r with msg replaced by pt encrypted under s's write key.
func (r rawPacket) sealed(dest enode.ID, s *Session, pt []byte) []byte {
	hdr := r.header()
	r.msg = s.writeAEAD().Seal(nil, r.nonce[:], pt, hdr)
	return r.encode(dest)
}

// unmaskRaw parses a packet to dest back into a rawPacket.
func unmaskRaw(t *testing.T, pkt []byte, dest enode.ID) rawPacket {
	t.Helper()
	b := bytes.Clone(pkt)
	maskHeader(b[:authDataStart], dest)
	h, err := parseStaticHeader(b[headerStart:authDataStart], len(b)-authDataStart)
	if err != nil {
		t.Fatal(err)
	}
	authEnd := authDataStart + int(h.authSize)
	// The CTR keystream continues past the static header, so unmask the
	// whole header in one go from the original.
	b = bytes.Clone(pkt)
	maskHeader(b[:authEnd], dest)
	r := newRaw(h.flag, b[authDataStart:authEnd], b[authEnd:])
	copy(r.iv[:], b)
	r.nonce, r.version = h.nonce, h.version
	return r
}

func TestDecodeMalformedPackets(t *testing.T) {
	ht := newHandshakeTest(t)
	a, b := ht.a, ht.b
	src := a.id()
	msgAuth := src[:]
	whoAuth := make([]byte, whoareyouAuthSize)
	tag := make([]byte, gcmTagSize)
	with := func(r rawPacket, f func(*rawPacket)) rawPacket { f(&r); return r }

	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"empty", nil, ErrPacketTooShort},
		{"62 bytes", make([]byte, MinPacketSize-1), ErrPacketTooShort},
		{"1281 bytes", make([]byte, MaxPacketSize+1), ErrPacketTooBig},
		{"zeros", make([]byte, 100), ErrBadMasking},
		{"masked for another node", newRaw(flagMessage, msgAuth, tag).encode(enode.ID{1}), ErrBadMasking},
		{"protocol-id discv4", with(newRaw(flagMessage, msgAuth, tag), func(r *rawPacket) { r.protoID = "discv4" }).encode(b.id()), ErrBadMasking},
		{"version 0", with(newRaw(flagMessage, msgAuth, tag), func(r *rawPacket) { r.version = 0 }).encode(b.id()), ErrInvalidVersion},
		{"flag 3", newRaw(3, msgAuth, tag).encode(b.id()), ErrUnknownFlag},
		{"flag 255", newRaw(255, whoAuth, nil).encode(b.id()), ErrUnknownFlag},
		{"authdata-size past end", with(newRaw(flagWhoareyou, whoAuth, nil), func(r *rawPacket) { r.authSize = 25 }).encode(b.id()), ErrInvalidAuthSize},
		{"authdata-size 65535", with(newRaw(flagMessage, msgAuth, tag), func(r *rawPacket) { r.authSize = 0xffff }).encode(b.id()), ErrInvalidAuthSize},
		{"message authdata 31 bytes", newRaw(flagMessage, msgAuth[:31], append(tag, 0)).encode(b.id()), ErrInvalidAuthSize},
		{"message authdata 33 bytes", newRaw(flagMessage, append(msgAuth, 0), tag).encode(b.id()), ErrInvalidAuthSize},
		{"message without room for tag", newRaw(flagMessage, msgAuth, tag[:15]).encode(b.id()), ErrMessageTooShort},
		{"whoareyou authdata 23 bytes", newRaw(flagWhoareyou, whoAuth[:23], []byte{0}).encode(b.id()), ErrInvalidAuthSize},
		{"whoareyou authdata 25 bytes", newRaw(flagWhoareyou, append(whoAuth, 0), nil).encode(b.id()), ErrInvalidAuthSize},
		{"handshake authdata 33 bytes", newRaw(flagHandshake, make([]byte, 33), tag).encode(b.id()), ErrInvalidAuthSize},
		{"handshake sizes past authdata", newRaw(flagHandshake, append(bytes.Clone(msgAuth), 64, 33), tag).encode(b.id()), ErrInvalidAuthSize},
		{"handshake without challenge", newRaw(flagHandshake, append(bytes.Clone(msgAuth), 0, 0), tag).encode(b.id()), ErrUnexpectedHandshake},
	}
	for _, tt := range tests {
		src, n, p, err := b.c.Decode(tt.input, a.addr)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got (%v, %v), want %v", tt.name, p, err, tt.want)
			continue
		}
		if p != nil || n != nil {
			t.Errorf("%s: returned %v, %v with the error", tt.name, p, n)
		}
		wantHeaderErr := tt.want == ErrPacketTooShort || tt.want == ErrPacketTooBig || tt.want == ErrBadMasking || tt.want == ErrMessageTooShort
		if IsInvalidHeader(err) != wantHeaderErr {
			t.Errorf("%s: IsInvalidHeader(%v) = %v", tt.name, err, !wantHeaderErr)
		}
		_ = src
	}
}

func TestDecodeLenientHeader(t *testing.T) {
	ht := newHandshakeTest(t)
	b := ht.b
	// A higher version is read as this one.
	r := newRaw(flagMessage, ht.a.id().Bytes(), make([]byte, gcmTagSize))
	r.version = 2
	if _, _, p, err := b.c.Decode(r.encode(b.id()), ht.a.addr); err != nil || p.Kind() != UnknownPacket {
		t.Errorf("version 2: %v, %v", p, err)
	}
	// Bytes after a WHOAREYOU's authdata are ignored and not challenge data.
	w := newRaw(flagWhoareyou, make([]byte, whoareyouAuthSize), []byte{1, 2, 3})
	_, _, p, err := b.c.Decode(w.encode(b.id()), ht.a.addr)
	if err != nil {
		t.Fatal(err)
	}
	if cd := p.(*Whoareyou).ChallengeData; !bytes.Equal(cd, w.header()) {
		t.Errorf("ChallengeData %x, want %x", cd, w.header())
	}
}

func TestDecodeBadMessageInSession(t *testing.T) {
	ht := newHandshakeTest(t)
	ht.handshake(&Ping{ReqID: []byte{1}}, nil)
	a, b := ht.a, ht.b
	s := a.store.Session(b.id(), b.addr)
	r := newRaw(flagMessage, a.id().Bytes(), nil)
	tests := []struct {
		name string
		pt   []byte
		want error
	}{
		{"empty plaintext", nil, ErrEmptyMessage},
		{"unknown type", []byte{0x09, 0xc0}, ErrUnknownMessage},
		{"bad RLP", []byte{PingMsg, 0xc1}, ErrInvalidMessage},
	}
	for _, tt := range tests {
		src, _, p, err := b.c.Decode(r.sealed(b.id(), s, tt.pt), a.addr)
		if !errors.Is(err, tt.want) || src != a.id() {
			t.Errorf("%s: got (%v, %v, %v), want %v", tt.name, src, p, err, tt.want)
		}
	}
	// A changed ciphertext does not decrypt: B asks for a new handshake.
	pkt := r.sealed(b.id(), s, []byte{PingMsg, 0xc2, 0x01, 0x01})
	pkt[len(pkt)-1] ^= 1
	if _, _, p, err := b.c.Decode(pkt, a.addr); err != nil || !(p.Kind() == UnknownPacket) {
		t.Errorf("tampered message: %v, %v", p, err)
	}
}

// handshakeAuth is the parsed authdata of a handshake packet.
type handshakeAuth struct {
	src              enode.ID
	sigSize, keySize byte
	sig, key, record []byte
}

func parseHandshakeAuth(auth []byte) handshakeAuth {
	h := handshakeAuth{src: enode.ID(auth[:32]), sigSize: auth[32], keySize: auth[33]}
	v := auth[34:]
	h.sig = bytes.Clone(v[:h.sigSize])
	h.key = bytes.Clone(v[h.sigSize : int(h.sigSize)+int(h.keySize)])
	h.record = bytes.Clone(v[int(h.sigSize)+int(h.keySize):])
	return h
}

func (h handshakeAuth) bytes() []byte {
	b := append(bytes.Clone(h.src[:]), h.sigSize, h.keySize)
	b = append(b, h.sig...)
	b = append(b, h.key...)
	return append(b, h.record...)
}

func TestDecodeBadHandshake(t *testing.T) {
	ht := newHandshakeTest(t)
	a, b := ht.a, ht.b
	// Steps 1-3 of a handshake, keeping B's challenge and A's packet.
	_, _, p, _ := ht.send(a, b, &Ping{ReqID: []byte{1}}, nil)
	_, _, p, _ = ht.send(b, a, &Whoareyou{Nonce: p.(*Unknown).Nonce}, nil)
	challenge := p.(*Whoareyou)
	bChallenge := b.store.Challenge(a.id(), a.addr)
	challenge.Node = b.node()
	pkt, _, err := a.c.Encode(b.id(), b.addr, &Ping{ReqID: []byte{1}}, challenge)
	if err != nil {
		t.Fatal(err)
	}
	good := unmaskRaw(t, pkt, b.id())
	goodAuth := parseHandshakeAuth(good.auth)
	if len(goodAuth.record) == 0 {
		t.Fatal("test handshake has no record")
	}

	otherKey := newKey(t)
	otherRec, _ := signedNode(t, otherKey, 5).Record().MarshalBinary()
	badSigRec := bytes.Clone(goodAuth.record)
	badSigRec[5] ^= 1 // inside the signature
	offCurve := append([]byte{0x02}, bytes.Repeat([]byte{0xff}, 32)...)

	tests := []struct {
		name    string
		edit    func(h *handshakeAuth, r *rawPacket)
		bKnowsA bool
		want    error
	}{
		{"unchanged", func(*handshakeAuth, *rawPacket) {}, false, nil},
		{"unchanged, record known", func(*handshakeAuth, *rawPacket) {}, true, nil},
		{"message changed", func(_ *handshakeAuth, r *rawPacket) { r.msg = bytes.Clone(r.msg); r.msg[0] ^= 1 }, false, ErrCouldNotDecrypt},
		{"message cut", func(_ *handshakeAuth, r *rawPacket) { r.msg = r.msg[:10] }, false, ErrCouldNotDecrypt},
		{"signature changed", func(h *handshakeAuth, _ *rawPacket) { h.sig[40] ^= 1 }, false, ErrInvalidSignature},
		{"signature high S", func(h *handshakeAuth, _ *rawPacket) { copy(h.sig[32:], bytes.Repeat([]byte{0xff}, 32)) }, false, ErrInvalidSignature},
		{"signature 63 bytes", func(h *handshakeAuth, _ *rawPacket) { h.sig = h.sig[:63]; h.sigSize = 63 }, false, ErrInvalidSignature},
		{"signature 65 bytes", func(h *handshakeAuth, _ *rawPacket) { h.sig = append(h.sig, 0); h.sigSize = 65 }, false, ErrInvalidSignature},
		{"ephemeral key of another", func(h *handshakeAuth, _ *rawPacket) { h.key = otherKey.PubKey().SerializeCompressed() }, false, ErrInvalidSignature},
		{"ephemeral key off curve", func(h *handshakeAuth, _ *rawPacket) { h.key = offCurve }, false, ErrInvalidEphemeralKey},
		{"ephemeral key uncompressed", func(h *handshakeAuth, _ *rawPacket) {
			h.key = otherKey.PubKey().SerializeUncompressed()
			h.keySize = 65
		}, false, ErrInvalidEphemeralKey},
		{"sig-size past authdata", func(h *handshakeAuth, _ *rawPacket) { h.sigSize = 255 }, false, ErrInvalidAuthSize},
		{"record of another node", func(h *handshakeAuth, _ *rawPacket) { h.record = otherRec }, false, ErrInvalidRecord},
		{"record signature broken", func(h *handshakeAuth, _ *rawPacket) { h.record = badSigRec }, false, ErrInvalidRecord},
		{"record garbage", func(h *handshakeAuth, _ *rawPacket) { h.record = []byte{0xc1, 0x80} }, false, ErrInvalidRecord},
		{"record over 300 bytes", func(h *handshakeAuth, _ *rawPacket) {
			h.record = append([]byte{0xf9, 0x01, 0x2d}, make([]byte, 301)...)
		}, false, enr.ErrTooBig},
		{"record missing", func(h *handshakeAuth, _ *rawPacket) { h.record = nil }, false, ErrMissingRecord},
		{"record missing but known", func(h *handshakeAuth, _ *rawPacket) { h.record = nil }, true, ErrCouldNotDecrypt}, // authdata is part of the AD
		{"other source", func(h *handshakeAuth, _ *rawPacket) { h.src[0] ^= 1 }, false, ErrUnexpectedHandshake},
	}
	for _, tt := range tests {
		h := parseHandshakeAuth(good.auth)
		r := good
		tt.edit(&h, &r)
		r.auth = h.bytes()
		c := *bChallenge
		if tt.bKnowsA {
			c.Node = a.node()
		}
		b.store.StoreChallenge(a.id(), a.addr, &c)
		b.store.DeleteSession(a.id(), a.addr)

		src, n, p, err := b.c.Decode(r.encode(b.id()), a.addr)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got (%v, %v), want %v", tt.name, p, err, tt.want)
			continue
		}
		if tt.want != nil {
			if p != nil || n != nil {
				t.Errorf("%s: returned %v, %v with the error", tt.name, p, n)
			}
			if b.store.Session(a.id(), a.addr) != nil {
				t.Errorf("%s: session stored after failed handshake", tt.name)
			}
		} else if src != a.id() || n == nil || p == nil {
			t.Errorf("%s: got %v %v %v", tt.name, src, n, p)
		}
		// The challenge is used up once the authdata parses.
		kept := tt.want == ErrUnexpectedHandshake || tt.want == ErrInvalidAuthSize
		if (b.store.Challenge(a.id(), a.addr) != nil) != kept {
			t.Errorf("%s: challenge kept: %v, want %v", tt.name, !kept, kept)
		}
	}
}

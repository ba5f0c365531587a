package v5wire

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/trellis-p2p/trellis/enode"
)

// Modes of FuzzDecode, the low two bits of the first input byte. The fuzzer
// could never produce a header that unmasks correctly, or a message that
// authenticates, so the harness does that part for it.
const (
	fuzzRaw    = iota // the rest of the input is the packet as received
	fuzzMasked        // the rest is an unmasked packet; the harness masks its header
	fuzzSealed        // like fuzzMasked, and what follows the header is a plaintext to seal with the session key
)

// fuzzSetup holds what every FuzzDecode run starts from: the vector keys, A's
// node, the session keys and challenges of the published vectors.
type fuzzSetup struct {
	v          *wireVectors
	a, b       *testNode
	aNode      *enode.Node
	sessionKey [keySize]byte
	challenges [2]*Whoareyou // of the handshake vectors without and with ENR
}

func newFuzzSetup(tb testing.TB) *fuzzSetup {
	v := loadVectors(tb)
	a := newTestNode(tb, hexKey(tb, v.Keys.NodeA), "127.0.0.1:30301")
	b := newTestNode(tb, hexKey(tb, v.Keys.NodeB), "127.0.0.1:30302")
	fs := &fuzzSetup{v: v, a: a, b: b, aNode: signedNode(tb, a.key, 1)}
	fs.sessionKey = [keySize]byte(fromHex(tb, v.Packets[0].Inputs.ReadKey))
	for i, pv := range v.Packets[2:] {
		fs.challenges[i] = &Whoareyou{ChallengeData: fromHex(tb, pv.Handshake.ChallengeData), Node: fs.aNode}
	}
	return fs
}

// codec returns a fresh codec for B: bare, or with a session with A and a
// pending challenge to A (which of the two, by challenge).
func (fs *fuzzSetup) codec(seeded bool, challenge int) (*Codec, *SessionCache) {
	store := NewSessionCache(4, nil)
	if seeded {
		store.StoreSession(fs.a.id(), fs.a.addr, newSession(fs.aNode, fs.sessionKey, fs.sessionKey, false))
		w := *fs.challenges[challenge]
		store.StoreChallenge(fs.a.id(), fs.a.addr, &w)
	}
	return NewCodec(fs.b.ln, fs.b.key, store), store
}

// prepare turns fuzz input into the packet to decode, per mode.
func (fs *fuzzSetup) prepare(mode byte, in []byte) []byte {
	pkt := bytes.Clone(in)
	if mode == fuzzRaw || len(pkt) < authDataStart {
		return pkt
	}
	hdrEnd := authDataStart + int(binary.BigEndian.Uint16(pkt[authDataStart-2:]))
	hdrEnd = min(hdrEnd, len(pkt))
	if mode == fuzzSealed {
		var nonce Nonce
		copy(nonce[:], pkt[headerStart+6+2+1:])
		gcm := newGCM(&fs.sessionKey)
		pkt = gcm.Seal(pkt[:hdrEnd:hdrEnd], nonce[:], pkt[hdrEnd:], pkt[:hdrEnd])
	}
	maskHeader(pkt[:hdrEnd], fs.b.id())
	return pkt
}

func FuzzDecode(f *testing.F) {
	fs := newFuzzSetup(f)
	// Seeds: the published packets as received, the same unmasked, and
	// message packets from A with every message type as plaintext.
	for _, pv := range fs.v.Packets {
		pkt := fromHex(f, pv.Encoded)
		f.Add(append([]byte{fuzzRaw}, pkt...))
		f.Add(append([]byte{fuzzRaw | 4}, pkt...))
		un := bytes.Clone(pkt)
		maskHeader(un[:authDataStart], fs.b.id())
		authEnd := authDataStart + int(binary.BigEndian.Uint16(un[authDataStart-2:]))
		un = bytes.Clone(pkt)
		maskHeader(un[:authEnd], fs.b.id())
		f.Add(append([]byte{fuzzMasked}, un...))
		f.Add(append([]byte{fuzzMasked | 4}, un...))
	}
	hdr := newRaw(flagMessage, fs.a.id().Bytes(), nil).header()
	for _, p := range roundTripMessages(f) {
		pt, err := AppendMessage(nil, p)
		if err != nil {
			f.Fatal(err)
		}
		if len(hdr)+len(pt)+gcmTagSize <= MaxPacketSize {
			f.Add(append(append([]byte{fuzzSealed}, hdr...), pt...))
		}
	}

	f.Fuzz(func(t *testing.T, input []byte) {
		if len(input) == 0 {
			return
		}
		mode, challenge := input[0]&3, int(input[0]>>2)&1
		pkt := fs.prepare(mode, input[1:])
		orig := bytes.Clone(pkt)
		for _, seeded := range []bool{false, true} {
			c, store := fs.codec(seeded, challenge)
			src, n, p, err := c.Decode(pkt, fs.a.addr)
			if !bytes.Equal(pkt, orig) {
				t.Fatal("Decode modified its input")
			}
			checkDecodeResult(t, src, n, p, err)
			if err == nil && n != nil && store.Session(src, fs.a.addr) == nil {
				t.Fatal("accepted handshake stored no session")
			}
		}
	})
}

// checkDecodeResult checks the invariants of Decode's results.
func checkDecodeResult(t *testing.T, src enode.ID, n *enode.Node, p Packet, err error) {
	if err != nil {
		if p != nil || n != nil {
			t.Fatalf("error %v came with packet %v, node %v", err, p, n)
		}
		return
	}
	if p == nil {
		t.Fatal("no packet and no error")
	}
	if n != nil && n.ID() != src {
		t.Fatalf("handshake node %v, source %v", n.ID(), src)
	}
	switch p := p.(type) {
	case *Whoareyou:
		if len(p.ChallengeData) != MinPacketSize || src != (enode.ID{}) || n != nil {
			t.Fatalf("bad WHOAREYOU result: %+v from %v", p, src)
		}
	case *Unknown:
		if n != nil {
			t.Fatal("Unknown with node")
		}
	default:
		checkMessageReencodes(t, p)
	}
}

// checkMessageReencodes checks that a decoded message encodes and decodes
// back to the same encoding.
func checkMessageReencodes(t *testing.T, p Packet) []byte {
	enc, err := AppendMessage(nil, p)
	if err != nil {
		t.Fatalf("decoded %s does not encode: %v", p.Name(), err)
	}
	p2, err := DecodeMessage(enc)
	if err != nil {
		t.Fatalf("re-encoded %s does not decode: %v", p.Name(), err)
	}
	enc2, err := AppendMessage(nil, p2)
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("%s encoding not stable:\n%x\n%x", p.Name(), enc, enc2)
	}
	return enc
}

func FuzzDecodeMessage(f *testing.F) {
	for _, p := range roundTripMessages(f) {
		enc, err := AppendMessage(nil, p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		p, err := DecodeMessage(input)
		if err != nil {
			if p != nil {
				t.Fatalf("error %v came with %v", err, p)
			}
			return
		}
		enc := checkMessageReencodes(t, p)
		// Strict decoding means the encoding is the input, except that a
		// 16-byte IPv4-mapped PONG address is re-encoded in 4 bytes.
		if pong, ok := p.(*Pong); ok && pong.ToIP.Is4In6() {
			return
		}
		if !bytes.Equal(enc, input) {
			t.Fatalf("input %x re-encodes as %x", input, enc)
		}
	})
}

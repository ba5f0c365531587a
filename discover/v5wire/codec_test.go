package v5wire

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// handshakeTest is a conversation between node A (initiator) and node B.
type handshakeTest struct {
	t    *testing.T
	a, b *testNode
}

func newHandshakeTest(t *testing.T) *handshakeTest {
	return &handshakeTest{
		t: t,
		a: newTestNode(t, newKey(t), "127.0.0.1:30301"),
		b: newTestNode(t, newKey(t), "127.0.0.2:30302"),
	}
}

// send encodes p from 'from' to 'to' and decodes it at 'to', failing the
// test on errors.
func (ht *handshakeTest) send(from, to *testNode, p Packet, challenge *Whoareyou) (enode.ID, *enode.Node, Packet, Nonce) {
	ht.t.Helper()
	pkt, nonce, err := from.c.Encode(to.id(), to.addr, p, challenge)
	if err != nil {
		ht.t.Fatalf("encode %s: %v", p.Name(), err)
	}
	if len(pkt) > MaxPacketSize || len(pkt) < MinPacketSize {
		ht.t.Fatalf("encoded %s has %d bytes", p.Name(), len(pkt))
	}
	src, node, got, err := to.c.Decode(pkt, from.addr)
	if err != nil {
		ht.t.Fatalf("decode %s: %v", p.Name(), err)
	}
	return src, node, got, nonce
}

// handshake runs the handshake with A's request ping, as in discv5-theory.md
// "Handshake Steps", and returns what B decoded from the handshake packet.
// bKnowsA makes B send its copy of A's record in the challenge.
func (ht *handshakeTest) handshake(req Packet, bKnowsA *enode.Node) (*enode.Node, Packet, []byte) {
	t, a, b := ht.t, ht.a, ht.b
	// Step 1: A has no session and sends random content.
	src, _, p, nonce := ht.send(a, b, req, nil)
	unknown, ok := p.(*Unknown)
	if !ok || src != a.id() || unknown.Nonce != nonce {
		t.Fatalf("step 1: B decoded %v from %v, want Unknown with nonce %x from A", p, src, nonce)
	}
	// Step 2: B challenges.
	w := &Whoareyou{Nonce: unknown.Nonce}
	if bKnowsA != nil {
		w.Node, w.RecordSeq = bKnowsA, bKnowsA.Seq()
	}
	src, _, p, _ = ht.send(b, a, w, nil)
	challenge, ok := p.(*Whoareyou)
	if !ok || src != (enode.ID{}) {
		t.Fatalf("step 2: A decoded %v from %v, want Whoareyou", p, src)
	}
	if challenge.Nonce != nonce || challenge.IDNonce != w.IDNonce || challenge.RecordSeq != w.RecordSeq ||
		!bytes.Equal(challenge.ChallengeData, w.ChallengeData) {
		t.Fatalf("step 2: challenge %+v differs from the one sent %+v", challenge, w)
	}
	if b.store.Challenge(a.id(), a.addr) != w {
		t.Fatal("step 2: B did not store its challenge")
	}
	// Step 3: A answers with the handshake.
	challenge.Node = b.node()
	pkt, _, err := a.c.Encode(b.id(), b.addr, req, challenge)
	if err != nil {
		t.Fatal("step 3:", err)
	}
	pkt = bytes.Clone(pkt)
	if a.store.Session(b.id(), b.addr) == nil {
		t.Fatal("step 3: A stored no session")
	}
	// Step 4: B accepts it.
	src, node, p, err := b.c.Decode(pkt, a.addr)
	if err != nil {
		t.Fatal("step 4:", err)
	}
	if src != a.id() || node == nil || node.ID() != a.id() {
		t.Fatalf("step 4: handshake from %v with node %v", src, node)
	}
	if b.store.Session(a.id(), a.addr) == nil {
		t.Fatal("step 4: B stored no session")
	}
	if b.store.Challenge(a.id(), a.addr) != nil {
		t.Fatal("step 4: B kept the challenge")
	}
	return node, p, pkt
}

func TestHandshake(t *testing.T) {
	ht := newHandshakeTest(t)
	a, b := ht.a, ht.b
	ping := &Ping{ReqID: []byte{1, 2, 3}, ENRSeq: a.node().Seq()}
	node, p, hsPacket := ht.handshake(ping, nil)
	if !reflect.DeepEqual(p, ping) {
		t.Fatalf("B got %#v, want %#v", p, ping)
	}
	// B did not know A, so A sent its record.
	if node.Seq() != a.node().Seq() || node.IPAddr() != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("node from handshake: %v", node)
	}
	if s := b.store.Session(a.id(), a.addr); s.Node() != node {
		t.Fatal("session does not hold the handshake's node")
	}

	// Step 5: B answers within the new session, and both can talk.
	pong := &Pong{ReqID: ping.ReqID, ENRSeq: b.node().Seq(), ToIP: netip.MustParseAddr("127.0.0.1"), ToPort: 30301}
	src, n, got, _ := ht.send(b, a, pong, nil)
	if src != b.id() || n != nil || !reflect.DeepEqual(got, pong) {
		t.Fatalf("A got %#v from %v (node %v), want %#v", got, src, n, pong)
	}
	fn := &Findnode{ReqID: []byte{4}, Distances: []uint{256, 255, 254}}
	if _, _, got, _ = ht.send(a, b, fn, nil); !reflect.DeepEqual(got, fn) {
		t.Fatalf("B got %#v, want %#v", got, fn)
	}

	// The handshake cannot be replayed: the challenge is gone.
	if _, _, _, err := b.c.Decode(hsPacket, a.addr); !errors.Is(err, ErrUnexpectedHandshake) {
		t.Fatalf("replayed handshake: %v, want ErrUnexpectedHandshake", err)
	}
}

func TestHandshakeKnownRecord(t *testing.T) {
	ht := newHandshakeTest(t)
	aNode := ht.a.node()
	_, _, plain := ht.handshakePacketSizes(aNode)
	_, _, withRecord := newHandshakeTest(t).handshakePacketSizes(nil)
	if withRecord-plain != aNode.Record().Size() {
		t.Errorf("handshake with record is %d bytes, without %d; record has %d", withRecord, plain, aNode.Record().Size())
	}
}

// handshakePacketSizes runs a handshake and returns B's view of it and the
// size of the handshake packet.
func (ht *handshakeTest) handshakePacketSizes(bKnowsA *enode.Node) (*enode.Node, Packet, int) {
	node, p, pkt := ht.handshake(&Ping{ReqID: []byte{1}}, bKnowsA)
	if bKnowsA != nil && node != bKnowsA {
		ht.t.Fatalf("handshake node %v, want the known %v", node, bKnowsA)
	}
	return node, p, len(pkt)
}

func TestHandshakeNewerRecord(t *testing.T) {
	ht := newHandshakeTest(t)
	old := ht.a.node()
	ht.a.ln.Set(enr.TCP(30303)) // A's record moves on.
	node, _, _ := ht.handshake(&Ping{ReqID: []byte{1}}, old)
	if node.Seq() != old.Seq()+1 || node.TCP() != 30303 {
		t.Fatalf("B has record seq %d tcp %d, want the new one", node.Seq(), node.TCP())
	}
}

func TestMessagesOverSession(t *testing.T) {
	ht := newHandshakeTest(t)
	ht.handshake(&Ping{ReqID: []byte{1}}, nil)
	for _, p := range roundTripMessages(t) {
		for _, dir := range [][2]*testNode{{ht.a, ht.b}, {ht.b, ht.a}} {
			_, _, got, _ := ht.send(dir[0], dir[1], p, nil)
			if n, ok := p.(*Nodes); ok {
				checkNodesEqual(t, got.(*Nodes), n)
			} else if !reflect.DeepEqual(got, p) {
				t.Errorf("%s: got %#v, want %#v", p.Name(), got, p)
			}
		}
	}
}

func TestNoncesDistinct(t *testing.T) {
	ht := newHandshakeTest(t)
	ht.handshake(&Ping{ReqID: []byte{1}}, nil)
	seen := make(map[Nonce]bool)
	for i := range 100 {
		_, nonce, err := ht.a.c.Encode(ht.b.id(), ht.b.addr, &Ping{ReqID: []byte{1}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if seen[nonce] {
			t.Fatalf("nonce %x repeated", nonce)
		}
		seen[nonce] = true
		// The handshake used count 1.
		if got := uint32(nonce[0])<<24 | uint32(nonce[1])<<16 | uint32(nonce[2])<<8 | uint32(nonce[3]); got != uint32(i+2) {
			t.Fatalf("nonce %x has count %d, want %d", nonce, got, i+2)
		}
	}
}

func TestSessionTiedToEndpoint(t *testing.T) {
	ht := newHandshakeTest(t)
	ht.handshake(&Ping{ReqID: []byte{1}}, nil)
	pkt, nonce, err := ht.a.c.Encode(ht.b.id(), ht.b.addr, &Ping{ReqID: []byte{2}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The same packet from another endpoint finds no session.
	src, _, p, err := ht.b.c.Decode(pkt, "127.0.0.1:9999")
	if err != nil || src != ht.a.id() || !reflect.DeepEqual(p, &Unknown{Nonce: nonce}) {
		t.Fatalf("from other endpoint: %v %v %v", src, p, err)
	}
}

func TestSessionKeysMismatch(t *testing.T) {
	// A restarts and forgets its session; B still has one. A's new random
	// packet does not decrypt and B must challenge again.
	ht := newHandshakeTest(t)
	ht.handshake(&Ping{ReqID: []byte{1}}, nil)
	ht.a.store.DeleteSession(ht.b.id(), ht.b.addr)
	_, _, p, nonce := ht.send(ht.a, ht.b, &Ping{ReqID: []byte{2}}, nil)
	if !reflect.DeepEqual(p, &Unknown{Nonce: nonce}) {
		t.Fatalf("B decoded %#v, want Unknown", p)
	}
	// And a second handshake over the existing session works.
	ht.handshake(&Ping{ReqID: []byte{3}}, nil)
}

func TestWhoareyouResend(t *testing.T) {
	ht := newHandshakeTest(t)
	w := &Whoareyou{Nonce: Nonce{1, 2, 3}}
	first, _, err := ht.b.c.Encode(ht.a.id(), ht.a.addr, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	first = bytes.Clone(first)
	cdata := bytes.Clone(w.ChallengeData)
	again, nonce, err := ht.b.c.Encode(ht.a.id(), ht.a.addr, w, nil)
	if err != nil || nonce != w.Nonce {
		t.Fatal(err, nonce)
	}
	if !bytes.Equal(first, again) || !bytes.Equal(cdata, w.ChallengeData) {
		t.Fatal("re-sent WHOAREYOU differs")
	}
	_, _, p, err := ht.a.c.Decode(again, ht.b.addr)
	if err != nil || !bytes.Equal(p.(*Whoareyou).ChallengeData, cdata) {
		t.Fatalf("decoded re-sent WHOAREYOU: %v %v", p, err)
	}
}

func TestChallengeExpiry(t *testing.T) {
	now := time.Unix(1700000000, 0)
	ht := newHandshakeTest(t)
	ht.b.store = NewSessionCache(0, func() time.Time { return now })
	ht.b.c = NewCodec(ht.b.ln, ht.b.key, ht.b.store)

	_, _, p, _ := ht.send(ht.a, ht.b, &Ping{ReqID: []byte{1}}, nil)
	_, _, p, _ = ht.send(ht.b, ht.a, &Whoareyou{Nonce: p.(*Unknown).Nonce}, nil)
	challenge := p.(*Whoareyou)
	challenge.Node = ht.b.node()
	pkt, _, err := ht.a.c.Encode(ht.b.id(), ht.b.addr, &Ping{ReqID: []byte{1}}, challenge)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(HandshakeTimeout)
	if _, _, _, err := ht.b.c.Decode(pkt, ht.a.addr); !errors.Is(err, ErrUnexpectedHandshake) {
		t.Fatalf("handshake after the timeout: %v, want ErrUnexpectedHandshake", err)
	}
}

func TestRandomPacket(t *testing.T) {
	ht := newHandshakeTest(t)
	pkt, nonce, err := ht.a.c.Encode(ht.b.id(), ht.b.addr, &Ping{ReqID: []byte{1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := authDataStart + messageAuthSize + randomMessageSize; len(pkt) != want {
		t.Fatalf("random packet has %d bytes, want %d", len(pkt), want)
	}
	_, nonce2, _ := ht.a.c.Encode(ht.b.id(), ht.b.addr, &Ping{ReqID: []byte{1}}, nil)
	if nonce == nonce2 {
		t.Fatal("random packets share a nonce")
	}
}

func TestEncodeErrors(t *testing.T) {
	ht := newHandshakeTest(t)
	a, b := ht.a, ht.b
	// A real challenge from B to A.
	_, _, p, _ := ht.send(a, b, &Ping{ReqID: []byte{1}}, nil)
	_, _, p, _ = ht.send(b, a, &Whoareyou{Nonce: p.(*Unknown).Nonce}, nil)
	challenge := p.(*Whoareyou)
	withNode := func(n *enode.Node) *Whoareyou { c := *challenge; c.Node = n; return &c }
	noData := withNode(b.node())
	noData.ChallengeData = nil
	other := signedNode(t, newKey(t), 1)
	big := &TalkRequest{ReqID: []byte{1}, Protocol: "x", Message: make([]byte, MaxMessageSize)}

	tests := []struct {
		name      string
		p         Packet
		challenge *Whoareyou
		want      error
	}{
		{"challenge without node", &Ping{}, challenge, ErrInvalidChallenge},
		{"challenge of other node", &Ping{}, withNode(other), ErrInvalidChallenge},
		{"challenge without data", &Ping{}, noData, ErrInvalidChallenge},
		{"whoareyou seq without node", &Whoareyou{RecordSeq: 3}, nil, ErrInvalidChallenge},
		{"whoareyou bad challenge data", &Whoareyou{ChallengeData: []byte{1}}, nil, ErrInvalidChallenge},
		{"unknown packet", &Unknown{}, nil, ErrUnencodable},
		{"request ID too large", &Ping{ReqID: make([]byte, 9)}, nil, ErrReqIDTooLarge},
		{"too big without session", big, nil, ErrPacketTooBig},
		{"too big in handshake", big, withNode(b.node()), ErrPacketTooBig},
	}
	for _, tt := range tests {
		if _, _, err := a.c.Encode(b.id(), b.addr, tt.p, tt.challenge); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if a.store.Session(b.id(), b.addr) != nil {
		t.Fatal("failed handshake encodings stored a session")
	}

	// Over a session, the largest message fits and one byte more does not.
	ht.handshake(&Ping{ReqID: []byte{1}}, nil)
	// type, list header (3), request ID, string header (3), message
	fits := &TalkResponse{ReqID: []byte{1}, Message: make([]byte, MaxMessageSize-1-3-1-3)}
	if pt, _ := AppendMessage(nil, fits); len(pt) != MaxMessageSize {
		t.Fatalf("test message has %d bytes, want %d", len(pt), MaxMessageSize)
	}
	pkt, _, err := a.c.Encode(b.id(), b.addr, fits, nil)
	if err != nil || len(pkt) != MaxPacketSize {
		t.Fatalf("largest message: %d bytes, %v", len(pkt), err)
	}
	fits.Message = append(fits.Message, 0)
	if _, _, err := a.c.Encode(b.id(), b.addr, fits, nil); !errors.Is(err, ErrPacketTooBig) {
		t.Fatalf("message one byte over: %v", err)
	}

	// A failing ephemeral key source fails the handshake.
	keyErr := errors.New("no entropy")
	a.c.ephemeralKey = func() (*crypto.PrivateKey, error) { return nil, keyErr }
	if _, _, err := a.c.Encode(b.id(), b.addr, &Ping{}, withNode(b.node())); !errors.Is(err, keyErr) {
		t.Fatalf("ephemeral key failure: %v", err)
	}
}

func TestDecodeLeavesInputAlone(t *testing.T) {
	ht := newHandshakeTest(t)
	ht.handshake(&Ping{ReqID: []byte{1}}, nil)
	pkt, _, _ := ht.a.c.Encode(ht.b.id(), ht.b.addr, &Ping{ReqID: []byte{2}}, nil)
	orig := bytes.Clone(pkt)
	if _, _, _, err := ht.b.c.Decode(pkt, ht.a.addr); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pkt, orig) {
		t.Fatal("Decode modified its input")
	}
}

func TestNewCodecPanics(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	ln := enode.NewLocalNode(nil, k1)
	for name, f := range map[string]func(){
		"wrong key": func() { NewCodec(ln, k2, NewSessionCache(1, nil)) },
		"nil store": func() { NewCodec(ln, k1, nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

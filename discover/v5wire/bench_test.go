package v5wire

import (
	"bytes"
	"testing"
)

// benchPair returns A and B with an established session.
func benchPair(b *testing.B) *handshakeTest {
	t := &testing.T{}
	ht := &handshakeTest{
		t: t,
		a: newTestNode(b, newKey(b), "127.0.0.1:30301"),
		b: newTestNode(b, newKey(b), "127.0.0.2:30302"),
	}
	ht.handshake(&Ping{ReqID: []byte{1}}, nil)
	if t.Failed() {
		b.Fatal("handshake failed")
	}
	return ht
}

var benchPing = &Ping{ReqID: []byte{1, 2, 3, 4, 5, 6, 7, 8}, ENRSeq: 1 << 40}

func BenchmarkEncodeMessage(b *testing.B) {
	ht := benchPair(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ht.a.c.Encode(ht.b.id(), ht.b.addr, benchPing, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMessage(b *testing.B) {
	ht := benchPair(b)
	pkt, _, _ := ht.a.c.Encode(ht.b.id(), ht.b.addr, benchPing, nil)
	pkt = bytes.Clone(pkt)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, _, _, err := ht.b.c.Decode(pkt, ht.a.addr); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeNodes(b *testing.B) {
	ht := benchPair(b)
	msgs, err := SplitNodes([]byte{1}, testRecords(b, 16))
	if err != nil {
		b.Fatal(err)
	}
	pkt, _, _ := ht.a.c.Encode(ht.b.id(), ht.b.addr, msgs[0], nil)
	pkt = bytes.Clone(pkt)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, _, _, err := ht.b.c.Decode(pkt, ht.a.addr); err != nil {
			b.Fatal(err)
		}
	}
}

// handshakeChallenge returns a WHOAREYOU from B to A, decoded by A and ready
// to answer.
func handshakeChallenge(b *testing.B, ht *handshakeTest) (*Whoareyou, *Whoareyou) {
	w := &Whoareyou{Nonce: Nonce{1}}
	pkt, _, err := ht.b.c.Encode(ht.a.id(), ht.a.addr, w, nil)
	if err != nil {
		b.Fatal(err)
	}
	_, _, p, err := ht.a.c.Decode(pkt, ht.b.addr)
	if err != nil {
		b.Fatal(err)
	}
	challenge := p.(*Whoareyou)
	challenge.Node = ht.b.node()
	return w, challenge
}

func BenchmarkEncodeHandshake(b *testing.B) {
	ht := benchPair(b)
	_, challenge := handshakeChallenge(b, ht)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ht.a.c.Encode(ht.b.id(), ht.b.addr, benchPing, challenge); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeHandshake(b *testing.B) {
	ht := benchPair(b)
	sent, challenge := handshakeChallenge(b, ht)
	pkt, _, err := ht.a.c.Encode(ht.b.id(), ht.b.addr, benchPing, challenge)
	if err != nil {
		b.Fatal(err)
	}
	pkt = bytes.Clone(pkt)
	b.ReportAllocs()
	for b.Loop() {
		ht.b.store.StoreChallenge(ht.a.id(), ht.a.addr, sent)
		if _, _, _, err := ht.b.c.Decode(pkt, ht.a.addr); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWhoareyou(b *testing.B) {
	ht := benchPair(b)
	b.ReportAllocs()
	for b.Loop() {
		pkt, _, err := ht.b.c.Encode(ht.a.id(), ht.a.addr, &Whoareyou{Nonce: Nonce{1}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, _, err := ht.a.c.Decode(pkt, ht.b.addr); err != nil {
			b.Fatal(err)
		}
	}
}

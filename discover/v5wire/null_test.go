package v5wire

import (
	"errors"
	"testing"

	"github.com/trellis-p2p/trellis/discover/internal/v5sim"
)

// Null handshake cryptography: two null codecs agree on session keys; a
// real codec rejects a null handshake; and a null codec still rejects a
// handshake whose signature is not the id-nonce hash.
func TestNullHandshake(t *testing.T) {
	ht := newHandshakeTest(t)
	v5sim.NullCrypto(ht.a.c)
	v5sim.NullCrypto(ht.b.c)
	node, got, _ := ht.handshake(&Ping{ReqID: []byte{1}, ENRSeq: 1}, nil)
	if node == nil || node.ID() != ht.a.id() {
		t.Fatalf("B learnt node %v, want A", node)
	}
	if p, ok := got.(*Ping); !ok || p.ENRSeq != 1 {
		t.Fatalf("B decoded %v", got)
	}
	// Messages flow both ways in the session.
	ht.send(ht.b, ht.a, &TalkResponse{ReqID: []byte{1}}, nil)
	ht.send(ht.a, ht.b, &Ping{ReqID: []byte{2}}, nil)

	for _, nullB := range []bool{false, true} {
		ht := newHandshakeTest(t)
		v5sim.NullCrypto(ht.a.c)
		if nullB {
			v5sim.NullCrypto(ht.b.c)
		}
		req := &Ping{ReqID: []byte{1}}
		pkt, nonce, _ := ht.a.c.Encode(ht.b.id(), ht.b.addr, req, nil)
		ht.b.c.Decode(pkt, ht.a.addr)
		wb, _, _ := ht.b.c.Encode(ht.a.id(), ht.a.addr, &Whoareyou{Nonce: nonce}, nil)
		_, _, wp, err := ht.a.c.Decode(wb, ht.b.addr)
		if err != nil {
			t.Fatal(err)
		}
		w := wp.(*Whoareyou)
		w.Node = ht.b.node()
		hs, _, err := ht.a.c.Encode(ht.b.id(), ht.b.addr, req, w)
		if err != nil {
			t.Fatal(err)
		}
		if nullB {
			// Break the null signature.
			hs = append([]byte(nil), hs...)
			maskHeader(hs, ht.b.id())
			hs[authDataStart+handshakeAuthHeadSize] ^= 1
			maskHeader(hs, ht.b.id())
		}
		if _, _, _, err := ht.b.c.Decode(hs, ht.a.addr); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("null B %v: decode of a bad null handshake: %v, want ErrInvalidSignature", nullB, err)
		}
	}
}

package discover

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"

	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enode"
)

// A packet the listener cannot decrypt is answered with WHOAREYOU; while
// that challenge is pending, further such packets get the same challenge,
// byte for byte, and the handshake answering it is accepted.
func TestV5WhoareyouResend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listenV5(1, "10.0.0.1:30303", Config{})
		p := tn.v5peer(2, "10.0.0.2:30303")

		ping := &v5wire.Ping{ReqID: []byte{1}}
		n1, _ := p.send(0, l, ping, nil)
		w1, d1 := expectV5[*v5wire.Whoareyou](p, l, "first packet")
		if w1.Nonce != n1 {
			t.Fatalf("WHOAREYOU names nonce %x, want %x", w1.Nonce, n1)
		}
		if w1.RecordSeq != 0 {
			t.Errorf("WHOAREYOU enr-seq %d for an unknown node, want 0", w1.RecordSeq)
		}
		p.send(0, l, ping, nil)
		_, d2 := expectV5[*v5wire.Whoareyou](p, l, "second packet")
		if !bytes.Equal(d1.data, d2.data) {
			t.Fatal("second WHOAREYOU differs from the pending one")
		}
		w1.Node = l.Self()
		_, hs := p.send(0, l, ping, w1)
		expectV5[*v5wire.Pong](p, l, "handshake")
		if s, c := l.disp.sessions.Len(); s != 1 || c != 0 {
			t.Errorf("listener holds %d sessions and %d challenges, want 1 and 0", s, c)
		}
		// A replay of the handshake finds no challenge.
		p.conns[0].WriteToUDPAddrPort(hs, v5Addr(l))
		// (The listener may ping the peer, now in its table.)
		for pkt, _ := p.read(l); pkt != nil; pkt, _ = p.read(l) {
			if _, ok := pkt.(*v5wire.Ping); !ok {
				t.Fatalf("replayed handshake answered with %s", pkt.Name())
			}
		}
	})
}

// Our handshake carries our record only when the challenger's enr-seq for
// us is older than ours; a second WHOAREYOU for the same request fails it.
func TestV5HandshakeRecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listenV5(1, "10.0.0.1:30303", Config{})
		p := tn.v5peer(2, "10.0.0.2:30303")

		// challenge makes l ping p and answers its first packet with a
		// WHOAREYOU stating knownSeq. It returns the handshake datagram,
		// the PING in it and the channel the Ping's result arrives on.
		challenge := func(knownSeq uint64) ([]byte, *v5wire.Ping, chan error) {
			done := make(chan error, 1)
			go func() { _, err := l.Ping(context.Background(), p.node()); done <- err }()
			u, _ := expectV5[*v5wire.Unknown](p, l, "ping without session")
			p.send(0, l, &v5wire.Whoareyou{Nonce: u.Nonce, RecordSeq: knownSeq, Node: l.Self()}, nil)
			ping, d := expectV5[*v5wire.Ping](p, l, "handshake")
			return d.data, ping, done
		}
		answer := func(ping *v5wire.Ping, done chan error) {
			p.send(0, l, &v5wire.Pong{ReqID: ping.ReqID, ENRSeq: 1, ToIP: netip.MustParseAddr("10.0.0.1"), ToPort: 30303}, nil)
			if err := <-done; err != nil {
				t.Fatal("Ping:", err)
			}
		}
		forget := func() { p.sc.DeleteSession(l.Self().ID(), v5Addr(l).String()) }

		with, ping, done := challenge(0)
		answer(ping, done)
		forget()
		without, ping, done := challenge(l.Self().Seq())
		answer(ping, done)
		if d, rs := len(with)-len(without), l.Self().Record().Size(); d != rs {
			t.Errorf("handshake for enr-seq 0 is %d bytes longer than for the current seq, want the record's %d", d, rs)
		}

		// A second WHOAREYOU, naming the handshake packet, ends the Ping.
		forget()
		hs, _, done := challenge(0)
		p.send(0, l, &v5wire.Whoareyou{Nonce: packetNonce(hs, p.id()), Node: l.Self()}, nil)
		if err := <-done; !errors.Is(err, ErrTooManyChallenges) {
			t.Fatalf("Ping after second WHOAREYOU: %v, want ErrTooManyChallenges", err)
		}
	})
}

// packetNonce unmasks the nonce of a packet to dest (discv5-wire.md
// "Protocol Header").
func packetNonce(b []byte, dest enode.ID) v5wire.Nonce {
	block, _ := aes.NewCipher(dest[:16])
	hdr := make([]byte, 6+2+1+12)
	cipher.NewCTR(block, b[:16]).XORKeyStream(hdr, b[16:16+len(hdr)])
	return v5wire.Nonce(hdr[9:])
}

// A node that comes from a new endpoint must make a new session: sessions
// are bound to node ID and endpoint (discv5-theory.md "Session Cache").
func TestV5NewEndpointNewSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listenV5(1, "10.0.0.1:30303", Config{})
		p := tn.v5peer(2, "10.0.0.2:30303", "10.0.0.3:40404")
		p.handshake(0, l)

		// The same session keys, from the other socket (a NAT rebinding).
		p.send(1, l, &v5wire.Ping{ReqID: []byte{2}}, nil)
		w, d := expectV5[*v5wire.Whoareyou](p, l, "session from a new endpoint")
		if d.conn != 1 {
			t.Fatalf("WHOAREYOU went to socket %d, want the new one", d.conn)
		}
		// The peer drops its session and answers from the new socket.
		w.Node = l.Self()
		p.send(1, l, &v5wire.Ping{ReqID: []byte{3}}, w)
		pong, d := expectV5[*v5wire.Pong](p, l, "handshake from the new endpoint")
		if d.conn != 1 || pong.ToPort != 40404 || pong.ToIP != netip.MustParseAddr("10.0.0.3") {
			t.Errorf("PONG to socket %d says %v:%d, want the new endpoint", d.conn, pong.ToIP, pong.ToPort)
		}
		if s, _ := l.disp.sessions.Len(); s != 2 {
			t.Errorf("listener has %d sessions, want one per endpoint", s)
		}
	})
}

package p2pinterop

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rlp"
)

// split returns the Trellis and the go-ethereum node of a pair.
func split(a, b node) (*trellisNode, *gethNode) {
	if tr, ok := a.(*trellisNode); ok {
		return tr, b.(*gethNode)
	}
	return b.(*trellisNode), a.(*gethNode)
}

// rlpString returns the RLP encoding of a byte string holding data, a
// well-formed message payload.
func rlpString(data []byte) []byte {
	enc, err := rlp.EncodeToBytes(data)
	if err != nil {
		panic(err)
	}
	return enc
}

func compressible(n int) []byte {
	return rlpString(bytes.Repeat([]byte("trellis interop "), n/16))
}

func incompressible(n int) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(b)
	return rlpString(b)
}

// traffic returns the wire bytes and count of one itp message code.
func traffic(ts []p2p.Traffic, code uint64) (bytes, packets uint64) {
	for _, t := range ts {
		if t.Proto == (p2p.Cap{Name: protoName, Version: protoVersion}) && t.Code == code {
			return t.Bytes, t.Packets
		}
	}
	return 0, 0
}

// waitMsgEvent waits for a message event of n about peer.
func waitMsgEvent(t *testing.T, n node, typ string, peer node, code uint64, size int) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case ev := <-n.events():
			if ev.typ == typ && ev.peer == peer.key().id() && ev.code == code && int(ev.size) == size {
				return
			}
		case <-timeout:
			t.Fatalf("%s: no %s event for code %d, size %d", n.impl(), typ, code, size)
		}
	}
}

// Messages of the test protocol flow both ways, with EIP-706 snappy in
// effect after two version-5 Hellos: a highly compressible 1 MiB message
// takes a small fraction of its size on the wire in both directions, as the
// Trellis metrics (wire size per message) and the byte counts of the TCP
// connection show. The message events of both libraries report the
// uncompressed size.
func TestMessages(t *testing.T) {
	for _, dir := range directions {
		t.Run(dir.name, func(t *testing.T) {
			a, b := dir.mk(t, nodeOpts{msgEvents: true}, nodeOpts{msgEvents: true})
			connect(t, a, b)
			tr, ge := split(a, b)
			big := compressible(1 << 20)

			tr.ph.send(t, ge.k.id(), codeEcho, big)
			if r := tr.ph.reply(t); !bytes.Equal(r.payload, big) {
				t.Fatalf("Trellis got back %d bytes, sent %d", len(r.payload), len(big))
			}
			ge.ph.send(t, tr.k.id(), codeEcho, big)
			if r := ge.ph.reply(t); !bytes.Equal(r.payload, big) {
				t.Fatalf("go-ethereum got back %d bytes, sent %d", len(r.payload), len(big))
			}
			const sinks = 100
			for i := range sinks {
				tr.ph.send(t, ge.k.id(), codeSink, rlpString([]byte{byte(i)}))
				ge.ph.send(t, tr.k.id(), codeSink, rlpString([]byte{byte(i)}))
			}
			deadline := time.Now().Add(waitTimeout)
			for tr.ph.sunk.Load() < sinks || ge.ph.sunk.Load() < sinks {
				if time.Now().After(deadline) {
					t.Fatalf("sink messages arrived: %d at Trellis, %d at go-ethereum; want %d", tr.ph.sunk.Load(), ge.ph.sunk.Load(), sinks)
				}
				time.Sleep(5 * time.Millisecond) // polling counters that have no event
			}

			// Per-message wire sizes seen by Trellis, both directions.
			snap := tr.srv.Counters().Snapshot()
			limit := uint64(len(big) / 8)
			for _, c := range []struct {
				what      string
				traffic   []p2p.Traffic
				code      uint64
				wantCount uint64
			}{
				{"Trellis's echo request, sent", snap.Egress, codeEcho, 1},
				{"go-ethereum's reply, received", snap.Ingress, codeReply, 1},
				{"go-ethereum's echo request, received", snap.Ingress, codeEcho, 1},
				{"Trellis's reply, sent", snap.Egress, codeReply, 1},
			} {
				bytes, n := traffic(c.traffic, c.code)
				t.Logf("%s: %d bytes on the wire for %d of payload", c.what, bytes, len(big))
				if n != c.wantCount || bytes == 0 || bytes > limit {
					t.Errorf("%s: %d messages, %d wire bytes; want %d message of at most %d bytes", c.what, n, bytes, c.wantCount, limit)
				}
			}
			if _, n := traffic(snap.Egress, codeSink); n != sinks {
				t.Errorf("Trellis counted %d sink messages sent, want %d", n, sinks)
			}
			if _, n := traffic(snap.Ingress, codeSink); n != sinks {
				t.Errorf("Trellis counted %d sink messages received, want %d", n, sinks)
			}

			// The TCP connection, counted at Trellis's socket (and at
			// go-ethereum's where it dialed): 2 MiB of payload went each way.
			in, out := tr.wire.in.Load(), tr.wire.out.Load()
			t.Logf("TCP bytes at Trellis: %d in, %d out; at go-ethereum's dialed socket: %d in, %d out",
				in, out, ge.wire.in.Load(), ge.wire.out.Load())
			if in > int64(2*limit) || out > int64(2*limit) {
				t.Errorf("TCP carried %d bytes in, %d out for 2 MiB of compressible payload each way", in, out)
			}
			if g := ge.wire.out.Load(); g > int64(2*limit) {
				t.Errorf("go-ethereum wrote %d bytes", g)
			}

			// Message events report the uncompressed size on both sides.
			waitMsgEvent(t, tr, "msgsend", ge, codeEcho, len(big))
			waitMsgEvent(t, tr, "msgrecv", ge, codeReply, len(big))
			waitMsgEvent(t, ge, "msgrecv", tr, codeEcho, len(big))
			waitMsgEvent(t, ge, "msgsend", tr, codeReply, len(big))

			// Control: random data does not compress, and the metrics say so.
			noise := incompressible(256 << 10)
			tr.ph.send(t, ge.k.id(), codeEcho, noise)
			if r := tr.ph.reply(t); !bytes.Equal(r.payload, noise) {
				t.Fatal("random payload came back changed")
			}
			snap2 := tr.srv.Counters().Snapshot()
			sent, _ := traffic(snap2.Egress, codeEcho)
			got, _ := traffic(snap2.Ingress, codeReply)
			sent1, _ := traffic(snap.Egress, codeEcho)
			got1, _ := traffic(snap.Ingress, codeReply)
			if sent-sent1 < uint64(len(noise)) || got-got1 < uint64(len(noise)) {
				t.Errorf("random %d bytes took %d on the wire out, %d in", len(noise), sent-sent1, got-got1)
			}
		})
	}
}

// A listener at MaxPeers refuses a further peer with "too many peers" right
// after the encryption handshake; both sides report that reason.
func TestDisconnectTooManyPeers(t *testing.T) {
	for _, dir := range directions {
		t.Run(dir.name, func(t *testing.T) {
			d, l := dir.mk(t, nodeOpts{}, nodeOpts{maxPeers: 1, noDial: true})
			filler := newLike(t, d, nodeOpts{})
			connect(t, filler, l)

			d.dial(l)
			waitLog(t, d, "too many peers")
			waitLog(t, l, "too many peers")
			tr, _ := split(d, l)
			outcomes := tr.srv.Counters().Snapshot().DialOutcomes
			if tr == l {
				outcomes = tr.srv.Counters().Snapshot().ServeOutcomes
			}
			if outcomes[p2p.ConnTooManyPeers.String()] == 0 {
				t.Errorf("Trellis metrics: %v, want a %q outcome", outcomes, p2p.ConnTooManyPeers)
			}
			if n := l.peerCount(); n != 1 {
				t.Errorf("listener has %d peers, want 1", n)
			}
		})
	}
}

// Without a shared protocol, a node that runs protocols refuses the peer with
// "useless peer". Where both run (different) protocols, each finds that out
// itself; where one runs none, it accepts the peer and then hears the
// other's reason.
func TestDisconnectUselessPeer(t *testing.T) {
	for _, dir := range directions {
		t.Run(dir.name+"/both-have-protocols", func(t *testing.T) {
			d, l := dir.mk(t, nodeOpts{proto: "itp"}, nodeOpts{proto: "xyz"})
			d.dial(l)
			waitLog(t, d, "useless peer")
			waitLog(t, l, "useless peer")
		})
		t.Run(dir.name+"/dialer-has-none", func(t *testing.T) {
			d, l := dir.mk(t, nodeOpts{proto: "-"}, nodeOpts{})
			d.dial(l)
			waitLog(t, l, "useless peer")
			checkUselessDrop(t, waitEvent(t, d, "drop", l), l)
		})
		t.Run(dir.name+"/listener-has-none", func(t *testing.T) {
			d, l := dir.mk(t, nodeOpts{}, nodeOpts{proto: "-"})
			d.dial(l)
			waitLog(t, d, "useless peer")
			checkUselessDrop(t, waitEvent(t, l, "drop", d), d)
		})
	}
}

// checkUselessDrop checks the drop of a peer that refused us as useless.
func checkUselessDrop(t *testing.T, ev event, refuser node) {
	t.Helper()
	switch {
	case ev.err == "useless peer":
	case refuser.impl() == "trellis" && strings.Contains(ev.err, "snappy"):
		// p2p bug: Server.protoHandshake sends Disconnect(DiscUselessPeer)
		// before SetSnappy, so after two version-5 Hellos the message
		// leaves uncompressed and the remote cannot decode it (EIP-706:
		// everything after Hello is compressed). See
		// TestTrellisUselessPeerDisconnectCompressed.
		t.Errorf("the peer could not read Trellis's disconnect reason: %q; Trellis sent Disconnect(useless peer) uncompressed after a version-5 Hello exchange", ev.err)
	default:
		t.Errorf("dropped with %q, want %q", ev.err, "useless peer")
	}
}

// RemovePeer and Peer.Disconnect(DiscRequested), on either side of either
// direction: both sides' drop events say "disconnect requested".
func TestDisconnectRequested(t *testing.T) {
	for _, dir := range directions {
		for _, how := range []struct {
			name string
			do   func(n, peer node)
		}{
			{"RemovePeer", func(n, peer node) { n.remove(peer) }},
			{"Disconnect", func(n, peer node) { n.disconnect(peer) }},
		} {
			for _, byDialer := range []bool{true, false} {
				who := "listener"
				if byDialer {
					who = "dialer"
				}
				t.Run(dir.name+"/"+how.name+"-by-"+who, func(t *testing.T) {
					d, l := dir.mk(t, nodeOpts{}, nodeOpts{})
					connect(t, d, l)
					actor, other := l, d
					if byDialer {
						actor, other = d, l
					}
					how.do(actor, other)
					for _, c := range []struct{ n, peer node }{{actor, other}, {other, actor}} {
						if ev := waitEvent(t, c.n, "drop", c.peer); ev.err != "disconnect requested" {
							t.Errorf("%s dropped %s with %q, want %q", c.n.impl(), c.peer.impl(), ev.err, "disconnect requested")
						}
					}
				})
			}
		}
	}
}

// A trusted node connects even when the listener has MaxPeers peers, and is
// marked trusted; AddTrustedPeer marks a connected peer.
func TestTrustedAboveMaxPeers(t *testing.T) {
	for _, dir := range directions {
		t.Run(dir.name, func(t *testing.T) {
			dk := newKey(t)
			d, l := dir.mk(t, nodeOpts{key: &dk}, nodeOpts{maxPeers: 1, noDial: true, trusted: []key{dk}})
			filler := newLike(t, d, nodeOpts{})
			connect(t, filler, l)
			connect(t, d, l)
			if n := l.peerCount(); n != 2 {
				t.Fatalf("listener has %d peers, want 2 with MaxPeers 1", n)
			}
			if !l.isTrusted(d) {
				t.Error("trusted peer not marked trusted")
			}
			if l.isTrusted(filler) {
				t.Error("filler marked trusted")
			}
			l.trust(filler)
			deadline := time.Now().Add(waitTimeout)
			for !l.isTrusted(filler) {
				if time.Now().After(deadline) {
					t.Fatal("AddTrustedPeer did not mark the connected peer")
				}
				time.Sleep(5 * time.Millisecond) // the flag has no event
			}
		})
	}
}

package p2p

import (
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/trellis-p2p/trellis/enode"
)

var (
	testCaps = []Cap{{"a", 1}, {"b", 1}}
)

// echoProto answers every message with the same code and payload.
func echoProto(name string, length uint64) Protocol {
	return Protocol{Name: name, Version: 1, Length: length, Run: func(p *Peer, rw MsgReadWriter) error {
		for {
			msg, err := rw.ReadMsg()
			if err != nil {
				return err
			}
			data, _ := io.ReadAll(msg.Payload)
			if err := rw.WriteMsg(NewMsg(msg.Code, data)); err != nil {
				return err
			}
		}
	}}
}

func TestPeerMultiplexing(t *testing.T) {
	h := startPeer(t, []Protocol{echoProto("a", 5), echoProto("b", 3)}, testCaps, nil)
	// "a" has codes 16..20, "b" 21..23 (rlpx.md "Message ID Based Multiplexing").
	for _, code := range []uint64{16, 20, 21, 23} {
		h.send(code, encodeList(t, uint(code)))
		if got := h.expect(code); string(got) != string(encodeList(t, uint(code))) {
			t.Fatalf("code %d: payload %x", code, got)
		}
	}
	if !h.peer.RunningCap("a", []uint{1}) || h.peer.RunningCap("a", []uint{2}) || h.peer.RunningCap("c", []uint{1}) {
		t.Fatal("RunningCap wrong")
	}
	snap := h.metrics.Snapshot()
	if len(snap.Ingress) != 4 || snap.Ingress[0].Proto != (Cap{"a", 1}) || snap.Ingress[0].Code != 0 || snap.Ingress[3].Code != 2 {
		t.Fatalf("ingress metrics: %+v", snap.Ingress)
	}
}

func TestPeerInvalidMsgCode(t *testing.T) {
	h := startPeer(t, []Protocol{echoProto("a", 5)}, testCaps, nil)
	h.send(16+5, nil) // one past the only protocol
	h.expectDisc(DiscProtocolError)
	if r := h.wait(); !errors.Is(r.err, ErrInvalidMsgCode) || r.remoteRequested {
		t.Fatalf("peer ended with %+v", r)
	}
}

func TestPeerRemoteDisconnect(t *testing.T) {
	for _, tt := range []struct {
		name    string
		payload []byte
		want    DiscReason
	}{
		{"list", []byte{0xc1, 0x04}, DiscTooManyPeers},
		{"bare byte", []byte{0x04}, DiscTooManyPeers},
		{"garbage", []byte{0xc5}, DiscInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := startPeer(t, []Protocol{echoProto("a", 5)}, testCaps, nil)
			h.send(discMsg, tt.payload)
			r := h.wait()
			if !r.remoteRequested || r.err != tt.want {
				t.Fatalf("peer ended with %+v, want remote %v", r, tt.want)
			}
			// No reason is sent back to a peer that is leaving.
			if _, _, _, err := h.remote.ReadMsg(); err == nil {
				t.Fatal("remote received a message after disconnecting")
			}
		})
	}
}

func TestPeerDisconnect(t *testing.T) {
	h := startPeer(t, []Protocol{echoProto("a", 5)}, testCaps, nil)
	h.peer.Disconnect(DiscUselessPeer)
	h.peer.Disconnect(DiscTooManyPeers) // the first reason wins
	h.expectDisc(DiscUselessPeer)
	if r := h.wait(); r.err != DiscUselessPeer || r.remoteRequested {
		t.Fatalf("peer ended with %+v", r)
	}
}

func TestPeerProtocolEnds(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		story  string
		run    func(*Peer, MsgReadWriter) error
		reason DiscReason
		err    error
	}{
		{"a protocol error is a subprotocol error", func(*Peer, MsgReadWriter) error { return boom }, DiscSubprotocolError, boom},
		{"a returning protocol quits", func(*Peer, MsgReadWriter) error { return nil }, DiscQuitting, errProtocolReturned},
		{"a protocol may pick the reason", func(*Peer, MsgReadWriter) error { return DiscUselessPeer }, DiscUselessPeer, DiscUselessPeer},
		{"a bad message is a protocol breach", func(_ *Peer, rw MsgReadWriter) error {
			msg, _ := rw.ReadMsg()
			var x struct{ A, B uint }
			return msg.Decode(&x)
		}, DiscProtocolError, ErrInvalidMsg},
	}
	for _, tt := range tests {
		t.Run(tt.story, func(t *testing.T) {
			h := startPeer(t, []Protocol{{Name: "a", Version: 1, Length: 5, Run: tt.run}}, testCaps, nil)
			h.remote.WriteMsg(16, []byte{0xc1, 0xc0}) // fails if the protocol already ended

			h.expectDisc(tt.reason)
			if r := h.wait(); !errors.Is(r.err, tt.err) {
				t.Fatalf("peer ended with %v, want %v", r.err, tt.err)
			}
		})
	}
}

// A protocol that returns without reading must not stall the read loop,
// whatever the remote keeps sending.
func TestPeerProtocolIgnoresMessages(t *testing.T) {
	release := make(chan struct{})
	h := startPeer(t, []Protocol{
		{Name: "a", Version: 1, Length: 5, Run: func(*Peer, MsgReadWriter) error { <-release; return nil }},
		echoProto("b", 3),
	}, testCaps, nil)
	// "b" still works while "a" sits on its queue.
	h.send(21, []byte{0xc0})
	h.expect(21)
	go func() {
		for range 100 {
			if _, err := h.remote.WriteMsg(16, []byte{0xc0}); err != nil {
				return
			}
		}
	}()
	close(release)
	h.expectDisc(DiscQuitting)
	h.wait()
}

func TestPeerPingPong(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startPeer(t, []Protocol{echoProto("a", 5)}, testCaps, nil)
		start := time.Now()
		h.send(pingMsg, emptyList)
		h.expect(pongMsg)
		if time.Since(start) != 0 {
			t.Fatal("pong was not immediate")
		}
		// Our own ping comes after 15 s of the connection's life, then every
		// 15 s.
		for i := 1; i <= 3; i++ {
			h.expect(pingMsg)
			if got := time.Since(start); got != time.Duration(i)*pingInterval {
				t.Fatalf("ping %d after %v", i, got)
			}
			h.send(pongMsg, emptyList)
		}
		// A burst of pings is answered; none is lost.
		for range 5 {
			h.send(pingMsg, emptyList)
		}
		h.expect(pongMsg)
		h.peer.Disconnect(DiscRequested)
		h.wait()
	})
}

// A peer that sends nothing for 30 s is dropped with DiscReadTimeout.
func TestPeerReadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startPeer(t, []Protocol{echoProto("a", 5)}, testCaps, nil)
		start := time.Now()
		h.expect(pingMsg) // at 15 s; the remote stays silent
		h.expectDisc(DiscReadTimeout)
		r := h.wait()
		if !errors.Is(r.err, DiscReadTimeout) || time.Since(start) != frameReadTimeout {
			t.Fatalf("ended with %v after %v", r.err, time.Since(start))
		}
	})
}

// Pings keep a quiet connection alive past the read timeout.
func TestPeerStaysAliveWithPings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startPeer(t, []Protocol{echoProto("a", 5)}, testCaps, nil)
		for range 10 {
			h.expect(pingMsg)
			h.send(pongMsg, emptyList)
		}
		select {
		case r := <-h.done:
			t.Fatalf("peer ended: %+v", r)
		default:
		}
		h.peer.Disconnect(DiscRequested)
		h.expectDisc(DiscRequested)
	})
}

// A remote that never reads: our writes block once the buffers are full and
// fail after 20 s; the peer is dropped.
func TestPeerWriteTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var writeErr error
		big := make([]byte, 100_000)
		h := startPeer(t, []Protocol{{Name: "a", Version: 1, Length: 5, Run: func(_ *Peer, rw MsgReadWriter) error {
			for {
				if writeErr = rw.WriteMsg(NewMsg(1, big)); writeErr != nil {
					return writeErr
				}
			}
		}}}, testCaps, nil)
		start := time.Now()
		r := h.wait()
		if !errors.Is(r.err, os.ErrDeadlineExceeded) {
			t.Fatalf("peer ended with %v", r.err)
		}
		if got := time.Since(start); got < frameWriteTimeout-deadlineSlack || got > frameWriteTimeout {
			t.Fatalf("ended after %v", got)
		}
		if !errors.Is(writeErr, os.ErrDeadlineExceeded) {
			t.Fatalf("protocol saw %v", writeErr)
		}
	})
}

func TestPeerWriteChecks(t *testing.T) {
	var (
		mu   sync.Mutex
		errs []error
	)
	h := startPeer(t, []Protocol{{Name: "a", Version: 1, Length: 5, Run: func(_ *Peer, rw MsgReadWriter) error {
		mu.Lock()
		errs = append(errs, rw.WriteMsg(NewMsg(5, nil)))                  // beyond Length
		errs = append(errs, rw.WriteMsg(NewMsg(0, make([]byte, 17<<20)))) // beyond the frame limit
		errs = append(errs, rw.WriteMsg(NewMsg(4, []byte{0xc0})))         // fine
		mu.Unlock()
		_, err := rw.ReadMsg()
		return err
	}}}, testCaps, nil)
	h.expect(16 + 4)
	mu.Lock()
	defer mu.Unlock()
	if !errors.Is(errs[0], ErrInvalidMsgCode) || !errors.Is(errs[1], ErrMsgTooLarge) || errs[2] != nil {
		t.Fatalf("write errors: %v", errs)
	}
}

func TestPeerMsgEvents(t *testing.T) {
	var feed Feed[*PeerEvent]
	ch := make(chan *PeerEvent, 10)
	sub := feed.Subscribe(ch)
	defer sub.Unsubscribe()
	h := startPeer(t, []Protocol{echoProto("a", 5)}, testCaps, &feed)
	h.send(18, []byte{0xc1, 0x01})
	h.expect(18)
	for _, want := range []PeerEventType{PeerEventTypeMsgRecv, PeerEventTypeMsgSend} {
		ev := <-ch
		if ev.Type != want || ev.Protocol != "a" || *ev.MsgCode != 2 || *ev.MsgSize != 2 || ev.Peer != h.peer.ID() {
			t.Fatalf("event %+v, want %s of code 2", ev, want)
		}
	}
}

func TestPeerInfo(t *testing.T) {
	proto := echoProto("a", 5)
	proto.PeerInfo = func(id enode.ID) any { return map[string]int{"height": 7} }
	h := startPeer(t, []Protocol{proto, echoProto("b", 3)}, testCaps, nil)
	info := h.peer.Info()
	if info.Name != "remote" || len(info.Caps) != 2 || info.Caps[0] != "a/1" || !info.Network.Inbound || info.Network.Trusted {
		t.Fatalf("info %+v", info)
	}
	if info.Network.RemoteAddress != "10.0.0.2:30303" || info.Protocols["b"] != "unknown" {
		t.Fatalf("info %+v", info)
	}
	if m, ok := info.Protocols["a"].(map[string]int); !ok || m["height"] != 7 {
		t.Fatalf("protocol info %v", info.Protocols["a"])
	}
}

// Writers racing for the connection share flushes; every message arrives.
func TestPeerConcurrentWrites(t *testing.T) {
	const writers, each = 8, 50
	h := startPeer(t, []Protocol{{Name: "a", Version: 1, Length: 5, Run: func(_ *Peer, rw MsgReadWriter) error {
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if err := SendItems(rw, 1, uint(w), uint(i)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		_, err := rw.ReadMsg()
		return err
	}}}, testCaps, nil)
	next := make([]uint, writers)
	for range writers * each {
		var v struct{ W, I uint }
		data := h.expect(17)
		if err := NewMsg(17, data).Decode(&v); err != nil {
			t.Fatal(err)
		}
		if v.I != next[v.W] {
			t.Fatalf("writer %d: message %d arrived before %d", v.W, v.I, next[v.W])
		}
		next[v.W]++
	}
}

// Every connected peer holds a Peer for its lifetime; this keeps it in the
// 352-byte size class on 64-bit platforms (see the field order in Peer).
func TestPeerSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes checked on 64-bit platforms")
	}
	if n := unsafe.Sizeof(Peer{}); n > 352 {
		t.Fatalf("Peer is %d bytes, budget 352", n)
	}
}

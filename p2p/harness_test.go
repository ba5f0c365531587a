package p2p

import (
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/netutil/memnet"
	"github.com/trellis-p2p/trellis/rlpx"
)

// testLogger discards logs: tests assert behaviour, not log lines.
var testLogger = slog.New(slog.DiscardHandler)

func newKey(t testing.TB) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rlpxPipe returns two ends of an RLPx session over an in-memory pipe.
func rlpxPipe(t testing.TB, localKey, remoteKey *crypto.PrivateKey) (lfd net.Conn, local *rlpx.Conn, rfd net.Conn, remote *rlpx.Conn) {
	t.Helper()
	lfd, rfd = memnet.Pipe(
		net.TCPAddrFromAddrPort(netip.MustParseAddrPort("10.0.0.1:30303")),
		net.TCPAddrFromAddrPort(netip.MustParseAddrPort("10.0.0.2:30303")), 0)
	local = rlpx.NewConn(lfd, nil)
	remote = rlpx.NewConn(rfd, localKey.PubKey())
	errc := make(chan error, 1)
	go func() {
		_, err := remote.Handshake(remoteKey)
		errc <- err
	}()
	if _, err := local.Handshake(localKey); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return lfd, local, rfd, remote
}

// peerHarness runs a Peer against a scripted remote end.
type peerHarness struct {
	t       testing.TB
	peer    *Peer
	rfd     net.Conn
	remote  *rlpx.Conn
	done    chan peerResult
	metrics *CounterMetrics
}

type peerResult struct {
	remoteRequested bool
	err             error
}

func startPeer(t testing.TB, protos []Protocol, remoteCaps []Cap, events *Feed[*PeerEvent]) *peerHarness {
	t.Helper()
	lkey, rkey := newKey(t), newKey(t)
	lfd, local, rfd, remote := rlpxPipe(t, lkey, rkey)
	node := enode.NewV4(rkey.PubKey(), netip.MustParseAddr("10.0.0.2"), 30303, 30303)
	h := &hello{Version: 5, Name: "remote", Caps: remoteCaps, ID: crypto.MarshalPubkey(rkey.PubKey())[1:]}
	m := NewCounterMetrics()
	p := newPeer(lfd, local, node.ID(), node, rkey.PubKey(), h, inboundConn, protos, testLogger, &peerHooks{metrics: m, events: events})
	ph := &peerHarness{t: t, peer: p, rfd: rfd, remote: remote, done: make(chan peerResult, 1), metrics: m}
	go func() {
		rr, err := p.run()
		ph.done <- peerResult{rr, err}
	}()
	t.Cleanup(func() {
		rfd.Close()
		p.Disconnect(DiscRequested)
		<-ph.done
		ph.done <- peerResult{}
	})
	return ph
}

// send writes a message from the remote end.
func (h *peerHarness) send(code uint64, data []byte) {
	h.t.Helper()
	if _, err := h.remote.WriteMsg(code, data); err != nil {
		h.t.Fatalf("remote write: %v", err)
	}
}

// expect reads the next message at the remote end and checks its code.
func (h *peerHarness) expect(code uint64) []byte {
	h.t.Helper()
	c, data, _, err := h.remote.ReadMsg()
	if err != nil {
		h.t.Fatalf("remote read (want code %d): %v", code, err)
	}
	if c != code {
		h.t.Fatalf("remote got code %d (%x), want %d", c, data, code)
	}
	return append([]byte(nil), data...)
}

// expectDisc reads until a Disconnect and checks its reason.
func (h *peerHarness) expectDisc(want DiscReason) {
	h.t.Helper()
	for {
		c, data, _, err := h.remote.ReadMsg()
		if err != nil {
			h.t.Fatalf("remote read (want disconnect %v): %v", want, err)
		}
		if c == pingMsg || c == pongMsg {
			continue
		}
		if c != discMsg {
			h.t.Fatalf("remote got code %d, want disconnect", c)
		}
		if r, _ := decodeDisconnect(data); r != want {
			h.t.Fatalf("disconnect reason %v, want %v", r, want)
		}
		return
	}
}

// wait returns how the peer ended, failing after a minute (of fake time in
// a synctest bubble).
func (h *peerHarness) wait() peerResult {
	h.t.Helper()
	select {
	case r := <-h.done:
		h.done <- r
		return r
	case <-time.After(time.Minute):
		h.t.Fatal("peer did not end")
		return peerResult{}
	}
}

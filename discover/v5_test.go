package discover

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// listenV5 starts a discv5 listener with key i at addr on the test network.
func (tn *testNet) listenV5(i uint64, addr string, cfg Config) *UDPv5 {
	tn.t.Helper()
	conn, ln := tn.socket(i, addr, &cfg)
	l, err := ListenV5(conn, ln, cfg)
	if err != nil {
		conn.Close()
		tn.t.Fatal(err)
	}
	tn.t.Cleanup(l.Close)
	return l
}

func TestV5PingBothWays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		a := tn.listenV5(1, "10.0.0.1:30303", Config{})
		b := tn.listenV5(2, "10.0.0.2:30303", Config{})
		ctx := context.Background()

		pong, err := a.Ping(ctx, b.Self())
		if err != nil {
			t.Fatal("a pings b:", err)
		}
		if pong.ENRSeq != b.Self().Seq() {
			t.Errorf("pong enr-seq %d, want %d", pong.ENRSeq, b.Self().Seq())
		}
		if pong.ToIP != netip.MustParseAddr("10.0.0.1") || pong.ToPort != 30303 {
			t.Errorf("pong says we are %v:%d, want 10.0.0.1:30303", pong.ToIP, pong.ToPort)
		}
		// The handshake made one session on each side; b pinging a uses it.
		if _, err := b.Ping(ctx, a.Self()); err != nil {
			t.Fatal("b pings a:", err)
		}
		sa, sb := a.Stats(), b.Stats()
		if sa.PacketsOut["HANDSHAKE/v5"] != 1 || sb.PacketsOut["WHOAREYOU/v5"] != 1 {
			t.Errorf("want one handshake a→b; a out %v, b out %v", sa.PacketsOut, sb.PacketsOut)
		}
		if sb.PacketsOut["HANDSHAKE/v5"] != 0 || sa.PacketsOut["WHOAREYOU/v5"] != 0 {
			t.Errorf("b pinging a started a second handshake; a out %v, b out %v", sa.PacketsOut, sb.PacketsOut)
		}
		if sa.PacketsIn["PONG/v5"] != 1 || sa.PacketsIn["PING/v5"] != 1 || sa.BytesIn == 0 || sa.BytesOut == 0 {
			t.Errorf("a stats %+v", sa)
		}
	})
}

func TestV5PingTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		a := tn.listenV5(1, "10.0.0.1:30303", Config{})
		dead := enode.NewV4(cachedKey(9).PubKey(), netip.MustParseAddr("10.0.0.9"), 0, 30303)
		start := time.Now()
		_, err := a.Ping(context.Background(), dead)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d != respTimeoutV5 {
			t.Errorf("timed out after %v, want %v", d, respTimeoutV5)
		}
	})
}

// Resolve finds a node's newer record by asking it (FINDNODE at distance
// 0); the record's sequence number goes up with every change.
func TestV5Resolve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		a := tn.listenV5(1, "10.0.0.1:30303", Config{})
		b := tn.listenV5(2, "10.0.0.2:30303", Config{})
		old := b.Self()
		b.LocalNode().Set(enr.TCP(30303))
		got := a.Resolve(context.Background(), old)
		if got.Seq() != b.Self().Seq() || got.Seq() <= old.Seq() || got.TCP() != 30303 {
			t.Fatalf("Resolve returned seq %d tcp %d, want seq %d tcp 30303", got.Seq(), got.TCP(), b.Self().Seq())
		}
		// A dead node resolves to itself.
		dead := enode.NewV4(cachedKey(9).PubKey(), netip.MustParseAddr("10.0.0.9"), 0, 30303)
		if got := a.Resolve(context.Background(), dead); got != dead {
			t.Fatalf("Resolve of a dead node returned %v", got)
		}
	})
}

var _ = v5wire.MaxPacketSize

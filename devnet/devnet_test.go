package devnet

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/gossip"
)

// TestSimConverges runs a simulated devnet in fake time: the full stack
// (discv4 with real signatures, RLPx, gossip) on in-memory networks. The
// graph must connect and every counted message reach every node.
func TestSimConverges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, err := Start(context.Background(), Config{Nodes: 12, Sim: true, GossipInterval: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		time.Sleep(40 * time.Second)
		live := d.Stats()
		if live.Nodes != 12 || live.Elapsed < 39*time.Second {
			t.Errorf("live stats %+v", live)
		}
		r := d.Finish(context.Background())
		t.Logf("report: %+v", r)
		if !r.GraphConnected || r.SecondsToConnected == nil || r.LargestComponent != 12 || r.NodesWithPeers != 12 {
			t.Fatalf("graph not connected: %+v", r)
		}
		if r.PeersMin < 1 || r.PeersMax > DefaultMaxPeers {
			t.Errorf("peer counts %d..%d outside 1..%d", r.PeersMin, r.PeersMax, DefaultMaxPeers)
		}
		if r.GossipCounted == 0 || r.GossipDeliveredFraction != 1 {
			t.Fatalf("gossip: %d counted, fraction %v", r.GossipCounted, r.GossipDeliveredFraction)
		}
		if r.GossipCountedDeliveries != r.GossipCounted*11 {
			t.Errorf("%d counted deliveries for %d messages", r.GossipCountedDeliveries, r.GossipCounted)
		}
		// Publishing waits for the graph to connect, so every message counts.
		if r.GossipSent != r.GossipCounted {
			t.Errorf("%d messages published, %d counted", r.GossipSent, r.GossipCounted)
		}
		wantSent := uint64((40 - *r.SecondsToConnected) / 2 * 12)
		if r.GossipSent+12 < wantSent {
			t.Errorf("only %d messages published, want about %d", r.GossipSent, wantSent)
		}
		if !r.Sim {
			t.Error("report does not say sim")
		}
	})
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{Nodes: 1}, {Nodes: -3}, {MaxPeers: -1}} {
		if _, err := Start(context.Background(), cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("Start(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

func TestStartCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Start(ctx, Config{Nodes: 3, Sim: true}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestLargestComponent(t *testing.T) {
	tests := []struct {
		name  string
		edges [][2]int
		n     int
		want  int
	}{
		{"no edges", nil, 4, 1},
		{"line", [][2]int{{0, 1}, {1, 2}, {2, 3}}, 4, 4},
		{"two parts", [][2]int{{0, 1}, {2, 3}, {3, 4}}, 5, 3},
		{"one isolated", [][2]int{{0, 1}, {1, 2}, {2, 0}}, 4, 3},
	}
	for _, tt := range tests {
		adj := make([][]int, tt.n)
		for _, e := range tt.edges {
			adj[e[0]] = append(adj[e[0]], e[1])
			adj[e[1]] = append(adj[e[1]], e[0])
		}
		if got := largestComponent(adj); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestSpreadAndPercentile(t *testing.T) {
	if lo, med, hi := spread([]int{5, 1, 3}); lo != 1 || med != 3 || hi != 5 {
		t.Errorf("odd spread: %d %g %d", lo, med, hi)
	}
	if lo, med, hi := spread([]int{4, 1, 2, 10}); lo != 1 || med != 3 || hi != 10 {
		t.Errorf("even spread: %d %g %d", lo, med, hi)
	}
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i))
	}
	if p := percentile(s, 0.5); p != 50 {
		t.Errorf("p50 = %d", p)
	}
	if p := percentile(s, 0.99); p != 99 {
		t.Errorf("p99 = %d", p)
	}
	if p := percentile(s[:1], 0.99); p != 1 {
		t.Errorf("p99 of one = %d", p)
	}
}

// The tracker counts only messages published after connection, and its
// fraction is deliveries over counted × (nodes−1).
func TestTracker(t *testing.T) {
	tr := newTracker(3)
	now := time.Unix(1000, 0)
	pub := func(seq uint64, counted bool) gossip.Message {
		var m gossip.Message
		tr.publish(0, counted, func() (gossip.Message, error) {
			var err error
			m, err = gossip.NewMessage(enode.ID{1}, seq, now, nil)
			return m, err
		})
		return m
	}
	early := pub(1, false)
	m := pub(2, true)
	deliver := func(m gossip.Message, after time.Duration) {
		tr.deliver(gossip.Delivery{Message: m, Received: now.Add(after)})
	}
	deliver(early, time.Millisecond) // not counted
	deliver(m, 2*time.Millisecond)
	if tr.complete() {
		t.Fatal("complete with one of two deliveries")
	}
	s := tr.stats(true)
	if s.Sent != 2 || s.Counted != 1 || s.Delivered != 2 || s.Fraction != 0.5 {
		t.Fatalf("stats %+v", s)
	}
	deliver(m, 4*time.Millisecond)
	s = tr.stats(true)
	if !tr.complete() || s.Fraction != 1 || s.P50 != 2*time.Millisecond || s.P99 != 4*time.Millisecond {
		t.Fatalf("stats %+v, complete %v", s, tr.complete())
	}
}

// TestNodeRecords checks the accessors tools use to reach the network.
func TestNodeRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, err := Start(context.Background(), Config{Nodes: 4, Sim: true, GossipInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		seen := map[enode.ID]bool{}
		for i := range d.Nodes() {
			n := d.Node(i)
			if seen[n.ID()] {
				t.Errorf("node %d: ID %v twice", i, n.ID())
			}
			seen[n.ID()] = true
			tcp, okTCP := n.TCPEndpoint()
			udp, okUDP := n.UDPEndpoint()
			if !okTCP || !okUDP || tcp.Addr() != loopback || udp.Addr() != loopback || tcp.Port() == 0 || udp.Port() == 0 {
				t.Errorf("node %d: endpoints %v %v", i, tcp, udp)
			}
			if d.index[n.ID()] != i {
				t.Errorf("node %d: index %d", i, d.index[n.ID()])
			}
		}
		if d.Bootnode().ID() != d.Node(0).ID() {
			t.Error("Bootnode is not node 0")
		}
	})
}

// TestSimConvergesV5 runs discv5 beside discv4 and checks that each node's
// discv5 table fills from the bootnode too.
func TestSimConvergesV5(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, err := Start(context.Background(), Config{Nodes: 8, Sim: true, DiscoveryV5: true, GossipInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		time.Sleep(30 * time.Second)
		for i, n := range d.nodes {
			if n.disc5 == nil {
				t.Fatalf("node %d has no discv5", i)
			}
			if got := n.disc5.Stats().TableNodes; got < 3 {
				t.Errorf("node %d: %d nodes in its discv5 table", i, got)
			}
		}
		r := d.Finish(context.Background())
		if !r.GraphConnected {
			t.Errorf("graph not connected: %+v", r)
		}
	})
}

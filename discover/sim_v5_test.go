package discover

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/discover/internal/v5sim"
	"github.com/trellis-p2p/trellis/discover/memudp"
	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enode"
)

// The discv5 simulation runs the real protocol (sessions, handshakes with
// their ECDH and ID signatures, AES-GCM, calls, the table, the lookups)
// on the in-memory network in fake time, like the discv4 one in
// sim_test.go. Two things are replaced to make a thousand nodes affordable
// on two cores, because secp256k1 dominates otherwise (about a millisecond
// of point multiplications per handshake, and a signature check per
// record):
//
//   - handshakes use v5wire's null cryptography (v5wire/null.go, selected
//     through the internal package v5sim): no ECDH, no ID signature, no
//     record signature check, but the same packets, key derivation from a
//     secret, AES-GCM sessions and everything after;
//   - records in NODES answers are accepted without checking their
//     signature (simSchemes); the node ID is still derived from the key.

type simNodeV5 struct {
	l    *UDPv5
	conn *memudp.Conn
}

func startSimNodeV5(t testing.TB, net *memudp.Network, i int, cfg Config) simNodeV5 {
	t.Helper()
	addr := netip.AddrPortFrom(simIP(i), 30303)
	conn, err := net.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	key := cachedKey(uint64(2000000 + i))
	cfg.PrivateKey = key
	cfg.ValidSchemes = simSchemes
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	ln := enode.NewLocalNode(nil, key)
	ln.SetFallbackIP(addr.Addr())
	ln.SetFallbackUDP(int(addr.Port()))
	cfg, err = cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	l, err := listenV5(conn, ln, cfg, func(c *v5wire.Codec) { v5sim.NullCrypto(c) })
	if err != nil {
		t.Fatal(err)
	}
	return simNodeV5{l, conn}
}

// TestSimulationV5 is TestSimulation on discv5: 1000 nodes join over 30
// seconds through one bootnode; after two minutes every table must be
// full enough and live, and lookups for random targets must return the
// true 16 closest nodes. TRELLIS_SIMV5_NODES changes the size.
func TestSimulationV5(t *testing.T) {
	if testing.Short() {
		t.Skip("1000-node simulation skipped in -short mode")
	}
	nodes := 1000
	if s := os.Getenv("TRELLIS_SIMV5_NODES"); s != "" {
		nodes, _ = strconv.Atoi(s)
	}
	runSimulationV5(t, simParams{nodes: nodes, lookups: nodes})
}

func runSimulationV5(t *testing.T, p simParams) {
	var (
		nodes   = p.nodes
		lookups = p.lookups
	)
	const (
		joinPeriod = 30 * time.Second
		settle     = 2 * time.Minute
		batch      = 50
		minLive    = 100
		// The discv4 simulation's goals. A discv5 FINDNODE returns
		// buckets by distance from the responder, not the nodes closest
		// to the target; the lookup reaches the discv4 accuracy by the
		// distances it asks (lookupDistances) and by asking the closest
		// node found for the boundary bucket (lookup.askBoundary).
		minExact  = 0.95
		minRecall = 0.99
	)
	wallStart := time.Now()
	var cpuStart, cpuEnd float64
	cpuStart = processCPU()
	synctest.Test(t, func(t *testing.T) {
		net := memudp.New()
		net.Latency = 10 * time.Millisecond
		sim := make([]simNodeV5, nodes)
		defer func() {
			for _, n := range sim {
				if n.l != nil {
					n.l.Close()
				}
			}
		}()
		start := time.Now()
		sim[0] = startSimNodeV5(t, net, 0, Config{})
		boot := []*enode.Node{sim[0].l.Self()}
		for i := 1; i < nodes; i++ {
			time.Sleep(joinPeriod / time.Duration(nodes))
			sim[i] = startSimNodeV5(t, net, i, Config{Bootnodes: boot})
		}
		time.Sleep(settle - time.Since(start))
		joinStats := net.Stats()

		ids := make([]enode.ID, nodes)
		for i, n := range sim {
			ids[i] = n.l.Self().ID()
		}
		var live, capacity, entries []int
		below := 0
		var handshakes uint64
		for i, n := range sim {
			lv, en := countEntries(n.l.TableBuckets())
			entries = append(entries, en)
			c := tableCapacity(n.l.tab, ids, i)
			live = append(live, lv)
			capacity = append(capacity, c)
			if lv < min(minLive, c) {
				below++
			}
			handshakes += n.l.Stats().PacketsOut["HANDSHAKE/v5"]
		}
		t.Logf("after %v: live entries per table min/median/max %d/%d/%d; capacity min/median/max %d/%d/%d; tables below min(%d, capacity): %d",
			settle, slices.Min(live), median(live), slices.Max(live),
			slices.Min(capacity), median(capacity), slices.Max(capacity), minLive, below)
		t.Logf("entries per table min/median/max %d/%d/%d", slices.Min(entries), median(entries), slices.Max(entries))
		t.Logf("packets in the first %v: %d sent, %d dropped (%.0f per node); handshakes %d (%.0f per node)",
			settle, joinStats.Sent, joinStats.Dropped, float64(joinStats.Sent)/float64(nodes), handshakes, float64(handshakes)/float64(nodes))
		if below > 0 {
			t.Errorf("%d tables hold fewer than min(%d, capacity) live nodes", below, minLive)
		}

		exact, trueFound := 0, 0
		var queries, packets []int
		for done := 0; done < lookups; done += batch {
			type result struct {
				from    int
				target  enode.ID
				found   []*enode.Node
				queries int
				packets int
				seen    map[enode.ID]bool
			}
			results := make(chan result, batch)
			for j := 0; j < batch; j++ {
				from := (done + j) * 7919 % nodes
				go func() {
					var target enode.ID
					rand.Read(target[:])
					n := sim[from]
					s0, r0 := n.conn.Counts()
					lk := n.l.newLookup(context.Background(), target)
					found := lk.run()
					s1, r1 := n.conn.Counts()
					results <- result{from, target, found, lk.queries, int(s1 - s0 + r1 - r0), lk.seen}
				}()
			}
			for range batch {
				r := <-results
				want := trueClosest(ids, r.from, r.target, bucketSize)
				hit, unseen := 0, 0
				for _, id := range want {
					if slices.ContainsFunc(r.found, func(n *enode.Node) bool { return n.ID() == id }) {
						hit++
					} else if !r.seen[id] {
						unseen++
					}
				}
				trueFound += hit
				if sameIDs(r.found, want) {
					exact++
				} else if testing.Verbose() && lookups-exact < 5 {
					t.Logf("inexact lookup: %d results, %d of the true %d, %d of the missing never seen; target distance of the 16th %d",
						len(r.found), hit, len(want), unseen, enode.LogDist(r.target, want[len(want)-1]))
				}
				queries = append(queries, r.queries)
				packets = append(packets, r.packets)
			}
		}
		var seqPackets []int
		for j := range 100 {
			var target enode.ID
			rand.Read(target[:])
			n := sim[j*7919%nodes]
			s0, r0 := n.conn.Counts()
			n.l.newLookup(context.Background(), target).run()
			s1, r1 := n.conn.Counts()
			seqPackets = append(seqPackets, int(s1-s0+r1-r0))
		}
		t.Logf("100 lookups run one at a time: packets at the looker's socket per lookup mean %.1f median %d max %d",
			mean(seqPackets), median(seqPackets), slices.Max(seqPackets))
		ratio := float64(exact) / float64(lookups)
		recall := float64(trueFound) / float64(lookups*bucketSize)
		t.Logf("%d lookups: %d (%.1f%%) returned the true %d closest, %.2f%% of the true closest found; findnode queries per lookup mean %.1f median %d max %d; packets per lookup (looker's socket, sent+received) mean %.1f median %d",
			lookups, exact, 100*ratio, bucketSize, 100*recall, mean(queries), median(queries), slices.Max(queries), mean(packets), median(packets))
		if ratio < minExact {
			t.Errorf("only %.1f%% of lookups exact, want >= %.0f%%", 100*ratio, 100*minExact)
		}
		if recall < minRecall {
			t.Errorf("only %.2f%% of the true closest found, want >= %.0f%%", 100*recall, 100*minRecall)
		}
		total := net.Stats()
		t.Logf("network total: %d packets sent (%.0f per node), %d dropped; simulated time %v",
			total.Sent, float64(total.Sent)/float64(nodes), total.Dropped, time.Since(start).Round(time.Second))
	})
	cpuEnd = processCPU()
	t.Logf("wall time %v, CPU time %.1fs (GOMAXPROCS %d)", time.Since(wallStart).Round(time.Millisecond), cpuEnd-cpuStart, runtime.GOMAXPROCS(0))
}

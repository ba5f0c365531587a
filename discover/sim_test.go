package discover

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/discover/memudp"
	"github.com/trellis-p2p/trellis/discover/v4wire"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// The simulation runs the real protocol path (packet encoding, hashing and
// decoding, the reply matching, the table, the lookups) on an in-memory
// network in fake time. Two things are replaced to make a thousand nodes
// affordable on two cores, because secp256k1 dominates otherwise (a
// signature and a recovery per packet, a record verification per ENR
// response):
//
//   - packets use v4wire's null identity scheme: the 65-byte signature field
//     carries the sender's public key, so "recovery" is a copy. Hash checks,
//     RLP and everything after decoding are unchanged.
//   - records in ENR responses are accepted without checking their
//     signature (simSchemes); the node ID is still derived from the key.

// nullCodec encodes with v4wire's null identity scheme.
type nullCodec struct{ self v4wire.Pubkey }

func (c nullCodec) encode(p v4wire.Packet) ([]byte, [v4wire.HashSize]byte, error) {
	return v4wire.EncodeNull(c.self, p)
}

func (nullCodec) decode(b []byte) (v4wire.Packet, v4wire.Pubkey, [v4wire.HashSize]byte, error) {
	return v4wire.DecodeNull(b)
}

// trustV4 is the v4 identity scheme without the signature check.
type trustV4 struct{}

func (trustV4) Verify(*enr.Record, []byte) error { return nil }
func (trustV4) NodeAddr(r *enr.Record) []byte    { return enr.V4ID{}.NodeAddr(r) }

var simSchemes = enr.SchemeMap{"v4": trustV4{}}

// simIP gives node i an address of its own /24, outside the special and
// LAN ranges, so that the table's IP limits apply as on the Internet.
func simIP(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{11, byte(i >> 8), byte(i), 1})
}

type simNode struct {
	l    *UDPv4
	conn *memudp.Conn
}

// startSimNode starts node i with the null codec.
func startSimNode(t testing.TB, net *memudp.Network, i int, cfg Config) simNode {
	t.Helper()
	addr := netip.AddrPortFrom(simIP(i), 30303)
	conn, err := net.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	key := cachedKey(uint64(1000000 + i))
	cfg.PrivateKey = key
	cfg.ValidSchemes = simSchemes
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg, err = cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	ln := enode.NewLocalNode(nil, key)
	ln.SetFallbackIP(addr.Addr())
	ln.SetFallbackUDP(int(addr.Port()))
	l, err := listenV4(conn, ln, cfg, nullCodec{v4wire.EncodePubkey(key.PubKey())})
	if err != nil {
		t.Fatal(err)
	}
	return simNode{l, conn}
}

// TestSimulation runs 1000 nodes joining over 30 seconds through one
// bootnode. After two minutes every table must be full enough and live,
// and lookups for random targets must return the true 16 closest nodes.
func TestSimulation(t *testing.T) {
	if testing.Short() {
		t.Skip("1000-node simulation skipped in -short mode")
	}
	runSimulation(t, simParams{nodes: 1000, lookups: 1000})
}

// countEntries returns how many of a table's entries are live, and how
// many there are.
func countEntries(buckets [][]BucketNode) (live, entries int) {
	for _, b := range buckets {
		for _, e := range b {
			entries++
			if e.Live {
				live++
			}
		}
	}
	return live, entries
}

type simParams struct {
	nodes, lookups int
}

func runSimulation(t *testing.T, p simParams) {
	var (
		nodes   = p.nodes
		lookups = p.lookups
	)
	const (
		joinPeriod = 30 * time.Second
		settle     = 2 * time.Minute
		batch      = 50 // lookups run concurrently, from different nodes
		minLive    = 100
		minExact   = 0.95
	)
	wallStart := time.Now()
	synctest.Test(t, func(t *testing.T) {
		net := memudp.New()
		net.Latency = 10 * time.Millisecond
		sim := make([]simNode, nodes)
		defer func() {
			for _, n := range sim {
				if n.l != nil {
					n.l.Close()
				}
			}
		}()
		start := time.Now()
		sim[0] = startSimNode(t, net, 0, Config{})
		boot := []*enode.Node{sim[0].l.Self()}
		for i := 1; i < nodes; i++ {
			time.Sleep(joinPeriod / time.Duration(nodes))
			sim[i] = startSimNode(t, net, i, Config{Bootnodes: boot})
		}
		time.Sleep(settle - time.Since(start))
		joinStats := net.Stats()

		// Tables: live entries, against what each table could hold at
		// most given the IDs in the network (the sum over buckets of
		// min(16, nodes at those distances)).
		ids := make([]enode.ID, nodes)
		for i, n := range sim {
			ids[i] = n.l.Self().ID()
		}
		var live, capacity, entries []int
		var missing [nBuckets]int
		below := 0
		for i, n := range sim {
			lv, en := countEntries(n.l.TableBuckets())
			entries = append(entries, en)
			c := tableCapacity(n.l.tab, ids, i)
			if testing.Verbose() {
				var counts [nBuckets]int
				for j, id := range ids {
					if j != i {
						counts[n.l.tab.bucket(id).index]++
					}
				}
				for bi, b := range n.l.TableBuckets() {
					missing[bi] += min(counts[bi], bucketSize) - len(b)
				}
			}
			live = append(live, lv)
			capacity = append(capacity, c)
			if lv < min(minLive, c) {
				below++
			}
		}
		t.Logf("after %v: live entries per table min/median/max %d/%d/%d; capacity min/median/max %d/%d/%d; tables below min(%d, capacity): %d",
			settle, slices.Min(live), median(live), slices.Max(live),
			slices.Min(capacity), median(capacity), slices.Max(capacity), minLive, below)
		t.Logf("entries per table min/median/max %d/%d/%d", slices.Min(entries), median(entries), slices.Max(entries))
		if testing.Verbose() {
			t.Logf("entries missing per bucket (bucket 0 = distances up to 240), summed over tables: %v", missing)
		}
		under100 := 0
		for _, c := range capacity {
			if c < minLive {
				under100++
			}
		}
		t.Logf("tables whose capacity is below %d (IDs leave too few nodes in the close buckets): %d", minLive, under100)
		t.Logf("packets in the first %v: %d sent, %d dropped", settle, joinStats.Sent, joinStats.Dropped)
		if below > 0 {
			t.Errorf("%d tables hold fewer than min(%d, capacity) live nodes", below, minLive)
		}

		// Lookups from random nodes for random targets.
		exact := 0
		var queries, packets []int
		for done := 0; done < lookups; done += batch {
			type result struct {
				from    int
				target  enode.ID
				found   []*enode.Node
				queries int
				packets int
			}
			results := make(chan result, batch)
			for j := 0; j < batch; j++ {
				from := (done + j) * 7919 % nodes
				go func() {
					var key v4wire.Pubkey
					rand.Read(key[:])
					n := sim[from]
					s0, r0 := n.conn.Counts()
					lk := n.l.newLookup(context.Background(), key)
					found := lk.run()
					s1, r1 := n.conn.Counts()
					results <- result{from, key.ID(), found, lk.queries, int(s1 - s0 + r1 - r0)}
				}()
			}
			for range batch {
				r := <-results
				want := trueClosest(ids, r.from, r.target, bucketSize)
				if sameIDs(r.found, want) {
					exact++
				} else if testing.Verbose() && exact < 5 {
					hit := 0
					for _, n := range r.found {
						if slices.Contains(want, n.ID()) {
							hit++
						}
					}
					t.Logf("inexact lookup: %d results, %d of the true %d", len(r.found), hit, len(want))
				}
				queries = append(queries, r.queries)
				packets = append(packets, r.packets)
			}
		}
		// Packets per lookup, counted at the looker's socket, from
		// lookups run one at a time so that the socket sees little else.
		var seqPackets []int
		for j := range 100 {
			var key v4wire.Pubkey
			rand.Read(key[:])
			n := sim[j*7919%nodes]
			s0, r0 := n.conn.Counts()
			n.l.newLookup(context.Background(), key).run()
			s1, r1 := n.conn.Counts()
			seqPackets = append(seqPackets, int(s1-s0+r1-r0))
		}
		t.Logf("100 lookups run one at a time: packets at the looker's socket per lookup mean %.1f median %d max %d",
			mean(seqPackets), median(seqPackets), slices.Max(seqPackets))

		ratio := float64(exact) / float64(lookups)
		t.Logf("%d lookups: %d (%.1f%%) returned the true %d closest; findnode queries per lookup mean %.1f median %d max %d; packets per lookup (looker's socket, sent+received) mean %.1f median %d",
			lookups, exact, 100*ratio, bucketSize, mean(queries), median(queries), slices.Max(queries), mean(packets), median(packets))
		if ratio < minExact {
			t.Errorf("only %.1f%% of lookups exact, want >= %.0f%%", 100*ratio, 100*minExact)
		}
		total := net.Stats()
		t.Logf("network total: %d packets sent, %d dropped; simulated time %v", total.Sent, total.Dropped, time.Since(start).Round(time.Second))
	})
	t.Logf("wall time %v", time.Since(wallStart).Round(time.Millisecond))
}

// tableCapacity is the most entries node i's table can hold in this
// network: min(bucketSize, count) per bucket.
func tableCapacity(tab *table, ids []enode.ID, i int) int {
	var counts [nBuckets]int
	for j, id := range ids {
		if j != i {
			counts[tab.bucket(id).index]++
		}
	}
	c := 0
	for _, n := range counts {
		c += min(n, bucketSize)
	}
	return c
}

// trueClosest returns the k IDs closest to target, leaving out the node
// that runs the lookup (a lookup never returns its own node).
func trueClosest(ids []enode.ID, self int, target enode.ID, k int) []enode.ID {
	var c []enode.ID
	for i, id := range ids {
		if i != self {
			c = append(c, id)
		}
	}
	sort.Slice(c, func(a, b int) bool { return enode.DistCmp(target, c[a], c[b]) < 0 })
	return c[:k]
}

func sameIDs(found []*enode.Node, want []enode.ID) bool {
	if len(found) != len(want) {
		return false
	}
	for i, n := range found {
		if n.ID() != want[i] {
			return false
		}
	}
	return true
}

func median(x []int) int {
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}

func mean(x []int) float64 {
	sum := 0
	for _, v := range x {
		sum += v
	}
	return float64(sum) / float64(len(x))
}

var _ = fmt.Sprint

package devnet

import (
	"slices"
	"sync"
	"time"
)

// Stats is a sample of the network.
type Stats struct {
	Elapsed time.Duration // since Start
	Nodes   int

	NodesWithPeers              int
	PeersMin, PeersMax          int
	PeersMedian                 float64
	TableMin, TableMax          int // discv4 table entries (buckets only)
	TableMedian                 float64
	LargestComponent            int // nodes in the largest connected part of the peer graph
	Connected                   bool
	ConnectedAfter              time.Duration // when the graph first connected; -1: not yet
	GossipSent, GossipDelivered uint64        // every message and delivery
	GossipCounted               uint64        // messages published after ConnectedAfter
	GossipCountedDeliveries     uint64
	GossipDeliveredFraction     float64 // GossipCountedDeliveries / (GossipCounted × (Nodes−1))
	GossipQueueDrops            uint64
}

// monitor samples the network until stopLoops.
func (d *Devnet) monitor() {
	defer d.loops.Done()
	tick := time.NewTicker(d.cfg.SampleInterval)
	defer tick.Stop()
	d.sample()
	for {
		select {
		case <-d.quit:
			return
		case <-tick.C:
			d.sample()
		}
	}
}

// sample measures the nodes and stores the result. Only one goroutine calls
// it at a time: the monitor, or Finish after the monitor stopped.
func (d *Devnet) sample() {
	n := len(d.nodes)
	type nodeSample struct {
		peers      []int // indices of peers
		table      int
		queueDrops uint64
	}
	// The nodes are asked in parallel: each question is a round trip to a
	// loop goroutine (server, table), and on a loaded machine a hundred of
	// them in a row take seconds.
	samples := make([]nodeSample, n)
	var wg sync.WaitGroup
	for i, nd := range d.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &samples[i]
			for _, p := range nd.srv.Peers() {
				if j, ok := d.index[p.ID()]; ok {
					s.peers = append(s.peers, j)
				}
			}
			for _, b := range nd.disc.TableBuckets() {
				s.table += len(b)
			}
			s.queueDrops = nd.gossip.Stats().QueueDrops
		}()
	}
	wg.Wait()
	adj := make([][]int, n)
	peers := make([]int, n)
	tables := make([]int, n)
	var drops uint64
	for i, s := range samples {
		for _, j := range s.peers {
			// A link may be visible from one side only for a moment.
			adj[i] = append(adj[i], j)
			adj[j] = append(adj[j], i)
		}
		peers[i] = len(s.peers)
		tables[i] = s.table
		drops += s.queueDrops
	}
	largest := largestComponent(adj)
	g := d.track.stats(false)

	s := Stats{
		Elapsed:                 time.Since(d.start),
		Nodes:                   n,
		LargestComponent:        largest,
		Connected:               largest == n,
		GossipSent:              g.Sent,
		GossipDelivered:         g.Delivered,
		GossipCounted:           g.Counted,
		GossipCountedDeliveries: g.CountedDeliver,
		GossipDeliveredFraction: g.Fraction,
		GossipQueueDrops:        drops,
	}
	for _, p := range peers {
		if p > 0 {
			s.NodesWithPeers++
		}
	}
	s.PeersMin, s.PeersMedian, s.PeersMax = spread(peers)
	s.TableMin, s.TableMedian, s.TableMax = spread(tables)

	d.mu.Lock()
	defer d.mu.Unlock()
	if s.Connected && d.mu.connectedAfter < 0 {
		d.mu.connectedAfter = s.Elapsed
		close(d.connectedCh)
	}
	s.ConnectedAfter = d.mu.connectedAfter
	d.mu.stats = s
}

// largestComponent returns the size of the largest connected component of
// the undirected graph adj.
func largestComponent(adj [][]int) int {
	seen := make([]bool, len(adj))
	largest := 0
	var stack []int
	for start := range adj {
		if seen[start] {
			continue
		}
		size := 0
		seen[start] = true
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			for _, w := range adj[v] {
				if !seen[w] {
					seen[w] = true
					stack = append(stack, w)
				}
			}
		}
		largest = max(largest, size)
	}
	return largest
}

// spread returns the minimum, median and maximum of xs.
func spread(xs []int) (lo int, median float64, hi int) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		median = float64(s[mid])
	} else {
		median = float64(s[mid-1]+s[mid]) / 2
	}
	return s[0], median, s[len(s)-1]
}

// Report is the summary printed by trellis devnet --json.
//
// gossip_delivered_fraction counts only messages published after the peer
// graph first became connected (gossip_counted of them): deliveries of those
// divided by gossip_counted × (nodes − 1). Messages still propagating when the
// run ends get up to Config.DrainTimeout to arrive, during which nothing new
// is published. Latencies are the delivery times of those messages, measured
// from the origin's timestamp (one clock: one process).
type Report struct {
	Nodes              int      `json:"nodes"`
	Sim                bool     `json:"sim"`
	DurationSeconds    float64  `json:"duration_seconds"`
	NodesWithPeers     int      `json:"nodes_with_peers"`
	PeersMin           int      `json:"peers_min"`
	PeersMedian        float64  `json:"peers_median"`
	PeersMax           int      `json:"peers_max"`
	TableMin           int      `json:"table_min"`
	TableMedian        float64  `json:"table_median"`
	TableMax           int      `json:"table_max"`
	LargestComponent   int      `json:"largest_component"`
	GraphConnected     bool     `json:"graph_connected"`
	SecondsToConnected *float64 `json:"seconds_to_connected"` // null: never connected

	GossipSent              uint64  `json:"gossip_sent"`
	GossipDelivered         uint64  `json:"gossip_delivered"`
	GossipCounted           uint64  `json:"gossip_counted"`
	GossipCountedDeliveries uint64  `json:"gossip_counted_deliveries"`
	GossipDeliveredFraction float64 `json:"gossip_delivered_fraction"`
	GossipQueueDrops        uint64  `json:"gossip_queue_drops"`
	GossipP50ms             float64 `json:"gossip_p50_ms"`
	GossipP99ms             float64 `json:"gossip_p99_ms"`
}

func (d *Devnet) report() Report {
	s := d.Stats()
	g := d.track.stats(true)
	r := Report{
		Nodes:                   s.Nodes,
		Sim:                     d.cfg.Sim,
		DurationSeconds:         s.Elapsed.Seconds(),
		NodesWithPeers:          s.NodesWithPeers,
		PeersMin:                s.PeersMin,
		PeersMedian:             s.PeersMedian,
		PeersMax:                s.PeersMax,
		TableMin:                s.TableMin,
		TableMedian:             s.TableMedian,
		TableMax:                s.TableMax,
		LargestComponent:        s.LargestComponent,
		GraphConnected:          s.Connected,
		GossipSent:              g.Sent,
		GossipDelivered:         g.Delivered,
		GossipCounted:           g.Counted,
		GossipCountedDeliveries: g.CountedDeliver,
		GossipDeliveredFraction: g.Fraction,
		GossipQueueDrops:        s.GossipQueueDrops,
		GossipP50ms:             ms(g.P50),
		GossipP99ms:             ms(g.P99),
	}
	if s.ConnectedAfter >= 0 {
		secs := s.ConnectedAfter.Seconds()
		r.SecondsToConnected = &secs
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

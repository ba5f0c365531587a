package discover

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enode/nodedb"
	"github.com/trellis-p2p/trellis/netutil"
)

// Table parameters (discv4.md "Node Table", "Recursive Lookup"; the bucket
// range, replacement lists, IP limits and seeding follow go-ethereum, whose
// tables the network is made of).
const (
	alpha           = 3  // concurrent queries of a lookup
	bucketSize      = 16 // k: entries per bucket, and results of a lookup
	maxReplacements = 10 // candidates kept per bucket for when an entry dies

	// Only the buckets of the 17 largest distances are kept: in a network of
	// n nodes, a random node has about n/2^(257-d) nodes at distance d, so
	// closer buckets would stay empty for any realistic n. Distances up to
	// bucketMinDistance+1 share bucket 0.
	nBuckets          = 17
	bucketMinDistance = 256 - nBuckets

	// One /24 may hold 2 entries of a bucket and 10 of the table, so that
	// an attacker with one network cannot fill a table (LAN addresses are
	// exempt: a private network needs no such protection).
	bucketIPLimit, bucketSubnet = 2, 24
	tableIPLimit, tableSubnet   = 10, 24

	// Seeds from the node database: up to 30 nodes that answered a ping in
	// the last five days.
	seedCount  = 30
	seedMaxAge = 5 * 24 * time.Hour

	// A node whose findnode requests fail this many times in a row is
	// dropped, unless its bucket is nearly empty.
	maxFindnodeFailures = 5

	// Besides the lookup for the own ID, each refresh runs this many
	// lookups: towards nodes of buckets that are not full, then for random
	// targets.
	refreshLookups = 3
	// When the table has grown since the last refresh, the next comes this
	// soon, then twice as late each time until the normal interval.
	firstGrowingRefresh = 10 * time.Second
)

// transport is what the table needs from a discovery protocol. UDPv4
// implements it, and the discv5 protocol is meant to: the table knows nodes
// and distances, not packets. The table calls these methods from goroutines
// of its own, never from its loop, and cancels ctx when it closes; they
// return promptly after that.
type transport interface {
	// Self returns the local node.
	Self() *enode.Node
	// ping checks that n answers at its endpoint and returns the sequence
	// number of its record as the answer states it (EIP-868 Pong enr-seq,
	// discv5 PONG enr-seq).
	ping(ctx context.Context, n *enode.Node) (seq uint64, err error)
	// requestENR asks n for its current record.
	requestENR(ctx context.Context, n *enode.Node) (*enode.Node, error)
	// lookupNear, lookupAt and lookupRandom walk the network towards a
	// known node (the local node, or an entry of a bucket to fill),
	// towards a random target at log distance d from the own ID (a bucket
	// with no entry to aim at), and towards a random target. The lookups
	// add what they find to the table.
	lookupNear(ctx context.Context, n *enode.Node) []*enode.Node
	lookupAt(ctx context.Context, d int) []*enode.Node
	lookupRandom(ctx context.Context) []*enode.Node
}

// table is the Kademlia table of known nodes (discv4.md "Node Table"): 17
// buckets of up to 16 live entries by log distance from the own ID, each
// with a replacement list. New nodes come from lookups, from nodes that
// contact us, from the node database and from bootnodes; entries are pinged
// continually and dead ones replaced (see revalidation).
//
// Ownership: the loop goroutine owns buckets, ips, nursery, reval, rand and
// the refresh state. Other goroutines post closures to it on ops (post, or
// call to wait for the result). The loop never blocks on the network: it
// starts goroutines (tracked by wg) for pings, record requests and refresh
// lookups, which post their results back.
type table struct {
	net    transport
	db     *nodedb.DB
	cfg    Config
	log    *slog.Logger
	selfID enode.ID

	ctx      context.Context // cancelled by close; bounds transport calls
	cancel   context.CancelFunc
	ops      chan func()
	loopDone chan struct{}
	initDone chan struct{} // closed when the first refresh has finished
	wg       sync.WaitGroup

	// Owned by the loop goroutine.
	buckets        [nBuckets]*bucket
	ips            netutil.DistinctNetSet
	nursery        []*enode.Node
	reval          revalidation
	rand           *rand.Rand
	refreshDone    chan struct{} // non-nil while a refresh runs
	refreshWaiters []chan struct{}
	refreshSize    int           // table size when the last refresh ended
	growingRefresh time.Duration // wait in a sequence of quick refreshes, see refreshFinished
	nextRefresh    time.Time
	sizeWaiters    []sizeWaiter
}

// bucket holds the nodes at one range of distances.
type bucket struct {
	index        int
	entries      []*tableNode // at most bucketSize
	replacements []*tableNode // most recent first, at most maxReplacements
	ips          netutil.DistinctNetSet
}

type sizeWaiter struct {
	n  int
	ch chan struct{}
}

// newTable creates a table; start launches it. cfg must have its defaults
// set. Bootnodes without IP or UDP port are refused; those outside
// NetRestrict are skipped.
func newTable(net transport, db *nodedb.DB, cfg Config) (*table, error) {
	ctx, cancel := context.WithCancel(context.Background())
	tab := &table{
		net:      net,
		db:       db,
		cfg:      cfg,
		log:      cfg.Log,
		selfID:   net.Self().ID(),
		ctx:      ctx,
		cancel:   cancel,
		ops:      make(chan func()),
		loopDone: make(chan struct{}),
		initDone: make(chan struct{}),
		ips:      netutil.DistinctNetSet{Subnet: tableSubnet, Limit: tableIPLimit},
		rand:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	for i := range tab.buckets {
		tab.buckets[i] = &bucket{index: i, ips: netutil.DistinctNetSet{Subnet: bucketSubnet, Limit: bucketIPLimit}}
	}
	tab.reval.init(cfg.PingInterval)
	for _, n := range cfg.Bootnodes {
		if err := n.ValidateComplete(); err != nil {
			cancel()
			return nil, fmt.Errorf("discover: bad bootnode %v: %w", n, err)
		}
		if cfg.NetRestrict != nil && !cfg.NetRestrict.Contains(n.IPAddr()) {
			tab.log.Warn("Bootnode outside NetRestrict, skipped", "id", n.ID(), "ip", n.IPAddr())
			continue
		}
		tab.nursery = append(tab.nursery, n)
	}
	return tab, nil
}

func (tab *table) start() {
	go tab.loop()
}

// close stops the loop and waits for every goroutine the table started.
func (tab *table) close() {
	tab.cancel()
	<-tab.loopDone
	tab.wg.Wait()
}

// post runs f on the loop goroutine without waiting for it. It reports
// false if the table is closed.
func (tab *table) post(f func()) bool {
	select {
	case tab.ops <- f:
		return true
	case <-tab.ctx.Done():
		return false
	}
}

// call runs f on the loop goroutine and waits until it has run.
func (tab *table) call(f func()) bool {
	done := make(chan struct{})
	if !tab.post(func() { f(); close(done) }) {
		return false
	}
	<-done
	return true
}

// loop owns the table state. It keeps one timer, set to the earliest of the
// next revalidation and the next refresh.
func (tab *table) loop() {
	defer close(tab.loopDone)
	clock := tab.cfg.Clock
	timer := clock.NewTimer(time.Hour)
	defer timer.Stop()
	var armed time.Time

	tab.startRefresh()
	for {
		now := clock.Now()
		next := tab.reval.run(tab, now)
		if tab.refreshDone == nil && (next.IsZero() || tab.nextRefresh.Before(next)) {
			next = tab.nextRefresh
		}
		if !next.Equal(armed) && !next.IsZero() {
			timer.Reset(next.Sub(now))
			armed = next
		}

		select {
		case f := <-tab.ops:
			f()
		case <-timer.C():
			armed = time.Time{}
			if tab.refreshDone == nil && !clock.Now().Before(tab.nextRefresh) {
				tab.startRefresh()
			}
		case <-tab.refreshDone:
			tab.refreshFinished()
		case <-tab.ctx.Done():
			for _, ch := range tab.refreshWaiters {
				close(ch)
			}
			return
		}
	}
}

// startRefresh starts filling the table: seeds from the database and the
// bootnodes, then a lookup for the own ID and refreshLookups more. The
// lookups ask the table for nodes and add what they find while the loop
// goes on.
//
// Kademlia refreshes a bucket with a lookup for a random ID in its range.
// A discv4 target is a public key, whose ID is its hash, so a target in a
// range must be found by trying keys; the lookup goes towards a node
// already in the bucket, whose neighbours share its distance from us, and
// only an empty bucket gets a target at its distance (lookupAt). Up to two
// buckets that are not full get such lookups; the rest go to random targets.
func (tab *table) startRefresh() {
	if tab.refreshDone != nil {
		return
	}
	done := make(chan struct{})
	tab.refreshDone = done
	nursery := tab.nursery
	// The farthest buckets that are not full come first: far buckets
	// have the most candidates, so a gap there means nodes were missed,
	// while the closest buckets stay thin in any network of realistic size.
	// Bucket 0 (all distances up to bucketMinDistance) is left to the
	// other lookups: a target for it is too rare to draw for discv4.
	type refreshTarget struct {
		node *enode.Node // an entry of the bucket, or nil:
		dist int         // the bucket's distance
	}
	var near []refreshTarget
	for i := nBuckets - 1; i >= 1 && len(near) < refreshLookups-1; i-- {
		b := tab.buckets[i]
		switch {
		case len(b.entries) >= bucketSize:
		case len(b.entries) > 0:
			near = append(near, refreshTarget{node: b.entries[tab.rand.IntN(len(b.entries))].Node})
		default:
			near = append(near, refreshTarget{dist: i + bucketMinDistance + 1})
		}
	}
	tab.wg.Add(1)
	go func() {
		defer tab.wg.Done()
		defer close(done)
		// Seeds are read here rather than on the loop: the query waits
		// for the database.
		seeds := append(tab.db.QuerySeeds(seedCount, seedMaxAge), nursery...)
		tab.call(func() {
			for _, n := range seeds {
				tab.add(n, addFound)
			}
		})
		tab.net.lookupNear(tab.ctx, tab.net.Self())
		for i := range refreshLookups {
			if tab.ctx.Err() != nil {
				return
			}
			switch {
			case i < len(near) && near[i].node != nil:
				tab.net.lookupNear(tab.ctx, near[i].node)
			case i < len(near):
				tab.net.lookupAt(tab.ctx, near[i].dist)
			default:
				tab.net.lookupRandom(tab.ctx)
			}
		}
	}()
}

func (tab *table) refreshFinished() {
	tab.refreshDone = nil
	select {
	case <-tab.initDone:
	default:
		close(tab.initDone)
	}
	for _, ch := range tab.refreshWaiters {
		close(ch)
	}
	tab.refreshWaiters = nil

	half := tab.cfg.RefreshInterval / 2
	// If the table grew since the last refresh (through this one, or
	// through nodes that contacted us), the network around us is not
	// covered yet: we have just joined, or joined a network that was
	// still small, or lost nodes. Then refresh again after 10s, 20s, 40s,
	// ... until the normal interval is reached, growing or not: nodes that
	// join near us later are found by the later refreshes. go-ethereum
	// always waits the normal interval; with continuous dialer lookups it
	// fills its table anyway, but a node that only does discovery would
	// stay thin for half an hour.
	wait := half + time.Duration(tab.rand.Int64N(int64(half)+1))
	switch {
	case tab.growingRefresh > 0:
		tab.growingRefresh *= 2
	case tab.lenLocked() > tab.refreshSize:
		tab.growingRefresh = firstGrowingRefresh
	}
	if tab.growingRefresh >= wait {
		tab.growingRefresh = 0
	}
	if tab.growingRefresh > 0 {
		wait = tab.growingRefresh
	}
	tab.refreshSize = tab.lenLocked()
	tab.nextRefresh = tab.cfg.Clock.Now().Add(wait)
}

// refresh starts a refresh unless one is running, and returns a channel
// closed when it is done (or the table is closed).
func (tab *table) refresh() <-chan struct{} {
	ch := make(chan struct{})
	if !tab.post(func() {
		tab.refreshWaiters = append(tab.refreshWaiters, ch)
		tab.startRefresh()
	}) {
		close(ch)
	}
	return ch
}

// waitInit waits until the first refresh has finished.
func (tab *table) waitInit(ctx context.Context) error {
	select {
	case <-tab.initDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-tab.ctx.Done():
		return ErrClosed
	}
}

// waitForNodes waits until the table holds at least n entries.
func (tab *table) waitForNodes(ctx context.Context, n int) error {
	ch := make(chan struct{})
	w := sizeWaiter{n, ch}
	if !tab.post(func() {
		if tab.lenLocked() >= n {
			close(ch)
			return
		}
		tab.sizeWaiters = append(tab.sizeWaiters, w)
	}) {
		return ErrClosed
	}
	select {
	case <-ch:
		return nil
	case <-tab.ctx.Done():
		return ErrClosed
	case <-ctx.Done():
		tab.post(func() {
			tab.sizeWaiters = slices.DeleteFunc(tab.sizeWaiters, func(x sizeWaiter) bool { return x.ch == ch })
		})
		return ctx.Err()
	}
}

func (tab *table) notifySizeWaiters() {
	if len(tab.sizeWaiters) == 0 {
		return
	}
	size := tab.lenLocked()
	tab.sizeWaiters = slices.DeleteFunc(tab.sizeWaiters, func(w sizeWaiter) bool {
		if size >= w.n {
			close(w.ch)
			return true
		}
		return false
	})
}

// The methods below are for other goroutines. Each runs on the loop.

// closest returns the n table entries closest to target. With preferLive,
// only nodes that have proven liveness are returned, unless there are none
// (a young table still answers with what it has).
func (tab *table) closest(target enode.ID, n int, preferLive bool) []*enode.Node {
	var result nodesByDistance
	tab.call(func() { result = tab.closestLocked(target, n, preferLive) })
	return result.entries
}

func (tab *table) closestLocked(target enode.ID, n int, preferLive bool) nodesByDistance {
	res := nodesByDistance{target: target}
	if preferLive {
		for _, b := range tab.buckets {
			for _, e := range b.entries {
				if e.live {
					res.push(e.Node, n)
				}
			}
		}
		if len(res.entries) > 0 {
			return res
		}
	}
	for _, b := range tab.buckets {
		for _, e := range b.entries {
			res.push(e.Node, n)
		}
	}
	return res
}

// nodesAtDistance returns the entries at log distance d from the own ID,
// for discv5 FINDNODE, which asks by distance. With liveOnly, entries that
// have not proven liveness are left out.
func (tab *table) nodesAtDistance(d int, liveOnly bool) []*enode.Node {
	var out []*enode.Node
	tab.call(func() {
		if d <= 0 || d > 256 {
			return
		}
		for _, e := range tab.bucketAtDistance(d).entries {
			if enode.LogDist(tab.selfID, e.ID()) == d && (!liveOnly || e.live) {
				out = append(out, e.Node)
			}
		}
		tab.rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	})
	return out
}

// node returns the table entry with the given ID, nil if there is none.
func (tab *table) node(id enode.ID) *enode.Node {
	var n *enode.Node
	tab.call(func() {
		if e := tab.bucket(id).find(id); e != nil {
			n = e.Node
		}
	})
	return n
}

// len returns the number of entries.
func (tab *table) len() int {
	var n int
	tab.call(func() { n = tab.lenLocked() })
	return n
}

func (tab *table) lenLocked() int {
	n := 0
	for _, b := range tab.buckets {
		n += len(b.entries)
	}
	return n
}

// snapshot returns the entries of every bucket.
func (tab *table) snapshot() [][]BucketNode {
	out := make([][]BucketNode, nBuckets)
	tab.call(func() {
		for i, b := range tab.buckets {
			for _, e := range b.entries {
				out[i] = append(out[i], BucketNode{
					Node: e.Node, AddedToTable: e.addedToTable, AddedToBucket: e.addedToBucket,
					Checks: e.checks, Live: e.live,
				})
			}
		}
	})
	return out
}

// addInboundNode adds a node that contacted us. verified says that it has
// also just answered our ping at this endpoint.
func (tab *table) addInboundNode(n *enode.Node, verified bool) {
	how := addInbound
	if verified {
		how = addVerified
	}
	tab.post(func() { tab.add(n, how) })
}

// trackFindnode records the outcome of a findnode request to n: whether n
// answered at all, and the nodes it returned, which are added to the table.
// A node that answers proves its liveness; one that keeps returning nothing
// is dropped (maxFindnodeFailures).
func (tab *table) trackFindnode(n *enode.Node, answered bool, found []*enode.Node) {
	tab.post(func() {
		b := tab.bucket(n.ID())
		if e := b.find(n.ID()); e != nil && sameEndpoint(e.Node, n) {
			if len(found) > 0 {
				e.findFails = 0
			} else {
				e.findFails++
			}
			if answered {
				e.live = true
			}
			if e.findFails >= maxFindnodeFailures && len(b.entries) >= bucketSize/4 {
				tab.log.Debug("Dropping node after failed findnode requests", "id", e.ID(), "fails", e.findFails)
				tab.deleteEntry(b, e)
			}
		}
		for _, f := range found {
			tab.add(f, addFound)
		}
	})
}

// seqHint tells the table that node id announced record sequence number seq
// (EIP-868: Ping carries enr-seq). A table entry with an older record gets
// its record requested.
func (tab *table) seqHint(id enode.ID, seq uint64) {
	tab.post(func() {
		e := tab.bucket(id).find(id)
		if e == nil || seq <= e.Seq() {
			return
		}
		tab.reval.startENRUpdate(tab, e)
	})
}

// deleteNode removes n from the table.
func (tab *table) deleteNode(id enode.ID) {
	tab.post(func() {
		b := tab.bucket(id)
		if e := b.find(id); e != nil {
			tab.deleteEntry(b, e)
		}
	})
}

func (tab *table) bucket(id enode.ID) *bucket {
	return tab.bucketAtDistance(enode.LogDist(tab.selfID, id))
}

func (tab *table) bucketAtDistance(d int) *bucket {
	if d <= bucketMinDistance {
		return tab.buckets[0]
	}
	return tab.buckets[d-bucketMinDistance-1]
}

func (b *bucket) find(id enode.ID) *tableNode {
	for _, e := range b.entries {
		if e.ID() == id {
			return e
		}
	}
	return nil
}

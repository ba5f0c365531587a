package discover

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

// slowRevalFactor is how much less often proven nodes are pinged than new
// ones.
const slowRevalFactor = 3

// fastListShare: the fast list speeds up when it holds more than this many
// nodes, in proportion, so that a node waits a few PingIntervals for its
// first check even when dozens arrive at once (a refresh, a restart). The
// extra pings are the checks the nodes would get anyway, only sooner.
const fastListShare = 4

// revalidation keeps the table's entries honest by pinging them (discv4.md
// "Node Table": an entry that does not answer a ping is removed). Entries
// sit in one of two lists. New entries, and entries whose check failed or
// whose endpoint changed, are in the fast list; entries that passed a check
// move to the slow list. Each list pings one random entry at random
// intervals averaging half its interval (PingInterval for fast,
// slowRevalFactor times that for slow); the fast list's interval shrinks as
// it grows (fastListShare).
//
// A failed check divides the entry's count of passed checks by three; the
// entry is removed, and a replacement promoted, when the count reaches zero,
// so a node proven over many checks survives a few lost packets. A pong with
// a higher record sequence number than the entry's (EIP-868) makes the
// check fetch the new record.
//
// It is part of the table and owned by its loop goroutine.
type revalidation struct {
	fast, slow revalList
	active     map[enode.ID]bool // requests in flight
}

// revalList is a list of entries and the time of its next check (zero: no
// entries, no check).
type revalList struct {
	name     string
	nodes    []*tableNode
	next     time.Time
	interval time.Duration
	share    int // if non-zero, the interval is divided by len(nodes)/share
}

func (r *revalidation) init(pingInterval time.Duration) {
	r.fast = revalList{name: "fast", interval: pingInterval, share: fastListShare}
	r.slow = revalList{name: "slow", interval: pingInterval * slowRevalFactor}
	r.active = make(map[enode.ID]bool)
}

// run starts the checks that are due and returns when run should be called
// next (zero: when an entry is added).
func (r *revalidation) run(tab *table, now time.Time) time.Time {
	for _, l := range []*revalList{&r.fast, &r.slow} {
		if l.next.IsZero() || now.Before(l.next) {
			continue
		}
		if e := l.pick(tab.rand, r.active); e != nil {
			r.startCheck(tab, e)
		}
		l.schedule(now, tab.rand)
	}
	switch {
	case r.fast.next.IsZero():
		return r.slow.next
	case r.slow.next.IsZero() || r.fast.next.Before(r.slow.next):
		return r.fast.next
	}
	return r.slow.next
}

// startCheck pings e on a goroutine and posts the result to the loop.
func (r *revalidation) startCheck(tab *table, e *tableNode) {
	r.active[e.ID()] = true
	asked := e.Node
	tab.wg.Add(1)
	go func() {
		defer tab.wg.Done()
		seq, err := tab.net.ping(tab.ctx, asked)
		var newRecord *enode.Node
		if err == nil && seq > asked.Seq() {
			newRecord, err = tab.net.requestENR(tab.ctx, asked)
			if err != nil {
				tab.log.Debug("ENR request failed", "id", asked.ID(), "err", err)
				newRecord, err = nil, nil // the ping was answered all the same
			}
		}
		tab.post(func() { r.checked(tab, e, asked, err == nil, newRecord) })
	}()
}

// checked applies the result of a liveness check.
func (r *revalidation) checked(tab *table, e *tableNode, asked *enode.Node, ok bool, newRecord *enode.Node) {
	delete(r.active, e.ID())
	if e.revalList == nil {
		return // removed while the check ran
	}
	if !sameEndpoint(e.Node, asked) {
		return // moved while the check ran; the fast list checks it again
	}
	b := tab.bucket(e.ID())
	now := tab.cfg.Clock.Now()
	if !ok {
		e.checks /= 3
		e.live = false
		if e.checks <= 0 {
			tab.deleteEntry(b, e)
		} else {
			tab.log.Debug("Node failed liveness check", "b", b.index, "id", e.ID(), "checks", e.checks)
			r.moveTo(&r.fast, e, now, tab.rand)
		}
		return
	}
	e.checks++
	e.live = true
	if newRecord != nil {
		tab.updateRecord(b, e, newRecord, true)
	}
	if e.live {
		// Still at the checked endpoint.
		r.moveTo(&r.slow, e, now, tab.rand)
		if e.Record().Signed() {
			// A proven node with a record seeds the next start.
			if err := tab.db.UpdateNode(e.Node); err != nil {
				tab.log.Debug("Can't store node", "id", e.ID(), "err", err)
			}
		}
	}
}

// startENRUpdate fetches the record of e, which announced a newer one.
func (r *revalidation) startENRUpdate(tab *table, e *tableNode) {
	if r.active[e.ID()] {
		return
	}
	r.active[e.ID()] = true
	asked := e.Node
	tab.wg.Add(1)
	go func() {
		defer tab.wg.Done()
		n, err := tab.net.requestENR(tab.ctx, asked)
		tab.post(func() {
			delete(r.active, asked.ID())
			if err != nil {
				tab.log.Debug("ENR request failed", "id", asked.ID(), "err", err)
				return
			}
			b := tab.bucket(asked.ID())
			if cur := b.find(asked.ID()); cur != nil {
				tab.updateRecord(b, cur, n, true)
			}
		})
	}()
}

// moveTo puts e on list dest.
func (r *revalidation) moveTo(dest *revalList, e *tableNode, now time.Time, rnd *rand.Rand) {
	if e.revalList == dest {
		return
	}
	if e.revalList != nil {
		e.revalList.remove(e)
	}
	dest.push(e, now, rnd)
}

func (l *revalList) push(e *tableNode, now time.Time, rnd *rand.Rand) {
	l.nodes = append(l.nodes, e)
	e.revalList = l
	if l.next.IsZero() {
		l.schedule(now, rnd)
	}
}

func (l *revalList) remove(e *tableNode) {
	if i := slices.Index(l.nodes, e); i >= 0 {
		l.nodes = slices.Delete(l.nodes, i, i+1)
	}
	e.revalList = nil
	if len(l.nodes) == 0 {
		l.next = time.Time{}
	}
}

// pick returns a random entry without a request in flight, nil if it finds
// none within a few tries.
func (l *revalList) pick(rnd *rand.Rand, active map[enode.ID]bool) *tableNode {
	for range 3 * len(l.nodes) {
		e := l.nodes[rnd.IntN(len(l.nodes))]
		if !active[e.ID()] {
			return e
		}
	}
	return nil
}

func (l *revalList) schedule(now time.Time, rnd *rand.Rand) {
	if len(l.nodes) == 0 {
		l.next = time.Time{}
		return
	}
	interval := l.interval
	if l.share > 0 && len(l.nodes) > l.share {
		interval = interval * time.Duration(l.share) / time.Duration(len(l.nodes))
	}
	l.next = now.Add(time.Duration(1 + rnd.Int64N(int64(interval))))
}

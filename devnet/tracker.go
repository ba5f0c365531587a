package devnet

import (
	"slices"
	"sync"
	"time"

	"github.com/trellis-p2p/trellis/gossip"
)

// recordTTL is how long the tracker remembers a message that has not reached
// every node; it then counts as undelivered where it did not arrive.
const recordTTL = time.Minute

// tracker follows every published message to count its deliveries.
//
// A message is counted (enters the delivery fraction and the latency
// percentiles) when it was published after the peer graph first became
// connected: before that, some nodes cannot be reached, and the fraction would
// measure the bootstrap instead of the gossip.
type tracker struct {
	nodes int // deliveries expected per message: nodes-1

	mu                  sync.Mutex
	msgs                map[gossip.ID]*msgRecord
	sent, delivered     uint64 // every message
	counted, countedDel uint64 // counted messages and their deliveries
	incomplete          int    // counted messages short of nodes-1 deliveries
	latencies           []time.Duration
}

type msgRecord struct {
	published  time.Time
	counted    bool
	deliveries int
}

func newTracker(nodes int) *tracker {
	return &tracker{nodes: nodes, msgs: make(map[gossip.ID]*msgRecord)}
}

// publish runs pub (a Gossip.Publish) and records the message. The lock is
// held across pub, so that deliveries, which may begin before pub returns,
// find the record.
func (t *tracker) publish(origin int, counted bool, pub func() (gossip.Message, error)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m, err := pub()
	if err != nil {
		return // cannot happen with devnet payloads; nothing was sent
	}
	t.sent++
	if counted {
		t.counted++
		t.incomplete++
	}
	t.msgs[m.ID] = &msgRecord{published: m.Sent, counted: counted}
	if t.sent%256 == 0 {
		t.pruneLocked(m.Sent)
	}
}

// deliver records the delivery d at one node.
func (t *tracker) deliver(d gossip.Delivery) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.delivered++
	r := t.msgs[d.ID]
	if r == nil {
		return // not published by the devnet, or pruned
	}
	r.deliveries++
	if r.counted {
		t.countedDel++
		if len(t.latencies) < maxLatencySamples {
			t.latencies = append(t.latencies, d.Latency())
		}
		if r.deliveries == t.nodes-1 {
			t.incomplete--
		}
	}
	if r.deliveries >= t.nodes-1 {
		delete(t.msgs, d.ID)
	}
}

// pruneLocked forgets messages older than recordTTL.
func (t *tracker) pruneLocked(now time.Time) {
	for id, r := range t.msgs {
		if now.Sub(r.published) > recordTTL {
			if r.counted {
				t.incomplete--
			}
			delete(t.msgs, id)
		}
	}
}

// complete reports whether every counted message has reached every node.
func (t *tracker) complete() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.incomplete == 0
}

// gossipStats is the tracker's part of Stats.
type gossipStats struct {
	Sent, Delivered         uint64
	Counted, CountedDeliver uint64
	// Fraction is CountedDeliver / (Counted × (nodes−1)); zero when
	// nothing was counted.
	Fraction float64
	P50, P99 time.Duration
}

// stats returns the counters, and the latency percentiles if asked (they
// sort every sample).
func (t *tracker) stats(percentiles bool) gossipStats {
	t.mu.Lock()
	s := gossipStats{Sent: t.sent, Delivered: t.delivered, Counted: t.counted, CountedDeliver: t.countedDel}
	var lat []time.Duration
	if percentiles {
		lat = slices.Clone(t.latencies)
	}
	t.mu.Unlock()
	if s.Counted > 0 && t.nodes > 1 {
		s.Fraction = float64(s.CountedDeliver) / float64(s.Counted*uint64(t.nodes-1))
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		s.P50 = percentile(lat, 0.50)
		s.P99 = percentile(lat, 0.99)
	}
	return s
}

// percentile returns the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(p*float64(len(sorted))+0.999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

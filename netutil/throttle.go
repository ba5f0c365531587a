package netutil

import (
	"net/netip"
	"time"
)

// Throttle admits each IP address at most once per period. The p2p server uses
// it to limit how often one Internet host may open inbound connections.
//
// A Throttle is not safe for concurrent use; it belongs to the goroutine that
// accepts connections. Time is passed in, so tests control it.
type Throttle struct {
	period time.Duration
	limit  int
	seen   map[netip.Addr]time.Time // address -> expiry
	// queue holds admissions in order. Because the period is fixed, this is
	// also expiry order, so expiring is a pop from the front.
	queue []throttleEntry
	head  int
}

type throttleEntry struct {
	ip  netip.Addr
	exp time.Time
}

// NewThrottle returns a throttle with the given period. limit bounds memory
// under a flood from many distinct addresses: when that many addresses are
// remembered, the oldest is forgotten early. limit <= 0 means no bound.
func NewThrottle(period time.Duration, limit int) *Throttle {
	return &Throttle{period: period, limit: limit, seen: make(map[netip.Addr]time.Time)}
}

// Allow reports whether ip may pass at time now and, if so, records it so that
// it is refused until now+period.
func (t *Throttle) Allow(ip netip.Addr, now time.Time) bool {
	ip = ip.Unmap()
	t.expire(now)
	if _, ok := t.seen[ip]; ok {
		return false
	}
	if t.limit > 0 && len(t.seen) >= t.limit {
		t.pop()
	}
	exp := now.Add(t.period)
	t.seen[ip] = exp
	t.queue = append(t.queue, throttleEntry{ip, exp})
	return true
}

// Contains reports whether ip would currently be refused.
func (t *Throttle) Contains(ip netip.Addr, now time.Time) bool {
	t.expire(now)
	_, ok := t.seen[ip.Unmap()]
	return ok
}

// Len returns the number of remembered addresses.
func (t *Throttle) Len() int { return len(t.seen) }

func (t *Throttle) expire(now time.Time) {
	for t.head < len(t.queue) && !t.queue[t.head].exp.After(now) {
		t.pop()
	}
}

func (t *Throttle) pop() {
	e := t.queue[t.head]
	t.queue[t.head] = throttleEntry{}
	t.head++
	// An address re-admitted after expiry has a newer entry further back;
	// only delete the map entry this queue entry created.
	if exp, ok := t.seen[e.ip]; ok && exp.Equal(e.exp) {
		delete(t.seen, e.ip)
	}
	// Reclaim the consumed prefix once it dominates the slice.
	if t.head > 32 && t.head*2 >= len(t.queue) {
		n := copy(t.queue, t.queue[t.head:])
		clear(t.queue[n:])
		t.queue = t.queue[:n]
		t.head = 0
	}
}

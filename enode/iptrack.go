package enode

import (
	"net/netip"
	"time"
)

// Endpoint prediction: discovery peers tell us the address they saw our
// packets come from (the "to" endpoint of discv4 Pong, the recipient
// address of discv5 PONG). Behind NAT that is the only way to learn the
// external address. A majority vote over recent statements, one per
// reporting host, decides; a minimum number of statements keeps a few
// liars from setting it.
const (
	// iptrackMinStatements is the number of agreeing statements needed
	// before an endpoint is predicted (go-ethereum uses the same value).
	iptrackMinStatements = 10
	// iptrackWindow is how long a statement counts.
	iptrackWindow = 5 * time.Minute
	// iptrackMaxStatements bounds the statements kept per address family.
	// Reporters are remote hosts, so their number is remote-controlled;
	// when full, the oldest statement is dropped.
	iptrackMaxStatements = 1024
)

// ipTracker predicts the local node's external endpoint for one address
// family. It is not safe for concurrent use; LocalNode guards it.
type ipTracker struct {
	statements map[netip.Addr]ipStatement // latest statement per reporting host
	predicted  netip.AddrPort             // last prediction, kept on ties
}

type ipStatement struct {
	endpoint netip.AddrPort
	time     time.Time
}

// add records that host saw us at endpoint.
func (t *ipTracker) add(host netip.Addr, endpoint netip.AddrPort, now time.Time) {
	if t.statements == nil {
		t.statements = make(map[netip.Addr]ipStatement)
	}
	if _, ok := t.statements[host]; !ok && len(t.statements) >= iptrackMaxStatements {
		t.gc(now)
		if len(t.statements) >= iptrackMaxStatements {
			t.dropOldest()
		}
	}
	t.statements[host] = ipStatement{endpoint, now}
}

func (t *ipTracker) gc(now time.Time) {
	cutoff := now.Add(-iptrackWindow)
	for host, s := range t.statements {
		if s.time.Before(cutoff) {
			delete(t.statements, host)
		}
	}
}

func (t *ipTracker) dropOldest() {
	var oldest netip.Addr
	var oldestTime time.Time
	for host, s := range t.statements {
		if !oldest.IsValid() || s.time.Before(oldestTime) {
			oldest, oldestTime = host, s.time
		}
	}
	delete(t.statements, oldest)
}

// predict returns the endpoint stated by the most hosts within the window,
// if at least iptrackMinStatements agree; the zero AddrPort otherwise. Ties
// are broken in favour of the previous prediction, then of the endpoint
// stated most recently, then of the smaller endpoint, so the prediction
// never depends on map iteration order.
func (t *ipTracker) predict(now time.Time) netip.AddrPort {
	t.gc(now)
	counts := make(map[netip.AddrPort]*endpointTally, len(t.statements))
	for _, s := range t.statements {
		c := counts[s.endpoint]
		if c == nil {
			c = &endpointTally{endpoint: s.endpoint}
			counts[s.endpoint] = c
		}
		c.count++
		if s.time.After(c.latest) {
			c.latest = s.time
		}
	}
	var best *endpointTally
	for _, c := range counts {
		if c.count >= iptrackMinStatements && (best == nil || c.beats(best, t.predicted)) {
			best = c
		}
	}
	t.predicted = netip.AddrPort{}
	if best != nil {
		t.predicted = best.endpoint
	}
	return t.predicted
}

type endpointTally struct {
	endpoint netip.AddrPort
	count    int
	latest   time.Time
}

func (a *endpointTally) beats(b *endpointTally, previous netip.AddrPort) bool {
	switch {
	case a.count != b.count:
		return a.count > b.count
	case a.endpoint == previous || b.endpoint == previous:
		return a.endpoint == previous
	case !a.latest.Equal(b.latest):
		return a.latest.After(b.latest)
	}
	return a.endpoint.Compare(b.endpoint) < 0
}

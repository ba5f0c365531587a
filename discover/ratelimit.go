package discover

import (
	"net/netip"
	"time"
)

// Limits on the work a source address can cause before it has proven its
// endpoint (discv4.md "Endpoint Proof" protects against reflection; these
// bound the rest). Every datagram costs a hash and usually a signature
// recovery; a Ping from an unproven endpoint also costs a Pong, a Ping of
// our own and a pending reply. Each is a token bucket per source IP.
// Loopback sources are exempt: they are this machine, and test networks put
// many nodes on one loopback address.
const (
	packetRate  = 100 // datagrams per second and IP
	packetBurst = 200

	unprovenPingRate  = 5 // Pings per second and IP from endpoints without proof
	unprovenPingBurst = 20

	// maxLimiterIPs bounds the memory of each limiter under a flood from
	// many (spoofed) addresses.
	maxLimiterIPs = 16384
)

// ipLimiter is a token bucket per IP address, refilled at rate tokens per
// second up to burst. It is owned by the goroutine that reads packets.
type ipLimiter struct {
	rate, burst float64
	max         int
	buckets     map[netip.Addr]*tokenBucket
}

type tokenBucket struct {
	tokens float64
	last   time.Time
}

func newIPLimiter(rate, burst float64, max int) *ipLimiter {
	return &ipLimiter{rate: rate, burst: burst, max: max, buckets: make(map[netip.Addr]*tokenBucket)}
}

// allow takes a token for ip if it has one.
func (l *ipLimiter) allow(ip netip.Addr, now time.Time) bool {
	if ip.IsLoopback() {
		return true
	}
	b := l.buckets[ip]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &tokenBucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// evict makes room: it forgets addresses whose bucket has refilled
// (forgetting them changes nothing) and, under a flood of fresh addresses,
// arbitrary others until an eighth of the map is free. Scans therefore
// happen at most once per max/8 new addresses, which keeps their cost per
// packet constant. An address evicted early gets a full bucket when it comes
// back; that costs at most one burst per eviction.
func (l *ipLimiter) evict(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for ip, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, ip)
		}
	}
	target := l.max - l.max/8
	for ip := range l.buckets {
		if len(l.buckets) < target {
			break
		}
		delete(l.buckets, ip)
	}
}

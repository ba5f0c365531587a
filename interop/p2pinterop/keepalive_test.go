package p2pinterop

import (
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/p2p"
)

// Base protocol codes (rlpx.md "p2p Capability").
const (
	pingCode = 0x02
	pongCode = 0x03
)

// idleFor is longer than the 30 s read timeout of both libraries, so a
// connection survives it only if pings and pongs flow (each side pings
// every 15 s).
const idleFor = 35 * time.Second

// An idle connection stays up past both sides' 30 s read timeout, kept
// alive by pings answered with pongs in both directions.
//
// Cost: 35 s of wall time (both directions run in parallel) and almost no
// CPU. It runs in CI; -short skips it. The timeouts are real-time constants
// of both libraries, so synctest cannot shorten it over real sockets.
func TestIdleKeepAlive(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 35 s of wall time")
	}
	for _, dir := range directions {
		t.Run(dir.name, func(t *testing.T) {
			t.Parallel()
			a, b := dir.mk(t, nodeOpts{}, nodeOpts{})
			connect(t, a, b)
			tr, ge := split(a, b)
			start := time.Now()

			// Wait out idleFor, failing at once on a drop; afterwards both
			// sides must have pinged at least twice, and answered.
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case ev := <-tr.events():
					if ev.typ == "drop" {
						t.Fatalf("Trellis dropped go-ethereum after %v: %s", time.Since(start).Round(time.Second), ev.err)
					}
				case ev := <-ge.events():
					if ev.typ == "drop" {
						t.Fatalf("go-ethereum dropped Trellis after %v: %s", time.Since(start).Round(time.Second), ev.err)
					}
				case <-tick.C:
				}
				if time.Since(start) >= idleFor {
					break
				}
			}
			snap := tr.srv.Counters().Snapshot()
			base := func(ts []p2p.Traffic, code uint64) uint64 {
				for _, x := range ts {
					if x.Proto.Name == "p2p" && x.Code == code {
						return x.Packets
					}
				}
				return 0
			}
			counts := map[string]uint64{
				"pings from go-ethereum": base(snap.Ingress, pingCode),
				"pongs to go-ethereum":   base(snap.Egress, pongCode),
				"pings to go-ethereum":   base(snap.Egress, pingCode),
				"pongs from go-ethereum": base(snap.Ingress, pongCode),
			}
			t.Logf("after %v idle: %v", time.Since(start).Round(time.Millisecond), counts)
			for what, n := range counts {
				if n < 2 {
					t.Errorf("%s: %d, want at least 2", what, n)
				}
			}
			if a.peerCount() != 1 || b.peerCount() != 1 {
				t.Errorf("peer counts %d and %d after idling, want 1 and 1", a.peerCount(), b.peerCount())
			}
		})
	}
}

package nodedb

import (
	"net/netip"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

func TestExpire(t *testing.T) {
	now := time.UnixMilli(1_750_000_000_000)
	fresh, stale := now.Add(-time.Hour), now.Add(-NodeExpiration-time.Millisecond)
	ip1, ip2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::2")

	type endpoint struct {
		ip         netip.Addr
		ping, pong time.Time // zero: not written
	}
	cases := []struct {
		name      string
		record    bool
		endpoints []endpoint
		keepNode  bool
		keepIPs   []netip.Addr // endpoints whose data stays
	}{
		{"fresh pong keeps the node", true, []endpoint{{ip: ip1, pong: fresh}}, true, []netip.Addr{ip1}},
		{"pong exactly 24h old still counts", true, []endpoint{{ip: ip1, pong: now.Add(-NodeExpiration)}}, true, []netip.Addr{ip1}},
		{"stale pong removes everything", true, []endpoint{{ip: ip1, pong: stale, ping: fresh}}, false, nil},
		{"record without pong is removed", true, nil, false, nil},
		{"a fresh ping alone does not keep a node", true, []endpoint{{ip: ip1, ping: fresh}}, false, nil},
		{"stale endpoint of a live node goes", true, []endpoint{{ip: ip1, pong: fresh}, {ip: ip2, pong: stale, ping: fresh}}, true, []netip.Addr{ip1}},
		{"endpoint data without record, fresh", false, []endpoint{{ip: ip2, pong: fresh}}, true, []netip.Addr{ip2}},
		{"endpoint data without record, stale", false, []endpoint{{ip: ip2, pong: stale}}, false, nil},
	}
	dbModes(t, func(t *testing.T, path string) {
		db := mustOpen(t, path, WithIdentitySchemes(enode.TestSchemes()))
		wantRemoved := 0
		for i, tc := range cases {
			id := idFor(uint64(i))
			if tc.record {
				db.UpdateNode(nullNode(id, 1, ip1))
			}
			for _, e := range tc.endpoints {
				if !e.ping.IsZero() {
					db.UpdateLastPingReceived(id, e.ip, e.ping)
				}
				if !e.pong.IsZero() {
					db.UpdateLastPongReceived(id, e.ip, e.pong)
				}
				db.UpdateFindFails(id, e.ip, 1)
				db.UpdateFindFailsV5(id, e.ip, 1)
			}
			db.StoreLocalSeq(id, 42)
			if !tc.keepNode {
				wantRemoved++
			}
		}

		removed, err := db.Expire(now)
		if err != nil {
			t.Fatal(err)
		}
		if removed != wantRemoved {
			t.Errorf("Expire removed %d nodes, want %d", removed, wantRemoved)
		}
		for i, tc := range cases {
			id := idFor(uint64(i))
			if tc.record && (db.Node(id) != nil) != tc.keepNode {
				t.Errorf("%s: record kept = %v", tc.name, !tc.keepNode)
			}
			for _, e := range tc.endpoints {
				kept := false
				for _, ip := range tc.keepIPs {
					kept = kept || ip == e.ip
				}
				if has := db.FindFails(id, e.ip) != 0; has != kept {
					t.Errorf("%s: data at %v kept = %v, want %v", tc.name, e.ip, has, kept)
				}
				if has := db.FindFailsV5(id, e.ip) != 0; has != kept {
					t.Errorf("%s: v5 data at %v kept = %v, want %v", tc.name, e.ip, has, kept)
				}
			}
			if db.LocalSeq(id) != 42 {
				t.Errorf("%s: local seq expired", tc.name)
			}
		}
		if removed, _ := db.Expire(now); removed != 0 {
			t.Errorf("second Expire removed %d more", removed)
		}
	})
}

// TestExpirerLoop runs the background expirer under synctest: nothing goes
// before the first interval has passed, then stale nodes go on each tick.
func TestExpirerLoop(t *testing.T) {
	dbModes(t, func(t *testing.T, path string) {
		synctest.Test(t, func(t *testing.T) {
			if path != "" {
				path = filepath.Join(t.TempDir(), "db")
			}
			db, err := Open(path, WithIdentitySchemes(enode.TestSchemes()))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			addNode := func(i uint64, pong time.Time) enode.ID {
				n := nullNode(idFor(i), 1, ipFor(i))
				db.UpdateNode(n)
				db.UpdateLastPongReceived(n.ID(), n.IPAddr(), pong)
				return n.ID()
			}
			old := addNode(1, time.Now().Add(-25*time.Hour))
			young := addNode(2, time.Now().Add(-23*time.Hour))
			db.StartExpirer()
			db.StartExpirer() // no second loop

			time.Sleep(time.Hour - time.Millisecond)
			synctest.Wait()
			if db.Node(old) == nil {
				t.Fatal("expirer ran before its first interval")
			}
			time.Sleep(time.Millisecond)
			synctest.Wait()
			if db.Node(old) != nil {
				t.Fatal("stale node not expired after one interval")
			}
			if db.Node(young) == nil {
				t.Fatal("node 23h old expired")
			}
			// An hour later the second node has crossed 24h too.
			time.Sleep(time.Hour)
			synctest.Wait()
			if db.Node(young) != nil {
				t.Fatal("node not expired on the second tick")
			}
		})
	})
}

// TestExpirerClock drives the expirer's notion of now through WithClock:
// the ticker only decides when it runs.
func TestExpirerClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newFakeClock(time.Now())
		db, err := Open("", WithClock(clock), WithExpireInterval(time.Minute), WithIdentitySchemes(enode.TestSchemes()))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		n := nullNode(idFor(1), 1, ipFor(1))
		db.UpdateNode(n)
		db.UpdateLastPongReceived(n.ID(), n.IPAddr(), time.Now())
		db.StartExpirer()

		time.Sleep(time.Minute)
		synctest.Wait()
		if db.Node(n.ID()) == nil {
			t.Fatal("fresh node expired")
		}
		clock.Add(NodeExpiration + time.Second)
		time.Sleep(time.Minute)
		synctest.Wait()
		if db.Node(n.ID()) != nil {
			t.Fatal("expirer did not use the injected clock")
		}
	})
}

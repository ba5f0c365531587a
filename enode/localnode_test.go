package enode

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/enr"
)

// bubbleStartMs is the Unix time in ms at which synctest bubbles start.
const bubbleStartMs = 946684800000

type memSeqStore struct {
	mu     sync.Mutex
	seq    map[ID]uint64
	stores int
}

func (s *memSeqStore) LocalSeq(id ID) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq[id]
}

func (s *memSeqStore) StoreLocalSeq(id ID, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq == nil {
		s.seq = make(map[ID]uint64)
	}
	s.seq[id] = seq
	s.stores++
}

func TestLocalNodeSeq(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := NewLocalNode(nil, testKey(t))
		if ln.ID() != HexID(eip778NodeID) {
			t.Fatal("wrong ID")
		}
		seq := ln.Seq()
		if seq != bubbleStartMs {
			t.Fatalf("initial seq %d, want the clock in ms (%d)", seq, bubbleStartMs)
		}
		steps := []struct {
			name   string
			change func()
			bump   bool
		}{
			{"first record", func() {}, true},
			{"nothing changed", func() {}, false},
			{"set tcp", func() { ln.Set(enr.TCP(30303)) }, true},
			{"set tcp to the same value", func() { ln.Set(enr.TCP(30303)) }, false},
			{"two changes, one bump", func() { ln.Set(enr.TCP(1)); ln.Set(enr.Generic{Key: "x", Value: uint(7)}) }, true},
			{"change and change back", func() { ln.Set(enr.TCP(2)); ln.Set(enr.TCP(1)) }, false},
			{"delete", func() { ln.Delete(enr.TCP(0)) }, true},
			{"delete missing", func() { ln.Delete(enr.TCP(0)) }, false},
			{"fallback ip", func() { ln.SetFallbackIP(netip.MustParseAddr("10.0.0.1")) }, true},
			{"same fallback ip", func() { ln.SetFallbackIP(netip.MustParseAddr("10.0.0.1")) }, false},
			{"invalid ip ignored", func() { ln.SetStaticIP(netip.Addr{}) }, false},
		}
		prev := ln.Node()
		wantSeq := seq + 1
		for i, s := range steps {
			if i > 0 {
				s.change()
			}
			n := ln.Node()
			if s.bump {
				if i > 0 {
					wantSeq++
				}
				if i > 0 && n == prev {
					t.Errorf("%s: Node() returned the old node", s.name)
				}
			} else if n != prev {
				t.Errorf("%s: Node() re-signed without a change", s.name)
			}
			if n.Seq() != wantSeq || ln.Seq() != wantSeq {
				t.Errorf("%s: node seq %d, Seq() %d, want %d", s.name, n.Seq(), ln.Seq(), wantSeq)
			}
			if _, err := New(n.Record()); err != nil {
				t.Errorf("%s: local record does not verify: %v", s.name, err)
			}
			prev = n
		}
	})
}

func TestLocalNodeLazySigning(t *testing.T) {
	ln := NewLocalNode(nil, testKey(t))
	n1 := ln.Node()
	seq := ln.Seq()
	ln.Set(enr.TCP(1))
	ln.Set(enr.TCP(2))
	ln.Set(enr.TCP(3))
	if ln.cur.Load() != nil {
		t.Fatal("stale node still published after Set")
	}
	if ln.Seq() != seq {
		t.Fatal("Set signed eagerly")
	}
	n2 := ln.Node()
	if n2 == n1 || n2.Seq() != seq+1 || n2.TCP() != 3 {
		t.Fatalf("seq %d tcp %d", n2.Seq(), n2.TCP())
	}
	if n1.TCP() != 0 {
		t.Fatal("earlier node changed")
	}
}

func TestLocalNodePersistedSeq(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := new(memSeqStore)
		key := testKey(t)
		ln := NewLocalNode(db, key)
		if ln.Seq() != bubbleStartMs {
			t.Fatalf("empty store: seq %d, want clock", ln.Seq())
		}
		if db.stores != 0 {
			t.Fatal("stored before signing")
		}
		ln.Node()
		ln.Set(enr.TCP(1))
		ln.Node()
		if got := db.LocalSeq(ln.ID()); got != bubbleStartMs+2 || db.stores != 2 {
			t.Fatalf("stored seq %d after %d stores", got, db.stores)
		}
		// A restart continues from the stored number even if the clock is
		// behind it.
		db.StoreLocalSeq(ln.ID(), 5*bubbleStartMs)
		ln2 := NewLocalNode(db, key)
		if ln2.Seq() != 5*bubbleStartMs || ln2.Node().Seq() != 5*bubbleStartMs+1 {
			t.Fatalf("restarted seq %d", ln2.Seq())
		}
	})
}

func TestLocalNodeEndpoints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := NewLocalNode(nil, testKey(t))
		check := func(step string, ip4 string, udp int, ip6 string, udp6 int) {
			t.Helper()
			r := ln.Node().Record()
			var gotIP4 enr.IPv4
			var gotIP6 enr.IPv6
			var gotUDP enr.UDP
			var gotUDP6 enr.UDP6
			r.Load(&gotIP4)
			r.Load(&gotIP6)
			r.Load(&gotUDP)
			r.Load(&gotUDP6)
			got := fmt.Sprintf("ip=%v udp=%d ip6=%v udp6=%d", netip.Addr(gotIP4), gotUDP, netip.Addr(gotIP6), gotUDP6)
			want := fmt.Sprintf("ip=%v udp=%d ip6=%v udp6=%d", parseOrZero(ip4), udp, parseOrZero(ip6), udp6)
			if got != want {
				t.Errorf("%s:\n  got  %s\n  want %s", step, got, want)
			}
		}
		state := func(i int) netip.AddrPort {
			return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 30303)
		}
		check("empty", "", 0, "", 0)
		ln.SetFallbackIP(netip.MustParseAddr("10.0.0.1"))
		ln.SetFallbackUDP(30303)
		check("fallbacks", "10.0.0.1", 30303, "", 0)

		external := netip.MustParseAddrPort("203.0.113.5:40404")
		for i := range iptrackMinStatements - 1 {
			ln.UDPEndpointStatement(state(i), external)
		}
		// Repeats from one host count once.
		for range 5 {
			ln.UDPEndpointStatement(state(0), external)
		}
		check("too few statements", "10.0.0.1", 30303, "", 0)
		ln.UDPEndpointStatement(state(100), external)
		check("majority reached", "203.0.113.5", 40404, "", 0)

		// A minority elsewhere does not move the prediction; a host changing
		// its statement moves its vote.
		other := netip.MustParseAddrPort("203.0.113.6:1")
		for i := 200; i < 205; i++ {
			ln.UDPEndpointStatement(state(i), other)
		}
		check("minority", "203.0.113.5", 40404, "", 0)

		// Unusable statements are ignored.
		for i := 0; i < 20; i++ {
			ln.UDPEndpointStatement(state(50+i), netip.MustParseAddrPort("0.0.0.0:1"))
			ln.UDPEndpointStatement(state(50+i), netip.MustParseAddrPort("224.0.0.1:1"))
			ln.UDPEndpointStatement(state(50+i), netip.MustParseAddrPort("1.1.1.1:0"))
		}
		check("unusable statements", "203.0.113.5", 40404, "", 0)

		// A static IP wins over the prediction; the port stays the fallback.
		ln.SetStaticIP(netip.MustParseAddr("192.0.2.1"))
		check("static", "192.0.2.1", 30303, "", 0)

		// IPv6: statements about an IPv6 endpoint set ip6, and udp6 when the
		// port differs from udp.
		ext6 := netip.MustParseAddrPort("[2001:db8::5]:40000")
		for i := range iptrackMinStatements {
			ln.UDPEndpointStatement(netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 15: byte(i)}), 1), ext6)
		}
		check("ipv6 predicted", "192.0.2.1", 30303, "2001:db8::5", 40000)

		// Statements expire after the window: the prediction falls back.
		time.Sleep(iptrackWindow + time.Second)
		ln.UDPEndpointStatement(state(1), external) // triggers expiry
		check("expired", "192.0.2.1", 30303, "", 0)
	})
}

func parseOrZero(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(s)
}

func TestIPTrackerTies(t *testing.T) {
	now := time.Unix(1000, 0)
	a := netip.MustParseAddrPort("1.1.1.1:1")
	b := netip.MustParseAddrPort("2.2.2.2:2")
	host := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}) }

	var tr ipTracker
	for i := range iptrackMinStatements {
		tr.add(host(i), a, now)
	}
	if tr.predict(now) != a {
		t.Fatal("no prediction")
	}
	// b ties with a, with newer statements: a stays (previous prediction).
	for i := range iptrackMinStatements {
		tr.add(host(100+i), b, now.Add(time.Second))
	}
	if got := tr.predict(now.Add(time.Second)); got != a {
		t.Fatalf("tie moved the prediction to %v", got)
	}
	// Without a previous prediction the newer one wins, deterministically.
	tr.predicted = netip.AddrPort{}
	if got := tr.predict(now.Add(time.Second)); got != b {
		t.Fatalf("tie without history: %v", got)
	}
	// One more vote decides.
	tr.add(host(200), a, now.Add(time.Second))
	if got := tr.predict(now.Add(time.Second)); got != a {
		t.Fatalf("majority: %v", got)
	}
}

func TestIPTrackerBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	var tr ipTracker
	ep := netip.MustParseAddrPort("1.1.1.1:1")
	for i := range 3 * iptrackMaxStatements {
		tr.add(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), ep, now.Add(time.Duration(i)))
	}
	if len(tr.statements) != iptrackMaxStatements {
		t.Fatalf("%d statements kept", len(tr.statements))
	}
	// The newest ones were kept.
	last := 3*iptrackMaxStatements - 1
	if _, ok := tr.statements[netip.AddrFrom4([4]byte{10, byte(last >> 16), byte(last >> 8), byte(last)})]; !ok {
		t.Fatal("newest statement dropped")
	}
}

func TestLocalNodeConcurrent(t *testing.T) {
	ln := NewLocalNode(nil, testKey(t))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				ln.Set(enr.TCP(g*100 + i))
				n := ln.Node()
				if _, err := New(n.Record()); err != nil {
					t.Error(err)
					return
				}
				ln.UDPEndpointStatement(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(g), byte(i)}), 1), netip.MustParseAddrPort("1.2.3.4:5"))
			}
		})
	}
	wg.Wait()
	// Every signed version had a distinct, increasing seq; the final one
	// reflects the last state.
	if n := ln.Node(); n.Seq() != ln.Seq() {
		t.Fatalf("node seq %d, Seq %d", n.Seq(), ln.Seq())
	}
}

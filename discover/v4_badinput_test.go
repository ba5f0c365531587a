package discover

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover/v4wire"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/netutil"
	"github.com/trellis-p2p/trellis/rlp"
)

// rawPacket builds a packet around arbitrary packet-data, with a correct
// hash and the given signature (nil: a real one by key).
func rawPacket(t testing.TB, key *crypto.PrivateKey, sig []byte, ptype byte, data []byte) []byte {
	b := append(make([]byte, v4wire.HeadSize), ptype)
	b = append(b, data...)
	if sig == nil {
		digest := crypto.Keccak256(b[v4wire.HeadSize:])
		var err error
		if sig, err = crypto.Sign(digest, key); err != nil {
			t.Fatal(err)
		}
	}
	copy(b[v4wire.HashSize:], sig)
	h := crypto.Keccak256Hash(b[v4wire.HashSize:])
	copy(b, h[:])
	return b
}

func pingData(t testing.TB, extra int) []byte {
	ep := v4wire.NewEndpoint(netip.MustParseAddrPort("10.0.0.1:30303"), 0)
	b, err := rlp.EncodeToBytes([]any{uint(4), ep, ep, future(), bytes.Repeat([]byte{1}, extra)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Junk, bad signatures, oversized and malformed packets are dropped with a
// debug message naming the reason; nothing is sent back and the table does
// not change.
func TestBadPackets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &logRecorder{}
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{PingInterval: time.Hour, Log: slogRecorder(rec)})
		p := tn.peer(2, "10.0.0.2:30303")
		synctest.Wait()
		size := l.tab.len()
		rng := rand.New(rand.NewPCG(1, 2))
		junk := func(n int) []byte {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
			return b
		}

		cases := []struct {
			name   string
			packet []byte
			reason string
		}{
			{"empty", nil, "packet too small"},
			{"short junk", junk(50), "packet too small"},
			{"junk", junk(300), "hash mismatch"},
			{"junk of maximum size", junk(v4wire.MaxPacketSize), "hash mismatch"},
			{"oversized", rawPacket(t, p.key, nil, v4wire.PingPacket, pingData(t, 1300)), "larger than 1280"},
			{"oversized junk", junk(4000), "larger than 1280"},
			{"zero signature", rawPacket(t, nil, make([]byte, 65), v4wire.PingPacket, pingData(t, 0)), "invalid packet signature"},
			{"bad recovery id", rawPacket(t, nil, append(bytes.Repeat([]byte{1}, 64), 9), v4wire.PingPacket, pingData(t, 0)), "invalid packet signature"},
			{"unknown type", rawPacket(t, p.key, nil, 66, pingData(t, 0)), "unknown packet type"},
			{"malformed ping", rawPacket(t, p.key, nil, v4wire.PingPacket, []byte{0xc1, 0x04}), "malformed packet data"},
			{"malformed neighbors", rawPacket(t, p.key, nil, v4wire.NeighborsPacket, []byte{0xc2, 0x01, 0x02}), "malformed packet data"},
		}
		for _, c := range cases {
			before := rec.count("Dropped discv4 packet", c.reason)
			p.sendRaw(l, c.packet)
			synctest.Wait()
			if rec.count("Dropped discv4 packet", c.reason) != before+1 {
				t.Errorf("%s: no debug message with %q; log: %v", c.name, c.reason, rec.msgs[len(rec.msgs)-1:])
			}
		}
		p.expectNone("bad packets")
		if l.tab.len() != size {
			t.Fatal("bad packets changed the table")
		}
		// The listener still works.
		p.ping(l)
		if pkt, _ := p.read(); pkt == nil || pkt.Kind() != v4wire.PongPacket {
			t.Fatalf("got %v after bad packets, want PONG", pkt)
		}
	})
}

// victim records the datagrams sent to an address that never sent
// anything itself: packets with its address as source are spoofed.
type victim struct {
	mu      sync.Mutex
	packets int
	bytes   int
	kinds   map[byte]int
}

func (v *victim) filter(addr netip.AddrPort) func(from, to netip.AddrPort, b []byte) bool {
	return func(from, to netip.AddrPort, b []byte) bool {
		if to == addr {
			v.mu.Lock()
			v.packets++
			v.bytes += len(b)
			if len(b) > v4wire.HeadSize {
				v.kinds[b[v4wire.HeadSize]]++
			}
			v.mu.Unlock()
		}
		return true
	}
}

// Spoofed source addresses: a FindNode or ENRRequest that claims to come
// from a victim gets no reply, even when its sender has proven its own
// endpoint; Pings claiming to come from the victim get a Pong (plus our
// Ping) only up to the per-IP limit for unproven endpoints.
func TestSpoofedSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{PingInterval: time.Hour})
		attacker := tn.peer(2, "10.0.0.2:30303")
		synctest.Wait()
		attacker.bond(l)
		victimAddr := netip.MustParseAddrPort("10.66.0.1:30303")
		v := &victim{kinds: make(map[byte]int)}
		tn.net.SetFilter(v.filter(victimAddr))
		la := listenerAddr(l)

		// Queries from a bonded key, spoofed.
		for range 10 {
			b, _, _ := v4wire.Encode(attacker.key, &v4wire.FindNode{Expiration: future()})
			tn.net.Inject(victimAddr, la, b)
			b, _, _ = v4wire.Encode(attacker.key, &v4wire.ENRRequest{Expiration: future()})
			tn.net.Inject(victimAddr, la, b)
		}
		synctest.Wait()
		if v.packets != 0 {
			t.Fatalf("victim got %d packets from spoofed queries", v.packets)
		}

		// A burst of spoofed pings, each with a fresh key.
		const pings = 200
		sent := 0
		for i := range pings {
			b, _, _ := v4wire.Encode(cachedKey(uint64(5000+i)), &v4wire.Ping{Version: 4, To: v4wire.NewEndpoint(la, 0), Expiration: future()})
			sent += len(b)
			tn.net.Inject(victimAddr, la, b)
		}
		synctest.Wait()
		v.mu.Lock()
		defer v.mu.Unlock()
		t.Logf("%d spoofed pings (%d bytes): victim got %d packets, %d bytes, kinds %v", pings, sent, v.packets, v.bytes, v.kinds)
		if v.kinds[v4wire.PongPacket] > unprovenPingBurst || v.kinds[v4wire.PingPacket] > unprovenPingBurst {
			t.Fatalf("victim got %v, want at most %d pongs and pings", v.kinds, unprovenPingBurst)
		}
		if v.kinds[v4wire.NeighborsPacket]+v.kinds[v4wire.ENRResponsePacket] > 0 {
			t.Fatal("large replies sent to an unproven endpoint")
		}
	})
}

// Per-IP rate limit: of a burst of datagrams from one address, only the
// token bucket's burst is processed.
func TestPacketRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &logRecorder{}
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{PingInterval: time.Hour, Log: slogRecorder(rec)})
		p := tn.peer(2, "10.0.0.2:30303")
		synctest.Wait()
		b, _, _ := v4wire.Encode(p.key, &v4wire.ENRRequest{Expiration: future()})
		for range 2 * packetBurst {
			p.sendRaw(l, b)
		}
		synctest.Wait()
		if n := rec.count("Dropped discv4 packet", "rate limit"); n != packetBurst {
			t.Fatalf("%d datagrams rate-limited, want %d", n, packetBurst)
		}
		// The bucket refills.
		time.Sleep(time.Second)
		p.ping(l)
		if pkt, _ := p.read(); pkt == nil || pkt.Kind() != v4wire.PongPacket {
			t.Fatalf("got %v after refill, want PONG", pkt)
		}
	})
}

func TestIPLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newIPLimiter(10, 5, 100)
	ip := netip.MustParseAddr("10.0.0.1")
	for i := range 5 {
		if !l.allow(ip, now) {
			t.Fatalf("burst refused at %d", i)
		}
	}
	if l.allow(ip, now) {
		t.Fatal("allowed beyond burst")
	}
	if !l.allow(ip, now.Add(100*time.Millisecond)) || l.allow(ip, now.Add(100*time.Millisecond)) {
		t.Fatal("refill: one token per 100ms")
	}
	if !l.allow(netip.MustParseAddr("127.0.0.1"), now) || len(l.buckets) != 1 {
		t.Fatal("loopback not exempt")
	}
	// Memory stays bounded under a flood of fresh addresses.
	for i := range 10000 {
		l.allow(netip.AddrFrom4([4]byte{11, byte(i >> 16), byte(i >> 8), byte(i)}), now)
		if len(l.buckets) > 100 {
			t.Fatalf("limiter holds %d addresses", len(l.buckets))
		}
	}
}

// A node answering our FindNode with a flood of Neighbors: the request
// keeps 16 nodes, the rest is dropped as unsolicited, and the table takes
// no more than the request returned.
func TestNeighborsFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &logRecorder{}
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{PingInterval: time.Hour, Log: slogRecorder(rec)})
		p := tn.peer(2, "10.0.0.2:30303")
		synctest.Wait()
		p.bond(l)
		size := l.tab.len()

		done := make(chan []*enode.Node)
		go func() {
			nodes, _ := l.findnode(context.Background(), p.node(), p.pubkey())
			done <- nodes
		}()
		if pkt, _ := p.read(); pkt == nil || pkt.Kind() != v4wire.FindNodePacket {
			t.Fatalf("got %v, want FINDNODE", pkt)
		}
		const packets = 50
		for i := range packets {
			var nb v4wire.Neighbors
			nb.Expiration = future()
			for j := range v4wire.MaxNeighbors {
				k := uint64(10000 + i*v4wire.MaxNeighbors + j)
				n := enode.NewV4(cachedKey(k).PubKey(), netip.AddrFrom4([4]byte{10, 7, byte(i), byte(j + 1)}), 30303, 30303)
				nb.Nodes = append(nb.Nodes, nodeToWire(n))
			}
			p.send(l, &nb)
		}
		nodes := <-done
		synctest.Wait()
		if len(nodes) != bucketSize {
			t.Fatalf("findnode returned %d nodes, want %d", len(nodes), bucketSize)
		}
		if n := rec.count("Dropped discv4 packet", "unsolicited reply"); n != packets-2 {
			t.Fatalf("%d NEIGHBORS dropped as unsolicited, want %d", n, packets-2)
		}
		l.tab.trackFindnode(p.node(), true, nodes)
		synctest.Wait()
		if grown := l.tab.len() - size; grown > bucketSize {
			t.Fatalf("table grew by %d from one flood", grown)
		}
	})
}

// Neighbors entries that must not be used: low ports, addresses the
// sender may not relay, keys off the curve, NetRestrict.
func TestNodeFromWire(t *testing.T) {
	l := &UDPv4{listener: listener{cfg: Config{NetRestrict: nil}}}
	key := v4wire.EncodePubkey(cachedKey(1).PubKey())
	wan := netip.MustParseAddrPort("11.0.0.1:30303")
	lan := netip.MustParseAddrPort("10.0.0.1:30303")
	bad := key
	bad[63] ^= 1
	tests := []struct {
		sender netip.AddrPort
		n      v4wire.Node
		ok     bool
	}{
		{wan, v4wire.Node{IP: netip.MustParseAddr("12.0.0.1"), UDP: 30303, ID: key}, true},
		{wan, v4wire.Node{IP: netip.MustParseAddr("12.0.0.1"), UDP: 1025, ID: key}, true},
		{wan, v4wire.Node{IP: netip.MustParseAddr("12.0.0.1"), UDP: 1024, ID: key}, false},
		{wan, v4wire.Node{IP: netip.MustParseAddr("12.0.0.1"), UDP: 53, ID: key}, false},
		{wan, v4wire.Node{IP: netip.MustParseAddr("10.0.0.2"), UDP: 30303, ID: key}, false},
		{wan, v4wire.Node{IP: netip.MustParseAddr("127.0.0.1"), UDP: 30303, ID: key}, false},
		{lan, v4wire.Node{IP: netip.MustParseAddr("10.0.0.2"), UDP: 30303, ID: key}, true},
		{lan, v4wire.Node{IP: netip.MustParseAddr("127.0.0.1"), UDP: 30303, ID: key}, false},
		{wan, v4wire.Node{IP: netip.MustParseAddr("0.0.0.0"), UDP: 30303, ID: key}, false},
		{wan, v4wire.Node{IP: netip.MustParseAddr("192.0.2.1"), UDP: 30303, ID: key}, false},
		{wan, v4wire.Node{UDP: 30303, ID: key}, false},
		{wan, v4wire.Node{IP: netip.MustParseAddr("12.0.0.1"), UDP: 30303, ID: bad}, false},
	}
	for i, tt := range tests {
		n, err := l.nodeFromWire(tt.sender, tt.n)
		if (err == nil) != tt.ok {
			t.Errorf("%d: %+v from %v: err %v, want ok=%v", i, tt.n, tt.sender, err, tt.ok)
		}
		if err == nil && n.ID() != tt.n.ID.ID() {
			t.Errorf("%d: wrong ID", i)
		}
	}
	l.cfg.NetRestrict = netutil.MustParseNetlist("12.0.0.0/8")
	if _, err := l.nodeFromWire(wan, v4wire.Node{IP: netip.MustParseAddr("13.0.0.1"), UDP: 30303, ID: key}); err == nil {
		t.Error("NetRestrict not applied")
	}
}

// Packets from outside NetRestrict are dropped before decoding.
func TestNetRestrictPackets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{NetRestrict: netutil.MustParseNetlist("10.0.0.0/24")})
		in := tn.peer(2, "10.0.0.2:30303")
		out := tn.peer(3, "10.0.1.2:30303")
		synctest.Wait()
		out.ping(l)
		out.expectNone("ping from outside NetRestrict")
		in.ping(l)
		if pkt, _ := in.read(); pkt == nil || pkt.Kind() != v4wire.PongPacket {
			t.Fatalf("got %v, want PONG", pkt)
		}
	})
}

// The number of requests waiting for replies is bounded.
func TestMaxPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{PingInterval: time.Hour})
		synctest.Wait()
		for i := range maxPendingReplies {
			l.pending(enode.ID{byte(i >> 8), byte(i)}, netip.MustParseAddr("10.9.9.9"), v4wire.PongPacket, func(v4wire.Packet) (bool, bool) { return true, true })
		}
		p := l.pending(enode.ID{}, netip.MustParseAddr("10.9.9.9"), v4wire.PongPacket, func(v4wire.Packet) (bool, bool) { return true, true })
		if err := l.wait(context.Background(), p); err != ErrTooManyPending {
			t.Fatalf("err %v, want ErrTooManyPending", err)
		}
		// Just past the timeout, once the pending loop has expired them
		// (at exactly respTimeout the order of the two is open).
		time.Sleep(respTimeout + time.Millisecond)
		synctest.Wait()
		p = l.pending(enode.ID{}, netip.MustParseAddr("10.9.9.9"), v4wire.PongPacket, func(v4wire.Packet) (bool, bool) { return true, true })
		if err := l.wait(context.Background(), p); err != ErrTimeout {
			t.Fatalf("after the timeouts: err %v, want ErrTimeout", err)
		}
	})
}

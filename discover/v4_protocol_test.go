package discover

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/discover/v4wire"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// fillTable adds n v4 nodes at the given addresses to l's table, as found
// and (if live) proven.
func fillTable(t *testing.T, l *UDPv4, ips []string, live bool) []*enode.Node {
	t.Helper()
	var nodes []*enode.Node
	for i, ip := range ips {
		n := enode.NewV4(cachedKey(uint64(100+i)).PubKey(), netip.MustParseAddr(ip), 30303, 30303)
		nodes = append(nodes, n)
	}
	l.tab.call(func() {
		for _, n := range nodes {
			l.tab.add(n, addFound)
			if e := l.tab.bucket(n.ID()).find(n.ID()); e != nil && live {
				e.live = true
			}
		}
	})
	return nodes
}

// FindNode is answered with the closest nodes, at most 12 per Neighbors
// packet, once the sender has proven its endpoint; before, nothing at all
// comes back. ENRRequest likewise.
func TestFindNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{PingInterval: time.Hour})
		p := tn.peer(2, "10.0.0.2:30303")
		synctest.Wait()
		var ips []string
		for i := range 20 {
			ips = append(ips, fmt.Sprintf("10.1.%d.1", i))
		}
		nodes := fillTable(t, l, ips, true)

		target := p.pubkey()
		p.send(l, &v4wire.FindNode{Target: target, Expiration: future()})
		p.send(l, &v4wire.ENRRequest{Expiration: future()})
		p.expectNone("FindNode and ENRRequest without endpoint proof")

		p.bond(l)
		p.send(l, &v4wire.FindNode{Target: target, Expiration: future()})
		var got []v4wire.Node
		for _, want := range []int{v4wire.MaxNeighbors, bucketSize - v4wire.MaxNeighbors} {
			pkt, _ := p.read()
			nb, ok := pkt.(*v4wire.Neighbors)
			if !ok || len(nb.Nodes) != want {
				t.Fatalf("got %v, want NEIGHBORS with %d nodes", pkt, want)
			}
			got = append(got, nb.Nodes...)
		}
		p.expectNone("after the two NEIGHBORS")
		// The 16 closest of the table, nearest first. The peer itself is
		// in the table now too.
		all := append(nodes, p.node())
		slices.SortFunc(all, func(a, b *enode.Node) int { return enode.DistCmp(target.ID(), a.ID(), b.ID()) })
		for i, n := range got {
			if n.ID.ID() != all[i].ID() {
				t.Fatalf("neighbor %d is %v, want %v", i, n.ID.ID().TerminalString(), all[i].ID().TerminalString())
			}
		}

		hash := p.send(l, &v4wire.ENRRequest{Expiration: future()})
		pkt, _ := p.read()
		resp, ok := pkt.(*v4wire.ENRResponse)
		if !ok || !bytes.Equal(resp.ReplyTok, hash[:]) {
			t.Fatalf("got %v, want ENRRESPONSE with the request hash", pkt)
		}
		n, err := enode.New(&resp.Record)
		if err != nil || n.ID() != l.Self().ID() || n.Seq() != l.Self().Seq() {
			t.Fatalf("record %v: %v", n, err)
		}
	})
}

// An empty table still answers FindNode, with one empty Neighbors.
func TestFindNodeEmptyTable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{PingInterval: time.Hour})
		p := tn.peer(2, "10.0.0.2:30303")
		synctest.Wait()
		p.bond(l)
		l.tab.deleteNode(p.id)
		synctest.Wait()
		p.send(l, &v4wire.FindNode{Expiration: future()})
		if pkt, _ := p.read(); pkt == nil || pkt.Kind() != v4wire.NeighborsPacket || len(pkt.(*v4wire.Neighbors).Nodes) != 0 {
			t.Fatalf("got %v, want empty NEIGHBORS", pkt)
		}
	})
}

// Relay rules: a requester on the Internet gets no LAN or loopback
// addresses; a LAN requester gets LAN addresses but no loopback ones.
func TestFindNodeRelayRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listen(1, "11.0.0.1:30303", Config{PingInterval: time.Hour})
		wan := tn.peer(2, "12.0.0.1:30303")
		lan := tn.peer(3, "10.0.0.3:30303")
		synctest.Wait()
		fillTable(t, l, []string{"10.9.0.1", "127.0.0.1", "13.0.0.1", "192.168.1.1"}, true)
		for _, tc := range []struct {
			p    *testPeer
			want []string
		}{
			{wan, []string{"12.0.0.1", "13.0.0.1"}},
			{lan, []string{"10.0.0.3", "10.9.0.1", "12.0.0.1", "13.0.0.1", "192.168.1.1"}},
		} {
			tc.p.bond(l)
			tc.p.send(l, &v4wire.FindNode{Expiration: future()})
			pkt, _ := tc.p.read()
			var got []string
			for _, n := range pkt.(*v4wire.Neighbors).Nodes {
				got = append(got, n.IP.String())
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("requester %v got %v, want %v", tc.p.addr(), got, tc.want)
			}
		}
	})
}

// Replies are matched: a Pong must carry the ping hash, Neighbors and
// ENRResponse must come from the node asked, at the IP asked. Anything
// else is dropped and does not complete an endpoint proof.
func TestUnsolicitedReplies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &logRecorder{}
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{PingInterval: time.Hour, Log: slogRecorder(rec)})
		p := tn.peer(2, "10.0.0.2:30303")
		other := tn.peer(3, "10.0.0.3:30303")
		synctest.Wait()

		// Pong with a wrong token: no proof.
		p.ping(l)
		for range 2 {
			pkt, _ := p.read()
			if pkt.Kind() == v4wire.PingPacket {
				p.send(l, &v4wire.Pong{ReplyTok: make([]byte, 32), Expiration: future()})
			}
		}
		synctest.Wait()
		p.send(l, &v4wire.FindNode{Expiration: future()})
		p.expectNone("FindNode after a pong with the wrong token")
		if rec.count("Dropped discv4 packet", "unsolicited reply") == 0 {
			t.Error("wrong-token pong not logged as unsolicited")
		}

		// Unsolicited Neighbors leave the table alone.
		size := l.tab.len()
		fake := enode.NewV4(cachedKey(50).PubKey(), netip.MustParseAddr("10.5.5.5"), 30303, 30303)
		p.send(l, &v4wire.Neighbors{Nodes: []v4wire.Node{nodeToWire(fake)}, Expiration: future()})
		synctest.Wait()
		if l.tab.len() != size || l.tab.node(fake.ID()) != nil {
			t.Fatal("unsolicited NEIGHBORS changed the table")
		}

		// Neighbors answering our FindNode to p, but sent by other: dropped.
		other.bond(l)
		p.bond(l)
		done := make(chan []*enode.Node)
		go func() {
			nodes, _ := l.findnode(context.Background(), p.node(), p.pubkey())
			done <- nodes
		}()
		if pkt, _ := p.read(); pkt.Kind() != v4wire.FindNodePacket {
			t.Fatalf("got %v, want FINDNODE", pkt)
		}
		other.send(l, &v4wire.Neighbors{Nodes: []v4wire.Node{nodeToWire(fake)}, Expiration: future()})
		if nodes := <-done; len(nodes) != 0 {
			t.Fatalf("findnode took %d nodes from the wrong sender", len(nodes))
		}
	})
}

// Packets with an expiration in the past are dropped without reply.
func TestExpiredPackets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &logRecorder{}
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{PingInterval: time.Hour, Log: slogRecorder(rec)})
		p := tn.peer(2, "10.0.0.2:30303")
		synctest.Wait()
		p.bond(l)
		past := uint64(time.Now().Add(-time.Second).Unix())
		p.send(l, &v4wire.Ping{Version: 4, To: p.endpoint(), Expiration: past})
		p.send(l, &v4wire.FindNode{Expiration: past})
		p.send(l, &v4wire.ENRRequest{Expiration: past})
		p.send(l, &v4wire.Ping{Version: 4, To: p.endpoint(), Expiration: ^uint64(0) - 1000})
		p.expectNone("expired packets")
		if n := rec.count("Dropped discv4 packet", "packet expired"); n != 4 {
			t.Fatalf("%d expired packets logged, want 4", n)
		}
	})
}

// EIP-868: a Ping announcing a newer record makes the listener fetch it.
func TestENRSeqFromPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{PingInterval: time.Hour})
		p := tn.peer(2, "10.0.0.2:30303")
		synctest.Wait()
		p.bond(l)
		if n := l.tab.node(p.id); n == nil || n.Seq() != 0 {
			t.Fatalf("table has %v, want the peer without record", n)
		}
		var r enr.Record
		r.Set(enr.IPv4(p.addr().Addr()))
		r.Set(enr.UDP(p.addr().Port()))
		r.SetSeq(7)
		if err := enr.SignV4(&r, p.key); err != nil {
			t.Fatal(err)
		}
		p.send(l, &v4wire.Ping{Version: 4, To: v4wire.NewEndpoint(listenerAddr(l), 0), Expiration: future(), ENRSeq: 7})
		for {
			pkt, hash := p.read()
			if pkt == nil {
				t.Fatal("no ENRREQUEST")
			}
			if pkt.Kind() == v4wire.ENRRequestPacket {
				p.send(l, &v4wire.ENRResponse{ReplyTok: hash[:], Record: r})
				break
			}
		}
		synctest.Wait()
		if n := l.tab.node(p.id); n == nil || n.Seq() != 7 {
			t.Fatalf("table has %v, want seq 7", n)
		}
	})
}

// The listener learns its external endpoint from the To field of pongs.
func TestEndpointPrediction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{PingInterval: time.Hour})
		synctest.Wait()
		external := netip.MustParseAddrPort("1.2.3.4:40404")
		for i := range 10 {
			p := tn.peer(uint64(10+i), fmt.Sprintf("11.0.%d.1:30303", i))
			p.ping(l)
			for range 2 {
				if pkt, hash := p.read(); pkt.Kind() == v4wire.PingPacket {
					p.send(l, &v4wire.Pong{To: v4wire.NewEndpoint(external, 0), ReplyTok: hash[:], Expiration: future()})
				}
			}
		}
		synctest.Wait()
		self := l.Self()
		if ep, _ := self.UDPEndpoint(); ep != external {
			t.Fatalf("record endpoint %v, want %v", ep, external)
		}
	})
}

// Datagrams that are not discv4 go to Config.Unhandled; the channel is
// closed when the listener stops.
func TestUnhandled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		ch := make(chan ReadPacket, 10)
		l := tn.listen(1, "10.0.0.1:30303", Config{Unhandled: ch, PingInterval: time.Hour})
		p := tn.peer(2, "10.0.0.2:30303")
		junk := bytes.Repeat([]byte{0xaa}, 200)
		p.sendRaw(l, junk)
		p.sendRaw(l, []byte{1, 2, 3})
		p.ping(l) // valid: handled, not passed on
		synctest.Wait()
		for _, want := range [][]byte{junk, {1, 2, 3}} {
			got := <-ch
			if !bytes.Equal(got.Data, want) || got.Addr != p.addr() {
				t.Fatalf("unhandled %x from %v", got.Data, got.Addr)
			}
		}
		select {
		case got := <-ch:
			t.Fatalf("valid packet passed on: %x", got.Data[:10])
		default:
		}
		l.Close()
		if _, ok := <-ch; ok {
			t.Fatal("channel not closed")
		}
	})
}

// Resolve finds the new record of a node that moved, through a lookup.
func TestResolve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		boot := tn.listen(1, "10.0.0.1:30303", Config{})
		synctest.Wait()
		cfg := Config{Bootnodes: []*enode.Node{boot.Self()}}
		moved := tn.listen(2, "10.0.0.2:30303", cfg)
		old := moved.Self()
		time.Sleep(time.Minute)
		moved.Close()
		tn.listen(2, "10.0.0.22:30303", cfg)
		time.Sleep(time.Minute)
		asker := tn.listen(3, "10.0.0.3:30303", cfg)
		time.Sleep(time.Minute)

		got := asker.Resolve(context.Background(), old)
		if ep, _ := got.UDPEndpoint(); ep != netip.MustParseAddrPort("10.0.0.22:30303") || got.Seq() < old.Seq() {
			t.Fatalf("resolved %v (endpoint %v)", got, ep)
		}
	})
}

// RandomNodes yields the nodes found by lookups, and ends when closed.
func TestRandomNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		boot := tn.listen(1, "10.0.0.1:30303", Config{})
		synctest.Wait()
		cfg := Config{Bootnodes: []*enode.Node{boot.Self()}}
		var all []*UDPv4
		for i := range 10 {
			all = append(all, tn.listen(uint64(10+i), fmt.Sprintf("10.0.1.%d:30303", i+1), cfg))
		}
		time.Sleep(time.Minute)
		it := all[0].RandomNodes()
		seen := make(map[enode.ID]bool)
		for len(seen) < 10 && it.Next() {
			seen[it.Node().ID()] = true
		}
		if len(seen) < 10 {
			t.Fatalf("iterator found %d nodes", len(seen))
		}
		it.Close()
		if it.Next() {
			t.Fatal("Next after Close")
		}
	})
}

// Lookups on a network where some nodes have died still converge, leaving
// the dead out.
func TestLookupSkipsDeadNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		boot := tn.listen(1, "10.0.0.1:30303", Config{})
		synctest.Wait()
		cfg := Config{Bootnodes: []*enode.Node{boot.Self()}}
		var all []*UDPv4
		for i := range 30 {
			all = append(all, tn.listen(uint64(10+i), fmt.Sprintf("10.0.1.%d:30303", i+1), cfg))
			time.Sleep(time.Second)
		}
		time.Sleep(time.Minute)
		dead := make(map[enode.ID]bool)
		for _, l := range all[20:] {
			dead[l.Self().ID()] = true
			l.Close()
		}
		found := all[0].LookupPubkey(context.Background(), cachedKey(999).PubKey())
		if len(found) == 0 {
			t.Fatal("lookup found nothing")
		}
		for _, n := range found {
			if dead[n.ID()] {
				t.Fatalf("lookup returned dead node %v", n.ID().TerminalString())
			}
		}
	})
}

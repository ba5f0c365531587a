package p2p

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/netutil/memnet"
)

func TestServerMaxPeersAndTrusted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		// With dialing off, all of MaxPeers is for inbound connections.
		b := testServer(t, n, "10.0.0.1", func(c *Config) { c.MaxPeers = 1; c.NoDial = true })
		a1 := testServer(t, n, "10.0.0.2", func(c *Config) { c.StaticNodes = []*enode.Node{b.Self()} })
		nextEvent(t, events(t, a1), PeerEventTypeAdd)
		synctest.Wait() // B admits its end a moment later: B is full before A2 dials
		if b.PeerCount() != 1 {
			t.Fatalf("B has %d peers, want A1", b.PeerCount())
		}

		a2 := testServer(t, n, "10.0.0.3", func(c *Config) { c.StaticNodes = []*enode.Node{b.Self()} })
		synctest.Wait()
		if b.PeerCount() != 1 || a2.PeerCount() != 0 {
			t.Fatalf("limit not enforced: B has %d peers", b.PeerCount())
		}
		if got := a2.Counters().Snapshot().DialOutcomes["saturated"]; got != 1 {
			t.Fatalf("A2's dial outcomes: %v", a2.Counters().Snapshot().DialOutcomes)
		}
		// Trusted nodes are let in above the limit.
		b.AddTrustedPeer(a2.Self())
		nextEvent(t, events(t, a2), PeerEventTypeAdd)
		synctest.Wait() // B admits its end a moment later
		if b.PeerCount() != 2 {
			t.Fatalf("B has %d peers", b.PeerCount())
		}
		var trusted bool
		for _, p := range b.Peers() {
			if p.ID() == a2.Self().ID() {
				trusted = p.Trusted() && p.Info().Network.Trusted
			}
		}
		if !trusted {
			t.Fatal("peer not marked trusted")
		}
		b.RemoveTrustedPeer(a2.Self())
		synctest.Wait()
		for _, p := range b.Peers() {
			if p.Trusted() {
				t.Fatal("trust not removed")
			}
		}
	})
}

// MaxPeers 6 with DialRatio 3: at most 2 dialed peers, 4 inbound.
func TestServerDialRatio(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		var remotes []*enode.Node
		for i := range 4 {
			remotes = append(remotes, testServer(t, n, "10.0.1."+string(rune('1'+i)), nil).Self())
		}
		disc := enode.CycleNodes(remotes)
		a := testServer(t, n, "10.0.0.1", func(c *Config) {
			c.MaxPeers = 6
			c.Discovery = disc
		})
		time.Sleep(10 * time.Minute)
		if got := a.PeerCount(); got != 2 {
			t.Fatalf("dialed %d peers, want 2", got)
		}
		// Inbound: 4 more are accepted, the fifth is refused.
		for i := range 5 {
			s := testServer(t, n, "10.0.2."+string(rune('1'+i)), func(c *Config) { c.StaticNodes = []*enode.Node{a.Self()} })
			synctest.Wait()
			if connected := s.PeerCount() == 1; connected != (i < 4) {
				t.Fatalf("inbound %d: connected %v", i, connected)
			}
		}
		if a.PeerCount() != 6 {
			t.Fatalf("%d peers", a.PeerCount())
		}
	})
}

// Two nodes dialing each other end up with exactly one connection.
func TestServerMutualDial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		ka, kb := newKey(t), newKey(t)
		na := enode.NewV4(ka.PubKey(), netip.MustParseAddr("10.0.0.1"), 30303, 0)
		nb := enode.NewV4(kb.PubKey(), netip.MustParseAddr("10.0.0.2"), 30303, 0)
		a := testServer(t, n, "10.0.0.1", func(c *Config) { c.PrivateKey = ka; c.StaticNodes = []*enode.Node{nb} })
		b := testServer(t, n, "10.0.0.2", func(c *Config) { c.PrivateKey = kb; c.StaticNodes = []*enode.Node{na} })
		time.Sleep(5 * time.Minute)
		if a.PeerCount() != 1 || b.PeerCount() != 1 {
			t.Fatalf("peer counts %d, %d", a.PeerCount(), b.PeerCount())
		}
	})
}

func TestServerRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		a := testServer(t, n, "10.0.0.1", nil)
		other := testServer(t, n, "10.0.0.2", func(c *Config) { c.Protocols = []Protocol{echoProto("b", 1)} })
		a.AddPeer(other.Self())
		synctest.Wait()
		if a.PeerCount() != 0 || a.Counters().Snapshot().DialOutcomes["useless"] != 1 {
			t.Fatalf("peers %d, dial outcomes %v", a.PeerCount(), a.Counters().Snapshot().DialOutcomes)
		}
		if in := other.Counters().Snapshot().ServeOutcomes; in["useless"] != 1 {
			t.Fatalf("serve outcomes %v", in)
		}
		// Our own key on the other end: refused right after the RLPx
		// handshake. (The dialer never dials our own ID.)
		c, err := rawDialKey(t, n, "10.0.0.3", a, a.Config.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		c.expectDisc(DiscSelf)
		synctest.Wait()
		if got := a.Counters().Snapshot().ServeOutcomes["self"]; got != 1 {
			t.Fatalf("self refusals: %d", got)
		}
		// A second connection from a connected node is refused.
		b := testServer(t, n, "10.0.0.4", func(c *Config) { c.StaticNodes = []*enode.Node{a.Self()} })
		nextEvent(t, events(t, b), PeerEventTypeAdd)
		synctest.Wait() // A's end too
		c, err = rawDialKey(t, n, "10.0.0.4", a, b.Config.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		c.expectDisc(DiscAlreadyConnected)
	})
}

func TestServerAddRemovePeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		b := testServer(t, n, "10.0.0.2", nil)
		a := testServer(t, n, "10.0.0.1", nil)
		a.AddPeer(b.Self())
		nextEvent(t, events(t, a), PeerEventTypeAdd)

		a.RemovePeer(b.Self())
		if a.PeerCount() != 0 {
			t.Fatal("RemovePeer returned before the peer was gone")
		}
		drop := nextEvent(t, events(t, b), PeerEventTypeDrop)
		if drop.Error != DiscRequested.Error() {
			t.Fatalf("B saw %q", drop.Error)
		}
		time.Sleep(time.Hour)
		if a.PeerCount() != 0 {
			t.Fatal("removed static node was redialed")
		}
	})
}

func TestServerStaticRedial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		b := testServer(t, n, "10.0.0.2", nil)
		a := testServer(t, n, "10.0.0.1", func(c *Config) { c.StaticNodes = []*enode.Node{b.Self()} })
		nextEvent(t, events(t, a), PeerEventTypeAdd)
		time.Sleep(time.Minute)
		// B drops A; A reconnects at once since its last dial is old.
		for _, p := range b.Peers() {
			p.Disconnect(DiscRequested)
		}
		nextEvent(t, events(t, a), PeerEventTypeDrop)
		start := time.Now()
		nextEvent(t, events(t, a), PeerEventTypeAdd)
		if took := time.Since(start); took > time.Second {
			t.Fatalf("reconnected after %v", took)
		}
	})
}

func TestServerStaticDNS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		key := newKey(t)
		testServer(t, n, "10.0.0.2", func(c *Config) { c.PrivateKey = key })
		n.AddName("b.example", netip.MustParseAddr("10.0.0.2"))
		node, err := enode.ParseV4("enode://" + hexString(pubkey64(key)) + "@b.example:30303")
		if err != nil {
			t.Fatal(err)
		}
		a := testServer(t, n, "10.0.0.1", func(c *Config) { c.StaticNodes = []*enode.Node{node} })
		nextEvent(t, events(t, a), PeerEventTypeAdd)
	})
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestServerMsgEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		ping := Protocol{Name: "a", Version: 1, Length: 5, Run: func(p *Peer, rw MsgReadWriter) error {
			if err := SendItems(rw, 3, uint(42)); err != nil {
				return err
			}
			msg, err := rw.ReadMsg()
			if err != nil {
				return err
			}
			msg.Discard()
			_, err = rw.ReadMsg()
			return err
		}}
		b := testServer(t, n, "10.0.0.2", func(c *Config) { c.Protocols = []Protocol{ping} })
		a := testServer(t, n, "10.0.0.1", func(c *Config) {
			c.Protocols = []Protocol{ping}
			c.EnableMsgEvents = true
			c.StaticNodes = []*enode.Node{b.Self()}
		})
		ev := events(t, a)
		send := nextEvent(t, ev, PeerEventTypeMsgSend)
		recv := nextEvent(t, ev, PeerEventTypeMsgRecv)
		for _, e := range []*PeerEvent{send, recv} {
			if e.Protocol != "a" || *e.MsgCode != 3 || *e.MsgSize != 2 || e.Peer != b.Self().ID() {
				t.Fatalf("event %+v", e)
			}
		}
		snap := a.Counters().Snapshot()
		if snap.OutboundPeers != 1 || snap.InboundPeers != 0 || snap.Dials != 1 || snap.DialOutcomes["success"] != 1 {
			t.Fatalf("metrics %+v", snap)
		}
		var sawA bool
		for _, tr := range snap.Egress {
			sawA = sawA || (tr.Proto == Cap{"a", 1} && tr.Code == 3 && tr.Packets == 1)
		}
		if !sawA || snap.EgressBytes == 0 || snap.IngressBytes == 0 {
			t.Fatalf("traffic %+v", snap.Egress)
		}
	})
}

// fakeNAT is a gateway with a fixed external address.
type fakeNAT struct {
	mu      sync.Mutex
	ext     netip.Addr
	mapped  map[int]int
	deleted []int
}

func (f *fakeNAT) ExternalIP(context.Context) (netip.Addr, error) { return f.ext, nil }
func (f *fakeNAT) String() string                                 { return "fake" }

func (f *fakeNAT) AddMapping(_ context.Context, proto string, ext, in int, name string, life time.Duration) (uint16, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mapped[in] = ext + 1000 // the gateway picks another port
	return uint16(ext + 1000), nil
}

func (f *fakeNAT) DeleteMapping(_ context.Context, proto string, ext, in int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, ext)
	return nil
}

func TestServerNAT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		nat := &fakeNAT{ext: netip.MustParseAddr("203.0.113.9"), mapped: make(map[int]int)}
		srv := testServer(t, n, "1.2.3.4", func(c *Config) { c.NAT = nat })
		synctest.Wait()
		self := srv.Self()
		if self.IPAddr() != nat.ext || self.TCP() != 31303 {
			t.Fatalf("record has %v:%d", self.IPAddr(), self.TCP())
		}
		srv.Stop()
		if len(nat.deleted) != 1 || nat.deleted[0] != 31303 {
			t.Fatalf("mappings deleted: %v", nat.deleted)
		}
	})
}

func TestServerNodeInfo(t *testing.T) {
	n := memnet.New()
	proto := echoProto("a", 5)
	proto.NodeInfo = func() any { return map[string]string{"network": "test"} }
	srv := testServer(t, n, "10.0.0.1", func(c *Config) { c.Protocols = []Protocol{proto}; c.Name = "trellis/test" })
	data, err := json.Marshal(srv.NodeInfo())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(data, &got)
	for _, key := range []string{"id", "name", "enode", "enr", "ip", "ports", "listenAddr", "protocols"} {
		if _, ok := got[key]; !ok {
			t.Errorf("NodeInfo JSON lacks %q: %s", key, data)
		}
	}
	if got["name"] != "trellis/test" || got["ip"] != "10.0.0.1" || got["listenAddr"] != "10.0.0.1:30303" {
		t.Fatalf("NodeInfo %s", data)
	}
	if ports := got["ports"].(map[string]any); ports["listener"] != float64(30303) {
		t.Fatalf("ports %v", ports)
	}
}

// A dialed node must prove it holds the key we dialed: another node at the
// address cannot complete the RLPx handshake.
func TestServerDialWrongIdentity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		b := testServer(t, n, "10.0.0.2", nil)
		impostor := enode.NewV4(newKey(t).PubKey(), netip.MustParseAddr("10.0.0.2"), 30303, 0)
		a := testServer(t, n, "10.0.0.1", func(c *Config) { c.StaticNodes = []*enode.Node{impostor} })
		synctest.Wait()
		if a.PeerCount() != 0 || b.PeerCount() != 0 {
			t.Fatal("connected to the wrong node")
		}
		if got := a.Counters().Snapshot().DialOutcomes["rlpx/enc"]; got != 1 {
			t.Fatalf("dial outcomes %v", a.Counters().Snapshot().DialOutcomes)
		}
	})
}

// A dialed node that accepts the connection but never answers is given up
// after the 5 s handshake deadline.
func TestServerDialHandshakeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		l, err := n.Host(netip.MustParseAddr("10.0.0.2")).Listen(context.Background(), "tcp", ":30303")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := l.Accept()
			if err == nil {
				accepted <- c
			}
		}()
		silent := enode.NewV4(newKey(t).PubKey(), netip.MustParseAddr("10.0.0.2"), 30303, 0)
		start := time.Now()
		a := testServer(t, n, "10.0.0.1", func(c *Config) { c.StaticNodes = []*enode.Node{silent} })
		c := <-accepted
		defer c.Close()
		// The connection is closed from A's side when the deadline passes.
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != handshakeTimeout {
			t.Fatalf("gave up after %v", took)
		}
		synctest.Wait()
		if got := a.Counters().Snapshot().DialOutcomes["rlpx/enc"]; got != 1 {
			t.Fatalf("dial outcomes %v", a.Counters().Snapshot().DialOutcomes)
		}
	})
}

// Two nodes that list each other as static nodes dial each other at the same
// moment. Each may keep its own connection and refuse the other's, which
// ends both; the collision redial must connect them within seconds, not
// after dialHistoryExpiration. A hundred pairs make a double drop likely.
func TestServerSimultaneousDial(t *testing.T) {
	collisions := 0
	for i := range 100 {
		synctest.Test(t, func(t *testing.T) {
			n := memnet.New()
			ka, kb := newKey(t), newKey(t)
			na := enode.NewV4(ka.PubKey(), netip.MustParseAddr("10.0.0.1"), 30303, 30303)
			nb := enode.NewV4(kb.PubKey(), netip.MustParseAddr("10.0.0.2"), 30303, 30303)
			a := testServer(t, n, "10.0.0.1", func(c *Config) { c.PrivateKey = ka; c.StaticNodes = []*enode.Node{nb} })
			b := testServer(t, n, "10.0.0.2", func(c *Config) { c.PrivateKey = kb; c.StaticNodes = []*enode.Node{na} })
			time.Sleep(5 * time.Second)
			synctest.Wait()
			if a.PeerCount() != 1 || b.PeerCount() != 1 {
				sa, sb := a.Counters().Snapshot(), b.Counters().Snapshot()
				t.Fatalf("pair %d: peers after 5s: A %d, B %d (A lower: %v)\nA dial %v serve %v\nB dial %v serve %v", i, a.PeerCount(), b.PeerCount(),
					bytes.Compare(na.ID().Bytes(), nb.ID().Bytes()) < 0, sa.DialOutcomes, sa.ServeOutcomes, sb.DialOutcomes, sb.ServeOutcomes)
			}
			for _, s := range []*Server{a, b} {
				snap := s.Counters().Snapshot()
				if snap.DialOutcomes[ConnAlreadyConnected.String()]+snap.ServeOutcomes[ConnAlreadyConnected.String()] > 0 {
					collisions++
					break
				}
			}
		})
	}
	t.Logf("pairs whose dials collided: %d of 100", collisions)
}

package p2p

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/netutil/memnet"
)

// testServer starts a server on host ip of network n. mod adjusts the config.
func testServer(t testing.TB, n *memnet.Network, ip string, mod func(*Config)) *Server {
	t.Helper()
	cfg := Config{
		PrivateKey: newKey(t),
		Name:       "test/" + ip,
		MaxPeers:   10,
		ListenAddr: ip + ":30303",
		Network:    n.Host(netip.MustParseAddr(ip)),
		Logger:     testLogger,
		Protocols:  []Protocol{echoProto("a", 5)},
	}
	if mod != nil {
		mod(&cfg)
	}
	srv := &Server{Config: cfg}
	// Subscribe before Start so that no event is missed.
	ch := make(chan *PeerEvent, 1000)
	sub := srv.SubscribeEvents(ch)
	testEvents.Store(srv, ch)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Stop()
		sub.Unsubscribe()
		testEvents.Delete(srv)
	})
	return srv
}

var testEvents sync.Map // *Server -> chan *PeerEvent

// events returns the peer events of a server made by testServer.
func events(t testing.TB, srv *Server) chan *PeerEvent {
	ch, ok := testEvents.Load(srv)
	if !ok {
		t.Fatal("not a test server")
	}
	return ch.(chan *PeerEvent)
}

// nextEvent waits for an event of the given type, skipping others.
func nextEvent(t testing.TB, ch chan *PeerEvent, typ PeerEventType) *PeerEvent {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case ev := <-ch:
			if ev.Type == typ {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}

func TestServerConnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		b := testServer(t, n, "10.0.0.2", nil)
		bEvents := events(t, b)
		a := testServer(t, n, "10.0.0.1", func(c *Config) { c.StaticNodes = []*enode.Node{b.Self()} })
		aEvents := events(t, a)

		addA := nextEvent(t, aEvents, PeerEventTypeAdd)
		addB := nextEvent(t, bEvents, PeerEventTypeAdd)
		if addA.Peer != b.Self().ID() || addB.Peer != a.Self().ID() {
			t.Fatal("peers have the wrong IDs")
		}
		pa, pb := a.Peers(), b.Peers()
		if len(pa) != 1 || len(pb) != 1 {
			t.Fatalf("peer counts %d, %d", len(pa), len(pb))
		}
		if !pa[0].StaticDialed() || pa[0].Inbound() || !pb[0].Inbound() || pb[0].StaticDialed() {
			t.Fatal("connection flags wrong")
		}
		if pb[0].Fullname() != "test/10.0.0.1" || pb[0].RemoteAddr().String()[:9] != "10.0.0.1:" {
			t.Fatalf("B sees %q at %v", pb[0].Fullname(), pb[0].RemoteAddr())
		}
		// A's peer is the node it dialed. B's is made on demand from the
		// handshake key and the remote address, once.
		if pa[0].Node() != b.Self() {
			t.Fatal("A's peer is not the dialed node")
		}
		bn := pb[0].Node()
		ra := netip.MustParseAddrPort(pb[0].RemoteAddr().String())
		if bn.ID() != a.Self().ID() || !bn.Pubkey().IsEqual(a.Self().Pubkey()) ||
			bn.IPAddr() != ra.Addr() || bn.TCP() != int(ra.Port()) || bn.UDP() != int(ra.Port()) {
			t.Fatalf("B's peer node is %v, remote address %v", bn, ra)
		}
		if pb[0].Node() != bn || pb[0].Info().Enode != bn.URLv4() {
			t.Fatal("B's peer node changed between calls")
		}

		// Stopping B disconnects A with DiscQuitting.
		b.Stop()
		drop := nextEvent(t, aEvents, PeerEventTypeDrop)
		if drop.Error != DiscQuitting.Error() {
			t.Fatalf("A's peer dropped with %q", drop.Error)
		}
		if a.PeerCount() != 0 {
			t.Fatal("A still has the peer after the drop event")
		}
	})
}

func TestServerStartErrors(t *testing.T) {
	n := memnet.New()
	host := n.Host(netip.MustParseAddr("10.0.0.1"))
	key := newKey(t)
	noRun := Protocol{Name: "x", Version: 1, Length: 1}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no key", Config{MaxPeers: 1, Network: host}},
		{"negative MaxPeers", Config{PrivateKey: key, MaxPeers: -1, Network: host}},
		{"negative DialRatio", Config{PrivateKey: key, DialRatio: -1, Network: host}},
		{"protocol without Run", Config{PrivateKey: key, Protocols: []Protocol{noRun}, Network: host}},
		{"duplicate protocol", Config{PrivateKey: key, Protocols: []Protocol{echoProto("a", 1), echoProto("a", 1)}, Network: host}},
		{"Hello too large", Config{PrivateKey: key, Name: string(make([]byte, 3000)), Network: host}},
		{"nil static node", Config{PrivateKey: key, StaticNodes: []*enode.Node{nil}, Network: host}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &Server{Config: tt.cfg}
			if err := srv.Start(); !errors.Is(err, ErrConfig) {
				t.Fatalf("Start = %v, want ErrConfig", err)
			}
			srv.Stop()
		})
	}

	// A listen failure leaves nothing running, and Start may be retried.
	blocker, err := host.Listen(t.Context(), "tcp", "10.0.0.1:30303")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Config: Config{PrivateKey: key, MaxPeers: 1, ListenAddr: "10.0.0.1:30303", Network: host, Logger: testLogger}}
	if err := srv.Start(); err == nil {
		t.Fatal("Start succeeded on a bound address")
	}
	blocker.Close()
	if err := srv.Start(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	srv.Stop()
}

func TestServerLifecycle(t *testing.T) {
	n := memnet.New()
	cfg := Config{
		PrivateKey: newKey(t),
		MaxPeers:   1,
		ListenAddr: ":0",
		Network:    n.Host(netip.MustParseAddr("10.0.0.1")),
		Logger:     testLogger,
		Protocols:  []Protocol{echoProto("a", 5)},
	}
	srv := &Server{Config: cfg}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != ErrServerRunning {
		t.Fatalf("second Start = %v", err)
	}
	// Start does not write to the config.
	if srv.Config.ListenAddr != ":0" || srv.Config.MaxPendingPeers != 0 || srv.Config.DialRatio != 0 {
		t.Fatalf("config modified: %+v", srv.Config)
	}
	addr := srv.Addr()
	if addr == nil || addr.String() == "10.0.0.1:0" {
		t.Fatalf("ListenAddr = %v", addr)
	}
	if got := fmt.Sprintf("10.0.0.1:%d", srv.Self().TCP()); got != addr.String() {
		t.Fatalf("record has TCP port %s, listening on %v", got, addr)
	}
	srv.Stop()
	srv.Stop()
	if err := srv.Start(); err != ErrServerStopped {
		t.Fatalf("Start after Stop = %v", err)
	}
}

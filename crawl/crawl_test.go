package crawl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/gossip"
	"github.com/trellis-p2p/trellis/internal/leakcheck"
	"github.com/trellis-p2p/trellis/netutil"
	"github.com/trellis-p2p/trellis/p2p"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

var loopback = netip.MustParseAddr("127.0.0.1")

// testNet is a network of n nodes on 127.0.0.1, each with a discv4 listener
// bootstrapping from the first and an RLPx server speaking gossip/1, as
// devnet builds them. (Package devnet does not expose its nodes' records,
// which a crawl needs as bootnode.)
type testNet struct {
	nodes []*enode.Node
	close []func()
}

func startTestNet(t testing.TB, n int) *testNet {
	t.Helper()
	tn := new(testNet)
	t.Cleanup(func() {
		for i := len(tn.close) - 1; i >= 0; i-- {
			tn.close[i]()
		}
	})
	restrict := new(netutil.Netlist)
	restrict.Add("127.0.0.0/8")
	for i := range n {
		key, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
		if err != nil {
			t.Fatal(err)
		}
		ln := enode.NewLocalNode(nil, key)
		ln.SetStaticIP(loopback)
		ln.SetFallbackUDP(conn.LocalAddr().(*net.UDPAddr).Port)
		dcfg := discover.Config{PrivateKey: key, NetRestrict: restrict}
		if i > 0 {
			dcfg.Bootnodes = tn.nodes[:1]
		}
		disc, err := discover.ListenV4(conn, ln, dcfg)
		if err != nil {
			conn.Close()
			t.Fatal(err)
		}
		tn.close = append(tn.close, disc.Close)
		g := gossip.New(gossip.Config{Self: enode.PubkeyToIDV4(key.PubKey())})
		srv := &p2p.Server{Config: p2p.Config{
			PrivateKey:  key,
			Name:        fmt.Sprintf("crawltest/v1.%d", i),
			MaxPeers:    10,
			ListenAddr:  netip.AddrPortFrom(loopback, 0).String(),
			NetRestrict: restrict,
			Protocols:   []p2p.Protocol{g.Protocol()},
			NoDiscovery: true,
			LocalNode:   ln,
			Logger:      slog.New(slog.DiscardHandler),
		}}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		tn.close = append(tn.close, srv.Stop)
		tn.nodes = append(tn.nodes, srv.Self())
	}
	return tn
}

func testCrawl(t *testing.T, n int, timeout time.Duration) {
	tn := startTestNet(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var progress bytes.Buffer
	start := time.Now()
	res, err := Run(ctx, Config{
		Bootnodes:  tn.nodes[:1],
		ListenAddr: "127.0.0.1:0",
		Progress:   &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("crawl of %d nodes: %v, %d lookups", n, time.Since(start).Round(time.Millisecond), res.Lookups)
	if ctx.Err() != nil {
		t.Errorf("crawl ran into its %v timeout", timeout)
	}
	got := make(map[string]*Node)
	for _, e := range res.Nodes {
		got[e.ID] = e
	}
	for i, want := range tn.nodes {
		e := got[want.ID().String()]
		if e == nil {
			t.Errorf("node %d not found", i)
			continue
		}
		if e.Hello == nil {
			t.Errorf("node %d: no Hello (dial error %q)", i, e.DialError)
			continue
		}
		if wantName := fmt.Sprintf("crawltest/v1.%d", i); e.Hello.Name != wantName || !e.Hello.KeyMatch {
			t.Errorf("node %d: Hello name %q key match %v, want %q", i, e.Hello.Name, e.Hello.KeyMatch, wantName)
		}
		if e.ENRError != "" || e.Record != want.String() {
			t.Errorf("node %d: record %s (error %q), want %s", i, e.Record, e.ENRError, want)
		}
		if e.FirstSeen.IsZero() || e.LastSeen.Before(e.FirstSeen) {
			t.Errorf("node %d: first seen %v, last seen %v", i, e.FirstSeen, e.LastSeen)
		}
	}
	if len(res.Nodes) != n {
		t.Errorf("found %d nodes, want %d", len(res.Nodes), n)
	}
	c := res.Census()
	if c.Nodes != n || c.Hellos != n || c.Records != n || c.Clients["crawltest"] != n || c.Caps["gossip/1"] != n {
		t.Errorf("census %+v", c)
	}
	var out bytes.Buffer
	c.WriteTo(&out)
	t.Logf("census:\n%s", out.String())
	if !strings.Contains(progress.String(), fmt.Sprintf("crawl: %d nodes", n)) {
		t.Errorf("progress does not report %d nodes:\n%s", n, progress.String())
	}
	// nodes.json round trip: the records parse back to the nodes.
	enc, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(enc, &back); err != nil {
		t.Fatal(err)
	}
	for _, e := range back.Nodes {
		if _, err := enode.Parse(e.Record); err != nil {
			t.Errorf("record %q does not parse: %v", e.Record, err)
		}
	}
}

func TestCrawl20(t *testing.T) { testCrawl(t, 20, 60*time.Second) }

func TestCrawl100(t *testing.T) {
	if testing.Short() {
		t.Skip("100-node network is slow on a loaded machine")
	}
	testCrawl(t, 100, 3*time.Minute)
}

func TestCrawlDialErrors(t *testing.T) {
	// A node whose TCP port has no listener: found and its record read over
	// discv4, but the dial fails and says so.
	tn := startTestNet(t, 1)
	key, _ := crypto.GenerateKey()
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	ln := enode.NewLocalNode(nil, key)
	ln.SetStaticIP(loopback)
	ln.SetFallbackUDP(conn.LocalAddr().(*net.UDPAddr).Port)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Set(enr.TCP(closed.Addr().(*net.TCPAddr).Port))
	closed.Close()
	disc, err := discover.ListenV4(conn, ln, discover.Config{PrivateKey: key, Bootnodes: tn.nodes})
	if err != nil {
		t.Fatal(err)
	}
	defer disc.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Run(ctx, Config{Bootnodes: []*enode.Node{disc.Self()}, ListenAddr: "127.0.0.1:0", IdleLookups: 8, IdleTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var bad *Node
	for _, e := range res.Nodes {
		if e.ID == disc.Self().ID().String() {
			bad = e
		}
	}
	if bad == nil {
		t.Fatalf("node without RLPx not found; found %d nodes", len(res.Nodes))
	}
	if bad.Hello != nil || !strings.Contains(bad.DialError, "connect") {
		t.Errorf("dial error %q, hello %+v; want a connect error", bad.DialError, bad.Hello)
	}
	if c := res.Census(); c.DialErrors != 1 || c.Hellos != len(res.Nodes)-1 {
		t.Errorf("census %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := Run(context.Background(), Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("no bootnodes: err %v, want ErrConfig", err)
	}
	key, _ := crypto.GenerateKey()
	noUDP := enode.NewV4(key.PubKey(), netip.Addr{}, 0, 0)
	if _, err := Run(context.Background(), Config{Bootnodes: []*enode.Node{noUDP}}); !errors.Is(err, ErrConfig) {
		t.Errorf("bootnode without endpoint: err %v, want ErrConfig", err)
	}
}

func TestClientName(t *testing.T) {
	for in, want := range map[string]string{
		"Geth/v1.17.10-stable/linux-amd64/go1.25": "Geth",
		"reth":               "reth",
		"":                   "(empty)",
		"/weird":             "(empty)",
		"Nethermind/v1.30.0": "Nethermind",
	} {
		if got := ClientName(in); got != want {
			t.Errorf("ClientName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCrawlContextEnds(t *testing.T) {
	// With a walk that would never end by itself, the context ends the
	// crawl, which returns what it found so far.
	tn := startTestNet(t, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Config{Bootnodes: tn.nodes[:1], ListenAddr: "127.0.0.1:0", IdleTime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("crawl took %v after its context ended", d)
	}
	if len(res.Nodes) == 0 || res.Finished.Before(res.Started) {
		t.Errorf("result: %d nodes, %v to %v", len(res.Nodes), res.Started, res.Finished)
	}
}

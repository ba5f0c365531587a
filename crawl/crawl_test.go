package crawl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/devnet"
	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

var loopback = netip.MustParseAddr("127.0.0.1")

// startDevnet starts an n-node devnet (package devnet: discv4
// bootstrapping from node 0, RLPx with gossip/1, nodes dialing one another)
// without gossip traffic, which a crawl does not need. The nodes trust the
// crawler with key crawler (if not nil): a node whose peer slots are all
// taken refuses a dialer before its Hello, as go-ethereum does, and in a
// devnet, whose peers do not come and go, a crawl would never read it.
func startDevnet(t testing.TB, n int, crawler *crypto.PrivateKey) *devnet.Devnet {
	return startDevnetV5(t, n, crawler, false)
}

// startDevnetV5 is startDevnet, with discv5 beside discv4 if v5.
func startDevnetV5(t testing.TB, n int, crawler *crypto.PrivateKey, v5 bool) *devnet.Devnet {
	t.Helper()
	cfg := devnet.Config{Nodes: n, GossipInterval: -1, DiscoveryV5: v5}
	if crawler != nil {
		cfg.TrustedNodes = []*enode.Node{enode.NewV4(crawler.PubKey(), netip.Addr{}, 0, 0)}
	}
	d, err := devnet.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

func testCrawl(t *testing.T, n int, timeout time.Duration) { testCrawlProto(t, n, timeout, false) }

func testCrawlProto(t *testing.T, n int, timeout time.Duration, v5 bool) {
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	d := startDevnetV5(t, n, key, v5)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var progress bytes.Buffer
	start := time.Now()
	res, err := Run(ctx, Config{
		Bootnodes:  []*enode.Node{d.Bootnode()},
		ListenAddr: "127.0.0.1:0",
		PrivateKey: key,
		V5:         v5,
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
	for i := range n {
		want := d.Node(i)
		e := got[want.ID().String()]
		if e == nil {
			t.Errorf("node %d not found", i)
			continue
		}
		if e.Hello == nil {
			t.Errorf("node %d: no Hello (dial error %q)", i, e.DialError)
			continue
		}
		if wantName := fmt.Sprintf("trellis-devnet/%d", i); e.Hello.Name != wantName || !e.Hello.KeyMatch {
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
	if c.Nodes != n || c.Hellos != n || c.Records != n || c.Clients["trellis-devnet"] != n || c.Caps["gossip/1"] != n {
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

// TestCrawlV5 walks a devnet whose nodes run discv5 beside discv4 with
// discv5 alone.
func TestCrawlV5(t *testing.T) { testCrawlProto(t, 12, 60*time.Second, true) }

func TestCrawl100(t *testing.T) {
	if testing.Short() {
		t.Skip("100-node network is slow on a loaded machine")
	}
	testCrawl(t, 100, 3*time.Minute)
}

func TestCrawlDialErrors(t *testing.T) {
	// A node whose TCP port has no listener: found and its record read over
	// discv4, but the dial fails and says so.
	d := startDevnet(t, 2, nil)
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
	disc, err := discover.ListenV4(conn, ln, discover.Config{PrivateKey: key, Bootnodes: []*enode.Node{d.Bootnode()}})
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
	d := startDevnet(t, 5, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Config{Bootnodes: []*enode.Node{d.Bootnode()}, ListenAddr: "127.0.0.1:0", IdleTime: time.Hour})
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

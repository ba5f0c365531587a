package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/crawl"
	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
)

// startDiscNode runs a node on 127.0.0.1 with a discv4 listener and an RLPx
// server announcing tst/1, bootstrapping from boot if set.
func startDiscNode(t *testing.T, i int, boot *enode.Node) *enode.Node {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 0)))
	if err != nil {
		t.Fatal(err)
	}
	ln := enode.NewLocalNode(nil, key)
	ln.SetStaticIP(lo)
	ln.SetFallbackUDP(conn.LocalAddr().(*net.UDPAddr).Port)
	cfg := discover.Config{PrivateKey: key}
	if boot != nil {
		cfg.Bootnodes = []*enode.Node{boot}
	}
	disc, err := discover.ListenV4(conn, ln, cfg)
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(disc.Close)
	srv := &p2p.Server{Config: p2p.Config{
		PrivateKey: key,
		Name:       fmt.Sprintf("crawltest/v%d", i),
		MaxPeers:   10,
		NoDial:     true,
		ListenAddr: "127.0.0.1:0",
		LocalNode:  ln,
		Logger:     slog.New(slog.DiscardHandler),
		Protocols: []p2p.Protocol{{Name: "tst", Version: 1, Length: 1, Run: func(_ *p2p.Peer, rw p2p.MsgReadWriter) error {
			_, err := rw.ReadMsg()
			return err
		}}},
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv.Self()
}

func TestCrawlCommand(t *testing.T) { testCrawlCommand(t, 4, "2s") }

// TestCrawlCommand100 is the acceptance run: all of a 100-node network.
func TestCrawlCommand100(t *testing.T) {
	if testing.Short() {
		t.Skip("100-node network is slow on a loaded machine")
	}
	testCrawlCommand(t, 100, "15s")
}

func testCrawlCommand(t *testing.T, n int, idle string) {
	boot := startDiscNode(t, 0, nil)
	want := map[string]bool{boot.ID().String(): true}
	for i := 1; i < n; i++ {
		want[startDiscNode(t, i, boot).ID().String()] = true
	}
	out := filepath.Join(t.TempDir(), "nodes.json")
	code, stdout, stderr := trellis(t, "crawl", "--bootnodes", boot.String(), "--listen", "127.0.0.1:0", "--idle", idle, "--timeout", "3m", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	t.Logf("stderr:\n%s", stderr)
	t.Logf("stdout:\n%s", stdout)
	for _, s := range []string{fmt.Sprintf("nodes: %d, records: %d, hellos: %d, dial errors: 0", n, n, n), "crawltest", "tst/1"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("census lacks %q", s)
		}
	}
	if !strings.Contains(stderr, fmt.Sprintf("crawl: wrote %d nodes to %s", n, out)) {
		t.Errorf("stderr lacks the progress lines:\n%s", stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res crawl.Result
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	for _, n := range res.Nodes {
		if !want[n.ID] || n.Hello == nil || !strings.HasPrefix(n.Record, "enr:") || n.FirstSeen.IsZero() {
			t.Errorf("unexpected entry in nodes.json: %+v", n)
		}
		delete(want, n.ID)
	}
	if len(want) > 0 {
		t.Errorf("nodes.json lacks %v", want)
	}
}

func TestCrawlCommandUsage(t *testing.T) {
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	boot := enodeURL(key, "127.0.0.1", 30303)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"crawl", "--v5", "--bootnodes", boot}, "discv5 is not implemented yet"},
		{[]string{"crawl"}, "--bootnodes is required"},
		{[]string{"crawl", "--bootnodes", "enode://nope"}, "invalid bootnode"},
		{[]string{"crawl", "--bootnodes", boot, "extra"}, "unexpected arguments"},
		{[]string{"crawl", "--bootnodes", boot, "--concurrency", "0"}, "must be positive"},
	} {
		code, _, stderr := trellis(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

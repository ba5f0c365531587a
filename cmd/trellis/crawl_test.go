package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/crawl"
	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/devnet"
	"github.com/trellis-p2p/trellis/enode"
)

func TestCrawlCommand(t *testing.T) { testCrawlCommand(t, 4, "2s", false) }

// TestCrawlCommandV5: crawl --v5 finds a small devnet whose nodes run
// discv5 beside discv4.
func TestCrawlCommandV5(t *testing.T) { testCrawlCommand(t, 6, "2s", true) }

// TestCrawlCommand100 is the acceptance run: all of a 100-node devnet.
func TestCrawlCommand100(t *testing.T) {
	if testing.Short() {
		t.Skip("100-node network is slow on a loaded machine")
	}
	testCrawlCommand(t, 100, "15s", false)
}

// testCrawlCommand crawls an n-node devnet (package devnet, as "trellis
// devnet" runs it, without gossip) and checks that nodes.json holds every
// node with its record and Hello. The devnet trusts the crawler's key: a
// node whose peer slots are taken refuses other dialers before its Hello
// (as go-ethereum does), and a devnet's peers stay put.
func testCrawlCommand(t *testing.T, n int, idle string, v5 bool) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "crawler.key")
	if code, _, stderr := trellis(t, "key", "generate", keyFile); code != 0 {
		t.Fatalf("key generate: %s", stderr)
	}
	key, err := crypto.LoadNodeKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	d, err := devnet.Start(context.Background(), devnet.Config{
		Nodes:          n,
		GossipInterval: -1,
		DiscoveryV5:    v5,
		TrustedNodes:   []*enode.Node{enode.NewV4(key.PubKey(), netip.Addr{}, 0, 0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out := filepath.Join(dir, "nodes.json")
	args := []string{"crawl", "--bootnodes", d.Bootnode().String(), "--nodekey", keyFile,
		"--listen", "127.0.0.1:0", "--idle", idle, "--timeout", "3m", "--out", out}
	if v5 {
		args = append(args, "--v5")
	}
	code, stdout, stderr := trellis(t, args...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	t.Logf("stderr:\n%s", stderr)
	t.Logf("stdout:\n%s", stdout)
	// Every node is found and its Hello read. A record request may still
	// fail on a loaded machine (three timeouts in a row); nodes.json then
	// holds the relayed endpoint and says why, checked below.
	if !regexp.MustCompile(fmt.Sprintf(`nodes: %d, records: \d+, hellos: %d, dial errors: 0`, n, n)).MatchString(stdout) {
		t.Errorf("census does not count %d nodes and hellos", n)
	}
	for _, s := range []string{"trellis-devnet", "gossip/1"} {
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
	want := map[string]int{}
	for i := range d.Nodes() {
		want[d.Node(i).ID().String()] = i
	}
	for _, e := range res.Nodes {
		i, ok := want[e.ID]
		if !ok || e.FirstSeen.IsZero() {
			t.Errorf("unexpected entry in nodes.json: %+v", e)
			continue
		}
		if !strings.HasPrefix(e.Record, "enr:") {
			if e.ENRError == "" {
				t.Errorf("node %d: record %q without a record request error", i, e.Record)
			} else {
				t.Logf("node %d: record request failed: %s", i, e.ENRError)
			}
		}
		delete(want, e.ID)
		h := e.Hello
		if h == nil || h.Name != fmt.Sprintf("trellis-devnet/%d", i) || h.Version != 5 || !h.KeyMatch ||
			len(h.Caps) != 1 || h.Caps[0] != "gossip/1" || h.ListenPort == 0 {
			t.Errorf("node %d: Hello %+v (dial error %q)", i, h, e.DialError)
		}
	}
	if len(want) > 0 {
		t.Errorf("nodes.json lacks %d nodes: %v", len(want), want)
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

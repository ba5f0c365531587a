package main

import (
	"encoding/json"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/dnsdisc"
	"github.com/trellis-p2p/trellis/dnsdisc/dnsbed"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/p2p"
)

// TestNodeDNSDiscovery is issue 7 item 5(c) end to end, with the binary and
// a real DNS server: node A runs; its record goes into a tree signed with
// "trellis dns sign" and exported with "trellis dns to-txt"; dnsmasq serves
// the records (dnsbed, 127.0.0.77); node B, whose only source of nodes is
// "--discovery.dns <url> --discovery.dns.server <dnsmasq>", dials A. Two
// broken trees beside it (a forged signature, a garbage root) give B a clear
// error each and do not stop it.
// It needs root and dnsmasq (skipped otherwise, failed with DNSBED_REQUIRED=1).
func TestNodeDNSDiscovery(t *testing.T) {
	dnsbed.Check(t)
	bin := buildTrellis(t)

	a := startNode(t, bin, "A", "--datadir", t.TempDir(), "--port", "0", "--nodiscover", "--nat", "none", "--http", "--http.port", "0", "--verbosity", "4")
	if !a.record.IPAddr().IsLoopback() || a.record.TCP() == 0 {
		t.Fatalf("A's record %v has no loopback endpoint to put in the tree", a.record)
	}

	// The tree: A among nodes nobody can reach (a branch of five leaves).
	const domain = "nodes.trellis.test"
	dir := filepath.Join(t.TempDir(), domain)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	nodes := []*enode.Node{a.record}
	for i := range 4 {
		nodes = append(nodes, unreachableNode(t, i))
	}
	data, err := json.MarshalIndent(dnsdisc.NewNodeSet(nodes), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, dnsdisc.NodesFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	keyfile := filepath.Join(t.TempDir(), "treekey")
	runBin(t, bin, "key", "generate", keyfile)
	url := strings.TrimSpace(runBin(t, bin, "dns", "sign", dir, keyfile))
	if u, err := dnsdisc.ParseURL(url); err != nil || u.Domain != domain {
		t.Fatalf("dns sign printed %q (%v)", url, err)
	}
	var records map[string]string
	if err := json.Unmarshal([]byte(runBin(t, bin, "dns", "to-txt", dir)), &records); err != nil {
		t.Fatalf("dns to-txt: %v", err)
	}
	// Next to it, two trees that do not verify (issue 7 item 6): one signed
	// by another key than its URL names, and a root that is not one.
	forgedDir := filepath.Join(t.TempDir(), "forged.trellis.test")
	if err := os.Mkdir(forgedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(forgedDir, dnsdisc.NodesFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	otherKey := filepath.Join(t.TempDir(), "otherkey")
	runBin(t, bin, "key", "generate", otherKey)
	runBin(t, bin, "dns", "sign", forgedDir, otherKey)
	var forged map[string]string
	if err := json.Unmarshal([]byte(runBin(t, bin, "dns", "to-txt", forgedDir)), &forged); err != nil {
		t.Fatalf("dns to-txt: %v", err)
	}
	maps.Copy(records, forged)
	records["garbage.trellis.test"] = "v=spf1 -all"
	forgedURL := strings.Replace(url, "@"+domain, "@forged.trellis.test", 1)
	garbageURL := strings.Replace(url, "@"+domain, "@garbage.trellis.test", 1)
	server := dnsbed.Start(t, records)

	// The tree as served holds A.
	synced := runBin(t, bin, "dns", "sync", "--server", server, url)
	if !strings.Contains(synced, a.record.String()) || !strings.Contains(synced, "# 5 nodes, 0 links") {
		t.Fatalf("dns sync of %s from %s:\n%s", url, server, synced)
	}

	// B has no bootnodes and no discv4: it can only learn of A from the
	// good tree.
	b := startNode(t, bin, "B", "--datadir", t.TempDir(), "--port", "0", "--discovery.v4=false", "--nat", "none", "--http", "--http.port", "0", "--verbosity", "4",
		"--discovery.dns", strings.Join([]string{forgedURL, url, garbageURL}, ","), "--discovery.dns.server", server)
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	var atB *p2p.PeerInfo
	for atB == nil {
		var peers []*p2p.PeerInfo
		if err := b.call(&peers, "admin_peers"); err != nil {
			t.Fatalf("admin_peers of B: %v", err)
		}
		for _, p := range peers {
			if p.ID == a.record.ID().String() {
				atB = p
			}
		}
		if atB == nil && time.Now().After(deadline) {
			t.Fatalf("B did not connect to A within 30s; B's peers: %d", len(peers))
		}
		time.Sleep(100 * time.Millisecond) // polling another process
	}
	if atB.Network.Inbound || atB.Network.Static || atB.Network.Trusted {
		t.Fatalf("B has A as %+v, want a dynamic outbound peer", atB.Network)
	}
	t.Logf("B dialed A (%s) %v after its start, from the tree %s served by dnsmasq at %s", atB.Network.RemoteAddress, time.Since(start).Round(time.Millisecond), url, server)
	a.waitPeers(t, "after B dialed A", 10*time.Second, b)

	// The broken trees: a clear error each in B's log, and B carries on.
	for _, want := range []string{"tree=forged.trellis.test", "tree=garbage.trellis.test"} {
		deadline := time.Now().Add(10 * time.Second)
		line := ""
		for line == "" {
			for l := range strings.Lines(b.stderr.String()) {
				if strings.Contains(l, "DNS discovery error") && strings.Contains(l, want) {
					line = strings.TrimSpace(l)
					break
				}
			}
			if line == "" && time.Now().After(deadline) {
				t.Fatalf("B logged no error about %s:\n%s", want, b.stderr.String())
			}
			time.Sleep(50 * time.Millisecond) // polling another process's log
		}
		t.Logf("B: %s", line)
	}
	b.waitPeers(t, "after the errors", 5*time.Second, a)

	b.stop(t)
	a.stop(t)
}

// unreachableNode is a node record whose TCP endpoint refuses connections:
// port 1 of loopback.
func unreachableNode(t *testing.T, i int) *enode.Node {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var r enr.Record
	r.SetSeq(uint64(i + 1))
	r.Set(enr.IPv4(netip.MustParseAddr("127.0.0.1")))
	r.Set(enr.TCP(1))
	if err := enr.SignV4(&r, key); err != nil {
		t.Fatal(err)
	}
	n, err := enode.New(&r)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// runBin runs the binary and returns its stdout; it must succeed.
func runBin(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("trellis %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

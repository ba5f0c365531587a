package main

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rpc"
)

func TestNodePortInUse(t *testing.T) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"node", "--datadir", t.TempDir(), "--port", port, "--nodiscover", "--nat", "none"}, &stdout, &stderr)
	if want := "TCP port " + port + " is in use (another node?): pick another with --port"; code != 1 || !strings.Contains(stderr.String(), want) {
		t.Fatalf("exit %d, stderr:\n%s\nwant %q", code, stderr.String(), want)
	}

	code = run(t.Context(), []string{"node", "--datadir", t.TempDir(), "--port", "0", "--nodiscover", "--nat", "none", "--http", "--http.addr", "", "--http.port", port}, &stdout, &stderr)
	if want := "pick others with --http.port"; code != 1 || !strings.Contains(stderr.String(), want) {
		t.Fatalf("exit %d, stderr:\n%s\nwant %q", code, stderr.String(), want)
	}
}

// TestNodeDiscoveryV4 runs two nodes with discv4 on loopback: the second is
// given the first as bootnode, and discovery alone must bring them together.
func TestNodeDiscoveryV4(t *testing.T) {
	a := startInProcessNode(t, []string{"--datadir", t.TempDir(), "--nodiscover=false"})
	if !strings.Contains(a.enode, "discport=") {
		// --port 0 binds TCP and UDP to different free ports, so the URL
		// names the UDP one.
		t.Fatalf("enode URL lacks the discovery port: %s", a.enode)
	}
	b := startInProcessNode(t, []string{"--datadir", t.TempDir(), "--nodiscover=false", "--bootnodes", a.enode})
	for _, n := range []*inProcessNode{a, b} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			var peers []*p2p.PeerInfo
			n.call(t, &peers, "admin_peers")
			if len(peers) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no peer found by discovery: %+v", peers)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var info p2p.NodeInfo
	a.call(t, &info, "admin_nodeInfo")
	if info.Ports.Discovery == 0 {
		t.Errorf("nodeInfo without discovery port: %+v", info)
	}
}

// inProcNode is a "trellis node" run in-process, with its printed lines.
type inProcNode struct {
	enode, enr, http string
	stderr           *syncBuffer
	cancel           func()
	done             chan int
}

func startInProcNode(t *testing.T, args ...string) *inProcNode {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	n := &inProcNode{stderr: new(syncBuffer), cancel: cancel, done: make(chan int, 1)}
	var stdout syncBuffer
	args = append([]string{"node", "--datadir", t.TempDir(), "--port", "0", "--nat", "none",
		"--http", "--http.port", "0", "--verbosity", "3"}, args...)
	go func() { n.done <- run(ctx, args, &stdout, n.stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-n.done; code != 0 {
			t.Errorf("node exited %d; stderr:\n%s", code, n.stderr.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "http: ") {
		if time.Now().After(deadline) {
			t.Fatalf("no endpoints printed; stderr:\n%s", n.stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // another goroutine's output
	}
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		switch {
		case strings.HasPrefix(l, "enode://"):
			n.enode = l
		case strings.HasPrefix(l, "enr:"):
			n.enr = l
		case strings.HasPrefix(l, "http: "):
			n.http = strings.TrimPrefix(l, "http: ")
		}
	}
	return n
}

func (n *inProcNode) peers(t *testing.T) []*p2p.PeerInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, n.http)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var peers []*p2p.PeerInfo
	if err := c.Call(ctx, &peers, "admin_peers"); err != nil {
		t.Fatal(err)
	}
	return peers
}

// TestNodeDiscoveryV5 runs two nodes with discv5 alone: the second, given
// the first's record as bootnode, finds it through discv5 and connects.
func TestNodeDiscoveryV5(t *testing.T) {
	a := startInProcNode(t, "--discovery.v5", "--discovery.v4=false")
	rec, err := enode.Parse(a.enr)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.UDPEndpoint(); !ok {
		t.Fatalf("record of a lacks its discovery endpoint: %s", a.enr)
	}
	b := startInProcNode(t, "--discovery.v5", "--discovery.v4=false", "--bootnodes", a.enr)
	// Both nodes dial once they know each other; if they do so at the same
	// moment, p2p drops both connections as duplicates and dials again
	// after 35 s (go-ethereum's dial history expiry).
	deadline := time.Now().Add(60 * time.Second)
	for {
		pa, pb := a.peers(t), b.peers(t)
		if len(pa) == 1 && len(pb) == 1 {
			if pb[0].ID != rec.ID().String() {
				t.Fatalf("b's peer is %s, want a (%s)", pb[0].ID, rec.ID())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no peering through discv5: a has %d peers, b %d\nstderr of b:\n%s", len(pa), len(pb), b.stderr.String())
		}
		time.Sleep(100 * time.Millisecond) // polling the nodes' admin API
	}
}

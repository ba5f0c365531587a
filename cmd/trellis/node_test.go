package main

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/p2p"
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

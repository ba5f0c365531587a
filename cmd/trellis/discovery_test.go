package main

import (
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/enode"
)

// discovery listen serves discv4 and discv5 on one socket: the enode URL and
// the record it prints name the same node and port, and both protocols
// answer there.
func TestDiscoveryListen(t *testing.T) {
	l := startListener(t, 2, "discovery", "listen", "--addr", "127.0.0.1:0", "--tcp", "30303")
	url, rec := l.lines[0], l.lines[1]
	if !strings.HasPrefix(url, "enode://") {
		t.Fatalf("first line %q, want an enode URL", url)
	}
	n := checkRecord(t, rec)
	if u := enode.MustParse(url); u.ID() != n.ID() || u.UDP() != n.UDP() || n.TCP() != 30303 {
		t.Fatalf("URL %s and record %s disagree", url, rec)
	}

	code, stdout, stderr := trellis(t, "discv4", "ping", "--addr", "127.0.0.1:0", url)
	if code != 0 || !strings.HasPrefix(stdout, "PONG from ") {
		t.Fatalf("discv4 ping: %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = trellis(t, "discv5", "ping", "--addr", "127.0.0.1:0", rec)
	if code != 0 || !strings.HasPrefix(stdout, "PONG from ") {
		t.Fatalf("discv5 ping: %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = trellis(t, "discv4", "requestenr", "--addr", "127.0.0.1:0", url)
	if code != 0 || !strings.HasPrefix(stdout, rec+"\n") {
		t.Fatalf("discv4 requestenr: %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = trellis(t, "discv5", "resolve", "--addr", "127.0.0.1:0", url)
	if code != 0 || !strings.HasPrefix(stdout, rec+"\n") {
		t.Fatalf("discv5 resolve: %d %q %q", code, stdout, stderr)
	}
}

// A shared-socket node takes bootnodes of either protocol: its discv5 table
// fills from a discv5-only node, its discv4 table from a discv4-only node,
// and lookups through it find each.
func TestDiscoveryBootnodesBothProtocols(t *testing.T) {
	// The bootnodes start first: a table refuses nodes that contact it
	// before its first refresh is done, so a node that bootstrapped from
	// the shared node the moment it printed its record could be refused.
	v5 := startListener(t, 1, "discv5", "listen", "--addr", "127.0.0.1:0")
	v4 := startListener(t, 2, "discv4", "listen", "--addr", "127.0.0.1:0")
	shared := startListener(t, 2, "discovery", "listen", "--addr", "127.0.0.1:0", "--bootnodes", v5.lines[0]+","+v4.lines[0])
	url, rec := shared.lines[0], shared.lines[1]

	// The shared node's first refresh asks both bootnodes, at a time this
	// test does not know; once a bootnode has answered, the shared node
	// serves it.
	for _, c := range []struct{ proto, node, boot string }{{"discv5", v5.lines[0], rec}, {"discv4", v4.lines[1], url}} {
		n := enode.MustParse(c.node)
		stale := enode.NewV4(n.Pubkey(), n.IPAddr(), 0, closedPort(t))
		resolveRetrying(t, c.node, c.proto, "resolve", "--addr", "127.0.0.1:0", "--bootnodes", c.boot, "--timeout", "5s", stale.URLv4())
	}
}

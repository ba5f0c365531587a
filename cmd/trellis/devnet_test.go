package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/devnet"
)

// TestDevnetAcceptance runs the acceptance command in-process:
// trellis devnet -n 20 --duration 30s --json, on loopback sockets. The peer
// graph must connect and every message published afterwards reach every node.
func TestDevnetAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("30-second devnet skipped in -short mode")
	}
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"devnet", "-n", "20", "--duration", "30s", "--json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s", code, stderr.String())
	}
	t.Logf("ran %v; stdout: %s", time.Since(start).Round(time.Millisecond), stdout.String())

	// Exactly one JSON object on stdout.
	dec := json.NewDecoder(&stdout)
	var r map[string]any
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
	if dec.More() {
		t.Fatal("more than one JSON value on stdout")
	}
	for _, key := range []string{"nodes", "nodes_with_peers", "peers_min", "peers_median", "peers_max",
		"graph_connected", "seconds_to_connected", "gossip_sent", "gossip_delivered_fraction",
		"gossip_p50_ms", "gossip_p99_ms"} {
		if _, ok := r[key]; !ok {
			t.Errorf("report lacks %q", key)
		}
	}
	if r["nodes"] != 20.0 || r["nodes_with_peers"] != 20.0 {
		t.Errorf("nodes %v, with peers %v; want 20, 20", r["nodes"], r["nodes_with_peers"])
	}
	if r["graph_connected"] != true {
		t.Errorf("graph_connected = %v", r["graph_connected"])
	}
	if s, ok := r["seconds_to_connected"].(float64); !ok || s <= 0 || s > 30 {
		t.Errorf("seconds_to_connected = %v", r["seconds_to_connected"])
	}
	if r["gossip_delivered_fraction"] != 1.0 {
		t.Errorf("gossip_delivered_fraction = %v, want 1", r["gossip_delivered_fraction"])
	}
	if n, _ := r["gossip_sent"].(float64); n < 20 {
		t.Errorf("gossip_sent = %v", r["gossip_sent"])
	}
	// Without a terminal, progress lines go to stderr every few seconds.
	if !strings.Contains(stderr.String(), "with peers") {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}
}

func TestDevnetSimText(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"devnet", "-n", "4", "--sim", "--duration", "3s", "--gossip-interval", "500ms"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"nodes:", "sim: true", "peers min/med/max:", "gossip:"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// TestDevnetV5 runs a small devnet with discv5 beside discv4 on loopback.
func TestDevnetV5(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"devnet", "-n", "6", "--v5", "--duration", "5s", "--gossip-interval", "0", "--json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s", code, stderr.String())
	}
	var r map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || r["nodes"] != 6.0 || r["graph_connected"] != true {
		t.Fatalf("report %q: %v", stdout.String(), err)
	}
}

func TestDevnetStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(2*time.Second, cancel)
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(ctx, []string{"devnet", "-n", "3", "--sim", "--json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s", code, stderr.String())
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("took %v to stop after cancel", el)
	}
	var r map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || r["nodes"] != 3.0 {
		t.Fatalf("report %q: %v", stdout.String(), err)
	}
}

func TestDevnetFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"devnet", "-n", "1"},
		{"devnet", "--maxpeers", "0"},
		{"devnet", "--duration", "-1s"},
		{"devnet", "--verbosity", "loud"},
		{"devnet", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit status %d, want 2; stderr: %s", args, code, stderr.String())
		}
	}
}

// The live view redraws itself in place: the second frame moves the cursor
// back over the first.
func TestDevnetLiveView(t *testing.T) {
	var b bytes.Buffer
	s := devnet.Stats{Nodes: 3, NodesWithPeers: 2, LargestComponent: 2, ConnectedAfter: -1, PeersMax: 2}
	n := drawStatus(&b, s, 0)
	first := b.String()
	if strings.Count(first, "\n") != n || strings.Contains(first, fmt.Sprintf("\033[%dA", n)) {
		t.Fatalf("first frame %q", first)
	}
	if !strings.Contains(first, "2/3 nodes with peers") || !strings.Contains(first, "connected not yet") {
		t.Errorf("first frame lacks progress: %q", first)
	}
	b.Reset()
	s.ConnectedAfter, s.Connected = 1500*time.Millisecond, true
	drawStatus(&b, s, n)
	if want := fmt.Sprintf("\033[%dA", n); !strings.HasPrefix(b.String(), want) {
		t.Errorf("second frame does not start with %q: %q", want, b.String())
	}
	if !strings.Contains(b.String(), "connected at 1.5s") {
		t.Errorf("second frame: %q", b.String())
	}
	if isTerminal(&b) {
		t.Error("a buffer is not a terminal")
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/p2p"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNodeConfigFile(t *testing.T) {
	// A first node to be the static and trusted peer of the configured one.
	peer := startInProcessNode(t, []string{"--datadir", t.TempDir()})
	datadir := t.TempDir()
	cfg := writeConfig(t, `
[Node]
DataDir = "`+datadir+`"
UserIdent = "from-config"
HTTPHost = "127.0.0.1"
HTTPPort = 1

[Node.P2P]
MaxPeers = 7
NoDiscovery = true
ListenAddr = ":0"
NAT = "none"
StaticNodes = ["`+peer.enode+`"]
TrustedNodes = ["`+peer.enode+`"]
`)
	// --http.port on the command line overrides HTTPPort = 1.
	n := startInProcessNode(t, []string{"--config", cfg, "--http.port", "0"})
	var info p2p.NodeInfo
	n.call(t, &info, "admin_nodeInfo")
	if !strings.HasPrefix(info.Name, "Trellis/from-config/") {
		t.Errorf("name %q", info.Name)
	}
	var dir string
	n.call(t, &dir, "admin_datadir")
	if dir != datadir {
		t.Errorf("datadir %q, want %q", dir, datadir)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var peers []*p2p.PeerInfo
		n.call(t, &peers, "admin_peers")
		if len(peers) == 1 && peers[0].Network.Static && peers[0].Network.Trusted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("static/trusted peer from config not connected: %+v", peers)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNodeConfigFileErrors(t *testing.T) {
	tests := []struct{ config, want string }{
		{"[Node]\nDataDirr = \"x\"\n", "unknown keys Node.DataDirr"},
		{"[Node.P2P]\nStaticNodes = [\"enode://bad\"]\n", "invalid StaticNodes of --config entry"},
		{"[Node.P2P]\nListenAddr = \"10.0.0.1:30303\"\n", `ListenAddr "10.0.0.1:30303": want ":<port>"`},
		{"[Node\n", "--config"},
		{"[Metrics]\nPort = \"x\"\n", "--config"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		args := []string{"node", "--config", writeConfig(t, tt.config), "--datadir", t.TempDir(), "--nodiscover", "--nat", "none", "--port", "0"}
		code := run(t.Context(), args, &stdout, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("config %q: exit %d, stderr:\n%s\nwant %q", tt.config, code, stderr.String(), tt.want)
		}
	}
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"node", "--config", "/nonexistent.toml"}, new(bytes.Buffer), &stderr); code != 1 || !strings.Contains(stderr.String(), "cannot read --config") {
		t.Errorf("missing config: %d %s", code, stderr.String())
	}
}

// inProcessNode is "trellis node" run by run() in this process.
type inProcessNode struct {
	enode, http string
}

func startInProcessNode(t *testing.T, args []string) *inProcessNode {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int)
	args = append([]string{"node", "--port", "0", "--nodiscover", "--nat", "none", "--http", "--http.port", "0", "--verbosity", "0"}, args...)
	go func() { done <- run(ctx, args, &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("node exited %d: %s", code, stderr.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "http: ") {
		if time.Now().After(deadline) {
			t.Fatalf("node did not start; stderr:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	n := new(inProcessNode)
	for _, l := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(l, "enode://") {
			n.enode = l
		}
		if s, ok := strings.CutPrefix(l, "http: "); ok {
			n.http = s
		}
	}
	return n
}

func (n *inProcessNode) call(t *testing.T, out any, method string) {
	t.Helper()
	req := `{"jsonrpc":"2.0","id":1,"method":"` + method + `"}`
	resp, err := http.Post(n.http, "application/json", strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ Result json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		t.Fatalf("%s: %s: %v", method, r.Result, err)
	}
}

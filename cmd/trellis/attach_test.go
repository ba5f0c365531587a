package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/node"
	"github.com/trellis-p2p/trellis/p2p"
)

// startAdminNode runs an ephemeral node with the admin API over HTTP and
// WebSocket on 127.0.0.1.
func startAdminNode(t *testing.T) *node.Node {
	t.Helper()
	n, err := node.New(node.Config{
		P2P:      p2p.Config{Name: "attach-test", ListenAddr: "127.0.0.1:0", MaxPeers: 5, NoDiscovery: true},
		HTTPAddr: "127.0.0.1:0",
		WSAddr:   "127.0.0.1:0",
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	return n
}

// withStdin makes attach read the given text as its standard input.
func withStdin(t *testing.T, text string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	old := attachStdin
	attachStdin = f
	t.Cleanup(func() { attachStdin = old; f.Close() })
}

func TestAttachScript(t *testing.T) {
	n := startAdminNode(t)
	peer := startAdminNode(t)
	peerURL := peer.Server().Self().URLv4()
	for _, url := range []string{"http://" + n.Endpoints().HTTP, "ws://" + n.Endpoints().WS} {
		t.Run(url[:strings.Index(url, ":")], func(t *testing.T) {
			withStdin(t, "# a comment\n\nadmin_nodeInfo\nadmin.datadir()\nadmin_addPeer(\""+peerURL+"\")\nadmin_removePeer [\""+peerURL+"\"]\n")
			code, stdout, stderr := trellis(t, "attach", url)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			// Four pretty-printed results: the node info object, "", true, true.
			dec := json.NewDecoder(strings.NewReader(stdout))
			var info struct {
				Name  string `json:"name"`
				Enode string `json:"enode"`
			}
			if err := dec.Decode(&info); err != nil || info.Enode != n.Server().Self().URLv4() || !strings.Contains(info.Name, "attach-test") {
				t.Errorf("admin_nodeInfo: %+v, err %v", info, err)
			}
			var datadir string
			var added, removed bool
			if err := dec.Decode(&datadir); err != nil || datadir != "" {
				t.Errorf("admin_datadir: %q, err %v", datadir, err)
			}
			if err := dec.Decode(&added); err != nil || !added {
				t.Errorf("admin_addPeer: %v, err %v", added, err)
			}
			if err := dec.Decode(&removed); err != nil || !removed {
				t.Errorf("admin_removePeer: %v, err %v", removed, err)
			}
			if !strings.Contains(stdout, "\n  \"enode\": ") {
				t.Errorf("result not indented:\n%s", stdout)
			}
		})
	}
}

func TestAttachExecAndErrors(t *testing.T) {
	n := startAdminNode(t)
	url := "http://" + n.Endpoints().HTTP
	code, stdout, stderr := trellis(t, "attach", "--exec", "admin_peers", url)
	if code != 0 || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("--exec admin_peers: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// A failing call is reported and the script goes on; the exit status
	// says that something failed.
	withStdin(t, "admin_noSuchMethod\nadmin_addPeer(\"enode://bad\")\nadmin_addPeer(bad json)\nadmin_peers\n")
	code, stdout, stderr = trellis(t, "attach", url)
	if code != 1 || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("script with errors: exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{"admin_noSuchMethod:", "invalid enode", "not a list of JSON values", "some calls failed: 3"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, tc := range []struct{ args []string }{
		{[]string{"attach"}},
		{[]string{"attach", "ftp://127.0.0.1:1"}},
		{[]string{"attach", "--timeout", "0", url}},
	} {
		if code, _, _ := trellis(t, tc.args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", tc.args, code)
		}
	}
}

func TestParseCall(t *testing.T) {
	for _, tc := range []struct{ in, method, params, err string }{
		{"admin_peers", "admin_peers", "[]", ""},
		{"  admin_peers()  ", "admin_peers", "[]", ""},
		{"admin.peers", "admin_peers", "[]", ""},
		{`admin_addPeer("enode://x")`, "admin_addPeer", `["enode://x"]`, ""},
		{`admin_addPeer ["enode://x"]`, "admin_addPeer", `["enode://x"]`, ""},
		{`admin_addPeer "enode://x"`, "admin_addPeer", `["enode://x"]`, ""},
		{`admin_subscribe("peerEvents", {"a": 1})`, "admin_subscribe", `["peerEvents", {"a": 1}]`, ""},
		{`admin_addPeer("x"`, "", "", "missing ')'"},
		{`admin_addPeer(x)`, "", "", "not a list of JSON values"},
		{`("x")`, "", "", "expected a method name"},
	} {
		m, p, err := parseCall(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseCall(%q): err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || m != tc.method || string(p) != tc.params {
			t.Errorf("parseCall(%q) = %q, %s, %v; want %q, %s", tc.in, m, p, err, tc.method, tc.params)
		}
	}
}

func TestCompleteMethod(t *testing.T) {
	for _, tc := range []struct {
		line   string
		pos    int
		want   string
		wantOK bool
	}{
		{"admin_no", 8, "admin_nodeInfo", true},
		{"adm", 3, "admin_", true},
		{"admin_remove", 12, "admin_remove", false}, // two matches, nothing to add
		{"admin_removeT", 13, "admin_removeTrustedPeer", true},
		{"admin_pe", 8, "admin_peer", true}, // admin_peers, admin_peerEvents
		{"admin_peer", 10, "admin_peer", false},
		{`admin_addPeer(admin_da`, 22, `admin_addPeer(admin_datadir`, true},
		{"xyz", 3, "", false},
	} {
		got, pos, ok := completeMethod(tc.line, tc.pos)
		if ok != tc.wantOK || (ok && (got != tc.want || pos != len(tc.want))) {
			t.Errorf("completeMethod(%q) = %q, %d, %v; want %q, %v", tc.line, got, pos, ok, tc.want, tc.wantOK)
		}
	}
}

func TestMethodCandidates(t *testing.T) {
	if got := methodCandidates("admin_peer", 10); strings.Join(got, " ") != "admin_peerEvents admin_peers" {
		t.Errorf("candidates of admin_peer: %q", got)
	}
	if got := methodCandidates("x admin_rem", 11); strings.Join(got, " ") != "admin_removePeer admin_removeTrustedPeer" {
		t.Errorf("candidates of admin_rem after a space: %q", got)
	}
	if got := methodCandidates("nope", 4); len(got) != 0 {
		t.Errorf("candidates of nope: %q", got)
	}
}

// TestAttachScriptSubscription: a script that subscribes goes on printing
// notifications, one JSON object per line, until interrupted.
func TestAttachScriptSubscription(t *testing.T) {
	n := startAdminNode(t)
	peer := startAdminNode(t)
	withStdin(t, "admin_peerEvents\n")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"attach", "ws://" + n.Endpoints().WS}, &stdout, &stderr) }()
	waitOutput := func(what, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(stdout.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: stdout lacks %q:\n%s\nstderr:\n%s", what, want, stdout.String(), stderr.String())
			}
			time.Sleep(10 * time.Millisecond) // output of another goroutine
		}
	}
	waitOutput("subscription ID", `"0x`)
	n.Server().AddPeer(peer.Server().Self())
	waitOutput("peer event", `"result":{"type":"add","peer":"`+peer.Server().Self().ID().String()+`"`)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n")[1:] {
		var ev struct {
			Subscription string          `json:"subscription"`
			Result       json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil || !strings.HasPrefix(ev.Subscription, "0x") {
			t.Errorf("notification line %q: %v", line, err)
		}
	}
}

func TestAttachSubscriptionOverHTTP(t *testing.T) {
	n := startAdminNode(t)
	code, _, stderr := trellis(t, "attach", "--exec", "admin_peerEvents", "http://"+n.Endpoints().HTTP)
	if code != 1 || !strings.Contains(stderr, "attach with a ws:// URL") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

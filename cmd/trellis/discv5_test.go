package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

// listener is a "listen" command running in-process until the test ends.
type listener struct {
	lines []string // what it printed at start
}

// startListener runs the command line args (a listen command) and returns
// once it has printed want lines.
func startListener(t *testing.T, want int, args ...string) *listener {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{lines: make(chan string, 10)}
	done := make(chan int)
	go func() { done <- run(ctx, args, out, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("%s exited with %d", strings.Join(args[:2], " "), code)
		}
	})
	l := new(listener)
	for len(l.lines) < want {
		select {
		case line := <-out.lines:
			l.lines = append(l.lines, line)
		case code := <-done:
			done <- code // for the cleanup
			t.Fatalf("%s exited with %d after printing %q", strings.Join(args, " "), code, l.lines)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s printed %q, want %d lines", strings.Join(args, " "), l.lines, want)
		}
	}
	return l
}

// closedPort returns a loopback UDP port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	return port
}

// checkRecord fails unless s is an enr: record with loopback IP and a UDP port.
func checkRecord(t *testing.T, s string) *enode.Node {
	t.Helper()
	if !strings.HasPrefix(s, "enr:") {
		t.Fatalf("want an enr: record, got %q", s)
	}
	n, err := enode.Parse(s)
	if err != nil {
		t.Fatalf("record %q: %v", s, err)
	}
	if ep, ok := n.UDPEndpoint(); !ok || ep.Addr().String() != "127.0.0.1" || ep.Port() == 0 {
		t.Fatalf("record %q has UDP endpoint %v", s, ep)
	}
	return n
}

// discv5 listen prints its record; ping and resolve work against it, and
// resolve finds a node whose address it has wrong through a bootnode.
func TestDiscv5Commands(t *testing.T) {
	// B starts first and is A's bootnode, so that A knows B from its first
	// refresh on. The other way round would race: a table refuses nodes
	// that contact it before its first refresh is done (as go-ethereum's
	// does), and B would contact A at once.
	keyB := writeKey(t)
	b := startListener(t, 1, "discv5", "listen", "--addr", "127.0.0.1:0", "--nodekey", keyB)
	recB := b.lines[0]
	nodeB := checkRecord(t, recB)
	a := startListener(t, 1, "discv5", "listen", "--addr", "127.0.0.1:0", "--bootnodes", recB)
	recA := a.lines[0]
	nodeA := checkRecord(t, recA)

	code, stdout, stderr := trellis(t, "discv5", "ping", "--addr", "127.0.0.1:0", recA)
	wantPong := fmt.Sprintf("PONG from %s in ", nodeA.ID().TerminalString())
	if code != 0 || !strings.HasPrefix(stdout, wantPong) || !strings.Contains(stdout, fmt.Sprintf(": enr-seq %d, sees us at 127.0.0.1:", nodeA.Seq())) {
		t.Fatalf("ping: %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = trellis(t, "discv5", "resolve", "--addr", "127.0.0.1:0", recA)
	if code != 0 || !strings.HasPrefix(stdout, recA+"\n") {
		t.Fatalf("resolve: %d %q %q", code, stdout, stderr)
	}

	// B as an enode URL with a port B does not listen on: the request
	// fails, and the lookup through A finds B's record. A serves B in
	// FINDNODE answers once B has answered A, which A's first refresh
	// asks it to at a time this test does not know, so a failed resolve is
	// retried.
	_, stdout, _ = trellis(t, "key", "inspect", "--ip", "127.0.0.1", "--udp", strconv.Itoa(closedPort(t)), keyB)
	_, staleURL, ok := strings.Cut(strings.TrimSpace(stdout[strings.Index(stdout, "enode: "):]), "enode: ")
	if !ok || enode.MustParse(staleURL).ID() != nodeB.ID() {
		t.Fatalf("key inspect printed %q", stdout)
	}
	resolveRetrying(t, recB, "discv5", "resolve", "--addr", "127.0.0.1:0", "--bootnodes", recA, "--timeout", "5s", staleURL)
}

// resolveRetrying runs a resolve command line until it prints want as the
// record, for at most 30 seconds.
func resolveRetrying(t *testing.T, want string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for attempt := 1; ; attempt++ {
		code, stdout, stderr := trellis(t, args...)
		if code == 0 && strings.HasPrefix(stdout, want+"\n") {
			t.Logf("%s %s: found after %d attempts", args[0], args[1], attempt)
			return
		}
		if code == 0 && strings.HasPrefix(args[0], "discv5") {
			t.Fatalf("%q printed %q, want %s", args, stdout, want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q, attempt %d: exit %d, stdout %q, stderr %q", args, attempt, code, stdout, stderr)
		}
	}
}

// Bad input is a usage error (exit 2); a node that does not answer is a
// timeout (exit 1) that says so.
func TestDiscv5Errors(t *testing.T) {
	for _, args := range [][]string{
		{"discv5", "ping"},
		{"discv5", "ping", "enode://nope"},
		{"discv5", "ping", "enr:!!!"},
		{"discv5", "resolve", "a", "b"},
		{"discv5", "ping", "--addr", "localhost", "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8"},
		{"discv5", "listen", "--bootnodes", "enode://nope"},
		{"discv5", "listen", "extra"},
		{"discovery", "listen", "--tcp", "70000"},
	} {
		if code, _, stderr := trellis(t, args...); code != 2 || !strings.Contains(stderr, "--help") {
			t.Errorf("%q: exit %d, stderr %q; want a usage error", args, code, stderr)
		}
	}

	// A node without an address cannot be contacted.
	_, stdout, _ := trellis(t, "key", "inspect", writeKey(t))
	url, _, _ := strings.Cut(strings.TrimPrefix(stdout[strings.Index(stdout, "enode: "):], "enode: "), "@")
	code, _, stderr := trellis(t, "discv5", "ping", url)
	if code != 2 || !strings.Contains(stderr, "cannot be contacted") {
		t.Errorf("node without address: exit %d, stderr %q", code, stderr)
	}

	_, stdout, _ = trellis(t, "key", "inspect", "--udp", strconv.Itoa(closedPort(t)), writeKey(t))
	silent := strings.TrimPrefix(stdout[strings.Index(stdout, "enode: "):], "enode: ")
	silent = strings.TrimSpace(silent)
	start := time.Now()
	code, stdout, stderr = trellis(t, "discv5", "ping", "--addr", "127.0.0.1:0", "--timeout", "2s", silent)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "no PONG") || !strings.Contains(stderr, "timed out") {
		t.Errorf("ping to a silent port: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ping with --timeout 2s took %v", d)
	}
	code, _, stderr = trellis(t, "discv5", "resolve", "--addr", "127.0.0.1:0", "--timeout", "2s", silent)
	if code != 1 || !strings.Contains(stderr, "record not found") {
		t.Errorf("resolve of a silent node: exit %d, stderr %q", code, stderr)
	}
}

func writeKey(t *testing.T) string {
	t.Helper()
	key := filepath.Join(t.TempDir(), "nodekey")
	if code, _, errOut := trellis(t, "key", "generate", key); code != 0 {
		t.Fatalf("key generate: %d %s", code, errOut)
	}
	return key
}

func TestDiscv5Help(t *testing.T) {
	for _, name := range []string{"discv5 listen", "discv5 ping", "discv5 resolve", "discovery listen"} {
		code, out, _ := trellis(t, append(strings.Fields(name), "--help")...)
		if code != 0 || !strings.Contains(out, "Usage: trellis "+name) || !strings.Contains(out, "-bootnodes") {
			t.Errorf("%s --help: %d %q", name, code, out)
		}
	}
	_, out, _ := trellis(t, "help")
	for _, name := range []string{"discv5 listen", "discv5 ping", "discv5 resolve", "discovery listen"} {
		if !strings.Contains(out, name) {
			t.Errorf("command list lacks %q", name)
		}
	}
}

// With --nodekey and --nodedb, a restarted listener keeps its identity and
// its record's sequence number does not go back.
func TestDiscv5NodeDB(t *testing.T) {
	dir := t.TempDir()
	key := writeKey(t)
	db := filepath.Join(dir, "nodes.db")
	var records []*enode.Node
	for range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		out := &lineWriter{lines: make(chan string, 10)}
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"discv5", "listen", "--addr", "127.0.0.1:0", "--nodekey", key, "--nodedb", db}, out, io.Discard)
		}()
		select {
		case line := <-out.lines:
			records = append(records, checkRecord(t, line))
		case code := <-done:
			t.Fatalf("listen exited with %d", code)
		case <-time.After(10 * time.Second):
			t.Fatal("listen printed nothing")
		}
		cancel()
		if code := <-done; code != 0 {
			t.Fatalf("listen exited with %d", code)
		}
	}
	if records[0].ID() != records[1].ID() || records[1].Seq() < records[0].Seq() {
		t.Fatalf("restart changed the identity or lowered the sequence number:\n%s\n%s", records[0], records[1])
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rpc"
)

// buildTrellis compiles the command into a temporary directory.
func buildTrellis(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	bin := filepath.Join(t.TempDir(), "trellis")
	out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// nodeProc is a running "trellis node" process.
type nodeProc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	enode  *enode.Node // from the enode:// line
	record *enode.Node // from the enr: line, with the record's signature
	http   string
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, set before done is closed
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startNodeProc starts a node on loopback without discovery and reads its
// enode URL and HTTP endpoint from stdout.
func startNodeProc(t *testing.T, bin, name, datadir string, port int) *nodeProc {
	t.Helper()
	return startNode(t, bin, name, "--datadir", datadir, "--port", strconv.Itoa(port),
		"--nodiscover", "--nat", "none", "--http", "--http.port", "0", "--verbosity", "4")
}

// startNode starts "trellis node" with args, which must enable --http, and
// reads its enode URL, record and HTTP endpoint from stdout. The process is
// killed at the end of the test if it still runs.
func startNode(t *testing.T, bin, name string, args ...string) *nodeProc {
	t.Helper()
	p := &nodeProc{t: t, name: name, stderr: new(syncBuffer), done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"node"}, args...)...)
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		// A test that failed half-way must not leave processes behind.
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("stderr of %s:\n%s", p.name, p.stderr.String())
		}
	})
	timeout := time.After(30 * time.Second)
	for p.http == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%s exited before printing its endpoints:\n%s", name, p.stderr.String())
			}
			switch {
			case strings.HasPrefix(l, "enode://"):
				if p.enode, err = enode.ParseV4(l); err != nil {
					t.Fatalf("%s printed a bad enode URL %q: %v", name, l, err)
				}
			case strings.HasPrefix(l, "enr:"):
				n, err := enode.Parse(l)
				if err != nil || p.enode == nil || n.ID() != p.enode.ID() {
					t.Fatalf("%s printed ENR %q not matching its enode: %v", name, l, err)
				}
				p.record = n
			case strings.HasPrefix(l, "http: "):
				p.http = strings.TrimPrefix(l, "http: ")
			}
		case <-timeout:
			t.Fatalf("%s did not print its endpoints in time:\n%s", name, p.stderr.String())
		}
	}
	go func() {
		for range lines { // keep draining, so the node never blocks on stdout
		}
	}()
	return p
}

func (p *nodeProc) call(out any, method string, params ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, p.http)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Call(ctx, out, method, params...)
}

// peerIDs returns the IDs in admin_peers.
func (p *nodeProc) peerIDs() []string {
	var peers []*p2p.PeerInfo
	if err := p.call(&peers, "admin_peers"); err != nil {
		p.t.Fatalf("admin_peers of %s: %v", p.name, err)
	}
	var ids []string
	for _, pi := range peers {
		ids = append(ids, pi.ID)
	}
	return ids
}

func (p *nodeProc) waitPeers(t *testing.T, what string, timeout time.Duration, want ...*nodeProc) {
	t.Helper()
	var wantIDs []string
	for _, w := range want {
		wantIDs = append(wantIDs, w.enode.ID().String())
	}
	deadline := time.Now().Add(timeout)
	for {
		got := p.peerIDs()
		if fmt.Sprint(got) == fmt.Sprint(wantIDs) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: peers of %s are %v, want %v", what, p.name, got, wantIDs)
		}
		time.Sleep(100 * time.Millisecond) // polling another process
	}
}

// stop sends SIGINT and checks that the process exits 0 in time.
func (p *nodeProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("signal %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit within 20s of SIGINT", p.name)
	}
	if p.err != nil {
		t.Fatalf("%s exited with %v\n%s", p.name, p.err, p.stderr.String())
	}
}

// TestNodeE2E is the acceptance test of "trellis node": two processes on
// loopback are connected with admin_addPeer over HTTP, the static peer comes
// back after a restart, and both shut down cleanly on SIGINT.
func TestNodeE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and waits for a static redial (~40s)")
	}
	bin := buildTrellis(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	a := startNodeProc(t, bin, "A", dirA, 0)
	b := startNodeProc(t, bin, "B", dirB, 0)

	var ok bool
	if err := a.call(&ok, "admin_addPeer", b.enode.URLv4()); err != nil || !ok {
		t.Fatalf("admin_addPeer: %v %v", ok, err)
	}
	a.waitPeers(t, "after admin_addPeer", 10*time.Second, b)
	b.waitPeers(t, "after admin_addPeer", 10*time.Second, a)

	// A second node on B's datadir is refused while B runs.
	out, err := exec.Command(bin, "node", "--datadir", dirB, "--port", "0", "--nodiscover", "--nat", "none").CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), "datadir "+dirB+" is in use by another process") {
		t.Fatalf("second node on one datadir: exit %d, output:\n%s", code, out)
	}

	// Restart B on the same port and datadir: same identity, and A, which
	// holds B as a static peer, dials it again.
	b.stop(t)
	a.waitPeers(t, "after B stopped", 10*time.Second)
	oldB := b.enode
	b = startNodeProc(t, bin, "B'", dirB, oldB.TCP())
	if b.enode.ID() != oldB.ID() {
		t.Fatalf("B has a new identity after restart: %v, was %v", b.enode.ID(), oldB.ID())
	}
	// The dialer waits 35s after a dial before dialing the same node again
	// (go-ethereum's dialHistoryExpiration), so allow a minute and more.
	a.waitPeers(t, "after B restarted", 90*time.Second, b)
	b.waitPeers(t, "after B restarted", 10*time.Second, a)

	a.stop(t)
	b.stop(t)
}

// TestNodeCommandErrors checks that mistakes on the command line are
// refused with a hint, without starting anything.
func TestNodeCommandErrors(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"--bootnodes", "enode://xyz@127.0.0.1:1"}, 2, "invalid --bootnodes entry"},
		{[]string{"--netrestrict", "10.0.0.0"}, 2, "invalid --netrestrict"},
		{[]string{"--nat", "bogus"}, 2, "invalid --nat"},
		{[]string{"--nat.lifetime", "1s"}, 2, "invalid --nat.lifetime 1s: at least 2s"},
		{[]string{"--port", "70000"}, 2, "invalid --port 70000"},
		{[]string{"--log.format", "xml"}, 2, "invalid --log.format"},
		{[]string{"--nodekey", "/nonexistent/key"}, 1, "cannot read --nodekey /nonexistent/key"},
		{[]string{"--nodekeyhex", "zz"}, 2, "invalid --nodekeyhex"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		args := append([]string{"node", "--datadir", t.TempDir(), "--nodiscover", "--nat", "none"}, tt.args...)
		code := run(t.Context(), args, &stdout, &stderr)
		if code != tt.wantCode || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%q: exit %d, stderr:\n%s\nwant exit %d and %q", tt.args, code, stderr.String(), tt.wantCode, tt.want)
		}
	}
}

func TestNodeRunsUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"node", "--datadir", dir, "--port", "0", "--nodiscover", "--nat", "none",
			"--http", "--http.port", "0", "--ws", "--ws.port", "0", "--metrics", "--metrics.port", "0", "--verbosity", "0"}, &stdout, &stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "metrics: ") {
		if time.Now().After(deadline) {
			t.Fatalf("no endpoints printed; stderr:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "enode://") || !strings.HasPrefix(lines[1], "enr:") ||
		!strings.HasPrefix(lines[2], "http: http://127.0.0.1:") || !strings.HasPrefix(lines[3], "ws: ws://127.0.0.1:") ||
		!strings.HasPrefix(lines[4], "metrics: http://127.0.0.1:") {
		t.Fatalf("stdout:\n%s", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "nodekey")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

package natbed

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/p2p"
)

// The "trellis node" processes of the tests: the real binary, run with
// "ip netns exec" in a namespace of the testbed. Their admin JSON-RPC
// listens on loopback inside that namespace, which the test (in the host
// namespace) reaches through a copy of the test binary in the namespace
// forwarding a Unix socket (Unix sockets with a path are not confined to a
// network namespace) to it.

const (
	// rpcPort is the nodes' HTTP-RPC port, on 127.0.0.1 of their namespace.
	rpcPort = 8545
	// Environment of the forwarding children.
	envSocket = "NATBED_SOCKET"
	envTarget = "NATBED_TARGET"
)

// buildTrellis compiles the trellis command once for the test.
func buildTrellis(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("natbed: no go command in PATH to build trellis: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "trellis")
	start := time.Now()
	out, err := exec.Command(gobin, "build", "-o", bin, "github.com/trellis-p2p/trellis/cmd/trellis").CombinedOutput()
	if err != nil {
		t.Fatalf("go build trellis: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// trellisNode is a "trellis node" process in a namespace.
type trellisNode struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	rpc  *http.Client
	done chan struct{} // closed when the process has exited
	err  error         // of Wait, valid after done

	mu     sync.Mutex
	logs   []map[string]any // stderr, one JSON object per line (--log.format json)
	output bytes.Buffer     // stdout and stderr as printed
}

// startTrellis runs "trellis node" in namespace ns on port nodePort with a
// fresh data directory, HTTP-RPC on 127.0.0.1:rpcPort, debug logs in JSON,
// the mapping lifetime testLifetime, and the extra flags args.
func startTrellis(t *testing.T, bin, ns, name string, args ...string) *trellisNode {
	t.Helper()
	n := &trellisNode{t: t, name: name + "@" + ns, done: make(chan struct{})}
	argv := append([]string{"netns", "exec", ns, bin, "node",
		"--datadir", t.TempDir(), "--port", strconv.Itoa(nodePort),
		"--http", "--http.port", strconv.Itoa(rpcPort),
		"--verbosity", "4", "--log.format", "json",
		"--nat.lifetime", testLifetime.String()}, args...)
	n.cmd = exec.Command("ip", argv...)
	n.cmd.Stdout = &lockedBuffer{&n.mu, &n.output}
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	// ip netns exec execs the command in its own process: the PID is the
	// node's, and a signal to it reaches the node.
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("started %s: trellis node %s", n.name, strings.Join(argv[5:], " "))
	go func() {
		defer close(n.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var rec map[string]any
			n.mu.Lock()
			n.output.Write(append(sc.Bytes(), '\n'))
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				n.logs = append(n.logs, rec)
			}
			n.mu.Unlock()
		}
		n.err = n.cmd.Wait()
	}()

	sock := filepath.Join(t.TempDir(), "rpc.sock")
	fwd := startChild(t, ns, "TestChildForward", "forward", envSocket+"="+sock, envTarget+"="+net.JoinHostPort("127.0.0.1", strconv.Itoa(rpcPort)))
	fwd.await(10*time.Second, "forwarder ready", func(ev event) bool { return ev.Ev == "forwarding" })
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
		DisableKeepAlives: true,
	}
	n.rpc = &http.Client{Transport: tr, Timeout: 10 * time.Second}

	t.Cleanup(func() {
		// A test that failed half-way leaves no process behind.
		select {
		case <-n.done:
		default:
			n.cmd.Process.Kill()
			<-n.done
		}
		tr.CloseIdleConnections()
		if t.Failed() {
			t.Logf("output of %s:\n%s", n.name, n.dump())
		}
	})

	// The node is up once its RPC answers.
	poll(t, 20*time.Second, n.name+" answering admin_nodeInfo", func() (bool, string) {
		select {
		case <-n.done:
			t.Fatalf("%s exited (%v):\n%s", n.name, n.err, n.dump())
		default:
		}
		var info p2p.NodeInfo
		err := n.call(&info, "admin_nodeInfo")
		return err == nil, fmt.Sprint(err)
	})
	return n
}

func (n *trellisNode) dump() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.output.String()
}

// call makes a JSON-RPC call to the node.
func (n *trellisNode) call(out any, method string, params ...any) error {
	if params == nil {
		params = []any{}
	}
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	// The Host header is an IP address, which the node always accepts.
	resp, err := n.rpc.Post(fmt.Sprintf("http://127.0.0.1:%d/", rpcPort), "application/json", bytes.NewReader(req))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	var r struct {
		Result json.RawMessage
		Error  *struct{ Message string }
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("%s: bad reply %q", method, body)
	}
	if r.Error != nil {
		return fmt.Errorf("%s: %s", method, r.Error.Message)
	}
	return json.Unmarshal(r.Result, out)
}

func (n *trellisNode) nodeInfo() (*p2p.NodeInfo, error) {
	var info p2p.NodeInfo
	err := n.call(&info, "admin_nodeInfo")
	return &info, err
}

// peer returns the admin_peers entry of the peer with ID id, nil if there
// is none.
func (n *trellisNode) peer(id string) (*p2p.PeerInfo, error) {
	var peers []*p2p.PeerInfo
	if err := n.call(&peers, "admin_peers"); err != nil {
		return nil, err
	}
	for _, p := range peers {
		if p.ID == id {
			return p, nil
		}
	}
	return nil, nil
}

// logged returns the log records of module nat with message msg.
func (n *trellisNode) logged(msg string) []map[string]any {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []map[string]any
	for _, rec := range n.logs {
		if rec["module"] == "nat" && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// interrupt sends SIGINT, as Ctrl-C would, and waits for a clean exit.
func (n *trellisNode) interrupt(timeout time.Duration) {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGINT); err != nil {
		n.t.Fatalf("signal %s: %v", n.name, err)
	}
	select {
	case <-n.done:
	case <-time.After(timeout):
		n.t.Fatalf("%s did not exit within %v of SIGINT", n.name, timeout)
	}
	if n.err != nil {
		n.t.Fatalf("%s exited with %v", n.name, n.err)
	}
}

type lockedBuffer struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w *lockedBuffer) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(b)
}

// poll calls cond until it holds or timeout passes, and fails the test with
// the last state cond described. The nodes and the router are other
// processes, which offer nothing to wait on.
func poll(t *testing.T, timeout time.Duration, what string, cond func() (ok bool, state string)) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, state)
		}
		<-tick.C
	}
}

// TestChildForward forwards connections to a Unix socket (the path in
// NATBED_SOCKET) to a TCP address of its namespace (NATBED_TARGET), until
// its stdin closes.
func TestChildForward(t *testing.T) {
	childRole(t, "forward")
	sock, target := os.Getenv(envSocket), os.Getenv(envTarget)
	l, err := net.Listen("unix", sock)
	if err != nil {
		fail(t, "listen %s: %v", sock, err)
	}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		l.Close()
	}()
	report(event{Ev: "forwarding", Detail: sock + " -> " + target})
	for {
		c, err := l.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			fail(t, "accept: %v", err)
		}
		go forward(c, target)
	}
}

func forward(c net.Conn, target string) {
	defer c.Close()
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return // the client sees the connection close: the node is not up yet
	}
	defer up.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	<-done
}

//go:build unix

package p2pinterop

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
)

// manyPeers is how many idle peers TestTrellisHoldsManyIdlePeers connects.
const manyPeers = 10_000

// poolEnv tells a re-executed test binary to be a pool of raw clients:
// "<addr> <server public key hex> <count>".
const poolEnv = "P2PINTEROP_CLIENT_POOL"

// raiseFDLimit raises the soft limit on file descriptors as far as the hard
// limit allows and returns it.
func raiseFDLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}

// One Trellis server holds 10,000 idle peers over real loopback TCP.
//
// With both ends in one process that would take 20,000 file descriptors, and
// this machine's hard RLIMIT_NOFILE is 20,000 and cannot be raised (no
// CAP_SYS_RESOURCE). So the clients run in a second process, this test
// binary re-executed as TestClientPool: each process then needs about
// 10,000 descriptors. The clients are raw Trellis rlpx connections that
// ping every 10 s, since the server drops a peer silent for 30 s.
//
// The figures logged are the server's alone: heap and stack per peer,
// goroutines per peer. Cost: the log line "connected ... in" says; about
// 10,000 handshakes of CPU. -short skips it.
func TestTrellisHoldsManyIdlePeers(t *testing.T) {
	if testing.Short() {
		t.Skip("connects 10,000 peers")
	}
	if lim, err := raiseFDLimit(); err != nil || lim < manyPeers+1000 {
		t.Skipf("RLIMIT_NOFILE is %d (%v); need %d", lim, err, manyPeers+1000)
	}
	srv := newTrellis(t, nodeOpts{quiet: true, noEvents: true, maxPeers: manyPeers, noDial: true})
	before := readMem()
	start := time.Now()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestClientPool$", "-test.v")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %x %d", poolEnv, serverAddr(srv), crypto.MarshalPubkey(srv.k.pub()), manyPeers))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The pool prints "ready" once every client is connected, "pinged"
	// after each ping round asked for on stdin, and exits when stdin closes.
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var output []string
	waitLine := func(want string) {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("client pool ended before %q:\n%s\nstderr:\n%s", want, strings.Join(output, "\n"), stderr.String())
				}
				output = append(output, l)
				if l == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("client pool did not print %q in time", want)
			}
		}
	}
	defer func() {
		stdin.Close()
		for l := range lines {
			output = append(output, l)
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("client pool: %v\nstdout:\n%s\nstderr:\n%s", err, strings.Join(output, "\n"), stderr.String())
		}
	}()
	waitLine("ready")
	waitPeers(t, srv, manyPeers, 2*time.Minute)
	took := time.Since(start)
	m := readMem().perPeer(before, manyPeers)
	t.Logf("connected %d idle peers in %v (%.0f/s); server per peer: %.0f B heap, %.0f B stack, %.2f goroutines",
		manyPeers, took.Round(time.Millisecond), manyPeers/took.Seconds(), m.heap, m.stack, m.goroutines)
	if n := srv.srv.Counters().Snapshot().InboundPeers; n != manyPeers {
		t.Errorf("metrics count %d inbound peers", n)
	}
	if m.goroutines > 3 {
		t.Errorf("%.2f goroutines per idle peer, want at most 3", m.goroutines)
	}

	// Still all there after the clients' next keep-alive round.
	fmt.Fprintln(stdin, "ping")
	waitLine("pinged")
	if n := srv.peerCount(); n != manyPeers {
		t.Fatalf("%d peers after a ping round, want %d", n, manyPeers)
	}
	stopStart := time.Now()
	srv.stop()
	t.Logf("Stop with %d peers took %v", manyPeers, time.Since(stopStart).Round(time.Millisecond))
}

// TestClientPool is the client side of TestTrellisHoldsManyIdlePeers when
// run as a subprocess; otherwise it skips.
func TestClientPool(t *testing.T) {
	spec := os.Getenv(poolEnv)
	if spec == "" {
		t.Skip("only run as a subprocess of TestTrellisHoldsManyIdlePeers")
	}
	if _, err := raiseFDLimit(); err != nil {
		t.Fatal(err)
	}
	var addr, pubHex, countStr string
	if _, err := fmt.Sscan(spec, &addr, &pubHex, &countStr); err != nil {
		t.Fatal(err)
	}
	pubBytes, _ := hex.DecodeString(pubHex)
	pub, err := crypto.UnmarshalPubkey(pubBytes)
	if err != nil {
		t.Fatal(err)
	}
	count, _ := strconv.Atoi(countStr)
	clients := connectRawTo(t, "trellis", addr, key{pk: pub}, count, 8)
	defer closeAll(clients)

	var mu sync.Mutex // one writer per connection
	pingAll := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range clients {
			c.ping()
		}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				pingAll()
			case <-quit:
				return
			}
		}
	}()
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "ping" {
			pingAll()
			fmt.Println("pinged")
		}
	}
	close(quit)
	wg.Wait()
}

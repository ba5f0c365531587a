package p2p

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/rlpx"
)

// TestIdlePeerCost connects N idle peers (TRELLIS_IDLE_PEERS, default: test
// skipped) to one server over loopback TCP and reports the goroutines and
// the heap plus stack memory each peer costs the server. The remote ends run
// in a separate process, so that only the server is measured.
//
//	TRELLIS_IDLE_PEERS=10000 go test ./p2p -run TestIdlePeerCost -v -timeout 10m
func TestIdlePeerCost(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("TRELLIS_IDLE_PEERS"))
	if n <= 0 {
		t.Skip("set TRELLIS_IDLE_PEERS to run")
	}
	idle := Protocol{Name: "idle", Version: 1, Length: 1, Run: func(p *Peer, rw MsgReadWriter) error {
		for {
			msg, err := rw.ReadMsg()
			if err != nil {
				return err
			}
			msg.Discard()
		}
	}}
	srv := &Server{Config: Config{
		PrivateKey: newKey(t),
		MaxPeers:   n + 10,
		NoDial:     true,
		ListenAddr: "127.0.0.1:0",
		Logger:     testLogger,
		Protocols:  []Protocol{idle},
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	before := memUse()
	goroutinesBefore := runtime.NumGoroutine()

	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleSwarm$", "-test.v")
	cmd.Env = append(os.Environ(),
		"TRELLIS_SWARM_ADDR="+srv.Addr().String(),
		"TRELLIS_SWARM_KEY="+hex.EncodeToString(crypto.MarshalPubkey(srv.Self().Pubkey())),
		"TRELLIS_SWARM_N="+strconv.Itoa(n),
	)
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			t.Log("swarm:", sc.Text())
		}
	}()
	deadline := time.Now().Add(5 * time.Minute)
	for srv.PeerCount() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d peers connected", srv.PeerCount(), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d peers connected in %v", n, time.Since(start).Round(time.Millisecond))
	// Let every peer ping and be pinged, so timers and buffers are in their
	// steady state.
	time.Sleep(idleSettle())
	if got := srv.PeerCount(); got != n {
		t.Fatalf("%d peers left of %d", got, n)
	}
	after := memUse()
	goroutines := runtime.NumGoroutine() - goroutinesBefore
	if path := os.Getenv("TRELLIS_IDLE_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	t.Logf("per idle peer: %.2f goroutines, %.0f bytes heap+stack (heap %.0f, stack %.0f)",
		float64(goroutines)/float64(n),
		float64(after.total()-before.total())/float64(n),
		float64(after.heap-before.heap)/float64(n),
		float64(after.stack-before.stack)/float64(n))
}

type memStats struct{ heap, stack uint64 }

func (m memStats) total() uint64 { return m.heap + m.stack }

func memUse() memStats {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memStats{heap: ms.HeapInuse, stack: ms.StackInuse}
}

// TestIdleSwarm is the remote side of TestIdlePeerCost, run in a child
// process: N minimal peers that complete the handshakes and answer pings.
func TestIdleSwarm(t *testing.T) {
	addr := os.Getenv("TRELLIS_SWARM_ADDR")
	if addr == "" {
		t.Skip("helper process for TestIdlePeerCost")
	}
	n, _ := strconv.Atoi(os.Getenv("TRELLIS_SWARM_N"))
	keyBytes, _ := hex.DecodeString(os.Getenv("TRELLIS_SWARM_KEY"))
	serverKey, err := crypto.UnmarshalPubkey(keyBytes)
	if err != nil {
		t.Fatal(err)
	}
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := swarmPeer(addr, serverKey, sem)
			if err != nil {
				fmt.Printf("peer %d: %v\n", i, err)
			}
		}()
	}
	wg.Wait()
}

// swarmPeer connects, handshakes, releases its slot in sem and then answers
// pings until the connection ends.
func swarmPeer(addr string, serverKey *crypto.PublicKey, sem chan struct{}) error {
	released := false
	defer func() {
		if !released {
			<-sem
		}
	}()
	key, _ := crypto.GenerateKey()
	fd, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return err
	}
	defer fd.Close()
	c := rlpx.NewConn(fd, serverKey)
	fd.SetDeadline(time.Now().Add(time.Minute))
	if _, err := c.Handshake(key); err != nil {
		return err
	}
	h := &hello{Version: 5, Name: "swarm", Caps: []Cap{{"idle", 1}}, ID: crypto.MarshalPubkey(key.PubKey())[1:]}
	if _, err := c.WriteMsg(helloMsg, h.encode()); err != nil {
		return err
	}
	if code, _, _, err := c.ReadMsg(); err != nil || code != helloMsg {
		return fmt.Errorf("hello: code %d, %v", code, err)
	}
	c.SetSnappy(true)
	fd.SetDeadline(time.Time{})
	<-sem
	released = true
	for {
		code, _, _, err := c.ReadMsg()
		if err != nil {
			return err
		}
		if code == pingMsg {
			if _, err := c.WriteMsg(pongMsg, emptyList); err != nil {
				return err
			}
		}
	}
}

// idleSettle is how long the peers idle before the measurement:
// TRELLIS_IDLE_SETTLE (a duration), default 20 s.
func idleSettle() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("TRELLIS_IDLE_SETTLE")); err == nil {
		return d
	}
	return pingInterval + 5*time.Second
}

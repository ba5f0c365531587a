package p2pinterop

// Benchmarks of both libraries in one run, over loopback TCP with both ends
// in this process. Compare with
//
//	go test ./p2pinterop -run '^$' -bench . -count 6 | tee out.txt
//	benchstat -col /impl out.txt
//
// Only ratios within one run mean anything on a shared machine, and under
// heavy load the cpu-ns/op metric (CPU time of the whole process per
// operation, both ends included) is far steadier than sec/op.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gp2p "github.com/ethereum/go-ethereum/p2p"

	"github.com/trellis-p2p/trellis/p2p"
)

var impls = []string{"trellis", "geth"}

func newServer(tb testing.TB, impl string, o nodeOpts) node {
	if impl == "geth" {
		return newGeth(tb, o)
	}
	return newTrellis(tb, o)
}

// Connection set-up rate into one server: a raw client (the same library's
// rlpx) dials, runs both handshakes, waits for the server's add event, sends
// Disconnect and waits for the drop event. With several dialers, each runs
// that cycle in a loop. ns/op is per connection, across all dialers.
func BenchmarkConnSetup(b *testing.B) {
	// The library is the innermost loop, so that the two rows of a pair run
	// back to back under the same machine load.
	for _, dialers := range []int{1, 4} {
		for _, impl := range impls {
			b.Run(fmt.Sprintf("dialers=%d/impl=%s", dialers, impl), func(b *testing.B) {
				srv := newServer(b, impl, nodeOpts{quiet: true, maxPeers: 1000, noDial: true})
				r := newRouter(srv)
				defer r.stop()
				addr := serverAddr(srv)
				keys := make([]key, dialers)
				for i := range keys {
					keys[i] = newKey(b)
				}
				ctx := context.Background()
				var (
					next atomic.Int64
					wg   sync.WaitGroup
					errs = make(chan error, dialers)
				)
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := range dialers {
					wg.Add(1)
					go func(k key) {
						defer wg.Done()
						hello := clientHello(impl, k)
						events := r.register(k.id())
						for next.Add(1) <= int64(b.N) {
							c, err := dialRaw(ctx, impl, addr, srv.key(), k, hello)
							if err == nil {
								err = waitFor(events, "add")
							}
							if err != nil {
								errs <- err
								return
							}
							c.leave()
							if err := waitFor(events, "drop"); err != nil {
								errs <- err
								return
							}
						}
					}(keys[i])
				}
				wg.Wait()
				b.StopTimer()
				close(errs)
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// idlePeers is the number of idle peers BenchmarkIdlePeerMemory holds.
const idlePeers = 500

// Memory per connected idle peer. The server runs the test protocol, whose
// Run waits in ReadMsg; raw clients connect, then keep only their socket.
// After a warm-up and a GC, heap and stack in use and the goroutine count
// are read before and after connecting idlePeers clients. The figures
// include the client's socket (a *net.TCPConn and its poller entry), which
// the baseline-tcp row measures alone: idlePeers bare TCP connections
// accepted and held by a listener.
func BenchmarkIdlePeerMemory(b *testing.B) {
	for _, impl := range []string{"baseline-tcp", "trellis", "geth"} {
		b.Run("impl="+impl, func(b *testing.B) {
			var heap, live, stack, gor float64
			for range b.N {
				var m idleMem
				if impl == "baseline-tcp" {
					m = measureTCP(b, idlePeers)
				} else {
					m = measureIdle(b, impl, idlePeers)
				}
				heap += m.heap
				live += m.live
				stack += m.stack
				gor += m.goroutines
			}
			n := float64(b.N)
			b.ReportMetric(heap/n, "heapB/peer")
			b.ReportMetric(live/n, "liveB/peer")
			b.ReportMetric(stack/n, "stackB/peer")
			b.ReportMetric(gor/n, "goroutines/peer")
		})
	}
}

// heap counts the spans in use (what the process holds), live only the
// bytes of reachable objects; the difference is fragmentation: spans kept
// by a few survivors among the set-up garbage.
type idleMem struct{ heap, live, stack, goroutines float64 }

type memPoint struct {
	heap, live, stack uint64
	goroutines        int
}

func readMem() memPoint {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memPoint{ms.HeapInuse, ms.HeapAlloc, ms.StackInuse, runtime.NumGoroutine()}
}

func (p memPoint) perPeer(before memPoint, n int) idleMem {
	return idleMem{
		heap:       (float64(p.heap) - float64(before.heap)) / float64(n),
		live:       (float64(p.live) - float64(before.live)) / float64(n),
		stack:      (float64(p.stack) - float64(before.stack)) / float64(n),
		goroutines: float64(p.goroutines-before.goroutines) / float64(n),
	}
}

// connectRaw connects n raw clients to srv from `workers` goroutines.
func connectRaw(tb testing.TB, impl string, srv node, n, workers int) []*rawClient {
	tb.Helper()
	return connectRawTo(tb, impl, serverAddr(srv), srv.key(), n, workers)
}

// connectRawTo connects n raw clients to the server at addr with key dest.
func connectRawTo(tb testing.TB, impl, addr string, dest key, n, workers int) []*rawClient {
	tb.Helper()
	clients := make([]*rawClient, n)
	keys := make([]key, n)
	for i := range keys {
		keys[i] = newKey(tb)
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		errs = make(chan error, workers)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, err := dialRaw(context.Background(), impl, addr, dest, keys[i], clientHello(impl, keys[i]))
				if err != nil {
					errs <- fmt.Errorf("client %d: %w", i, err)
					return
				}
				clients[i] = c
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		for _, c := range clients {
			if c != nil {
				c.fd.Close()
			}
		}
		tb.Fatal(err)
	}
	return clients
}

// waitPeers polls until srv has n peers running the test protocol.
func waitPeers(tb testing.TB, srv node, n int, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for srv.peerCount() != n || srv.proto().running() != n {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %d peers, %d running the protocol; want %d", srv.impl(), srv.peerCount(), srv.proto().running(), n)
		}
		time.Sleep(10 * time.Millisecond) // polling: no event says "all n are up"
	}
}

func closeAll(clients []*rawClient) {
	for _, c := range clients {
		c.fd.Close()
	}
}

func measureIdle(b *testing.B, impl string, n int) idleMem {
	b.StopTimer()
	srv := newServer(b, impl, nodeOpts{quiet: true, noEvents: true, maxPeers: n + 50, noDial: true})
	defer srv.stop()
	// Warm-up: whatever a server allocates once, on its first peers, is
	// not per-peer memory.
	warm := connectRaw(b, impl, srv, 20, 4)
	waitPeers(b, srv, 20, waitTimeout)
	closeAll(warm)
	waitPeers(b, srv, 0, waitTimeout)

	before := readMem()
	b.StartTimer()
	clients := connectRaw(b, impl, srv, n, 4)
	for _, c := range clients {
		c.forget()
	}
	waitPeers(b, srv, n, 2*time.Minute)
	b.StopTimer()
	m := readMem().perPeer(before, n)
	if f := os.Getenv("TRELLIS_IDLE_HEAPPROF"); f != "" {
		// A heap profile of the live objects while the peers are held.
		if w, err := os.Create(f + "." + impl); err == nil {
			pprof.Lookup("heap").WriteTo(w, 0)
			w.Close()
		}
	}
	closeAll(clients)
	waitPeers(b, srv, 0, waitTimeout)
	b.StartTimer()
	return m
}

func measureTCP(b *testing.B, n int) idleMem {
	b.StopTimer()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	accepted := make(chan net.Conn, n)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	before := readMem()
	b.StartTimer()
	var conns []net.Conn
	for range n {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	var server []net.Conn
	for range n {
		server = append(server, <-accepted)
	}
	b.StopTimer()
	m := readMem().perPeer(before, n)
	l.Close()
	for c := range accepted {
		c.Close()
	}
	for i := range conns {
		conns[i].Close()
		server[i].Close()
	}
	b.StartTimer()
	return m
}

// sinkProto is a protocol whose Run on one side receives and discards
// messages, counting them, while the benchmark sends through the Run on the
// other side.
type sinkProto struct {
	mu      sync.Mutex
	senders map[[32]byte]func([]byte) error // by remote peer
	want    atomic.Int64
	got     atomic.Int64
	done    chan struct{}
}

func newSinkProto() *sinkProto {
	return &sinkProto{senders: make(map[[32]byte]func([]byte) error), done: make(chan struct{})}
}

func (s *sinkProto) received() {
	if s.got.Add(1) == s.want.Load() {
		close(s.done)
	}
}

func (s *sinkProto) register(peer [32]byte, send func([]byte) error) {
	s.mu.Lock()
	s.senders[peer] = send
	s.mu.Unlock()
}

func (s *sinkProto) sender(peer [32]byte) func([]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.senders[peer]
}

func (s *sinkProto) trellis() *p2p.Protocol {
	return &p2p.Protocol{Name: protoName, Version: protoVersion, Length: protoLength, Run: func(p *p2p.Peer, rw p2p.MsgReadWriter) error {
		s.register(p.ID(), func(data []byte) error { return rw.WriteMsg(p2p.NewMsg(codeSink, data)) })
		for {
			msg, err := rw.ReadMsg()
			if err != nil {
				return err
			}
			if err := msg.Discard(); err != nil {
				return err
			}
			s.received()
		}
	}}
}

func (s *sinkProto) geth() *gp2p.Protocol {
	return &gp2p.Protocol{Name: protoName, Version: protoVersion, Length: protoLength, Run: func(p *gp2p.Peer, rw gp2p.MsgReadWriter) error {
		s.register(p.ID(), func(data []byte) error {
			return rw.WriteMsg(gp2p.Msg{Code: codeSink, Size: uint32(len(data)), Payload: bytes.NewReader(data)})
		})
		for {
			msg, err := rw.ReadMsg()
			if err != nil {
				return err
			}
			if err := msg.Discard(); err != nil {
				return err
			}
			s.received()
		}
	}}
}

// Message throughput through a full peer: one goroutine writes messages of
// random (incompressible) content through the protocol's MsgReadWriter on
// one server; the protocol's Run on the other server reads and discards
// them. Snappy is on, as between any two current nodes. This complements
// rlpxinterop's raw rlpx.Conn benchmarks with the peer's own costs: the
// read loop, the hand-off to Run, write locking and message events.
func BenchmarkPeerThroughput(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		for _, impl := range impls {
			b.Run(fmt.Sprintf("size=%dKiB/impl=%s", size>>10, impl), func(b *testing.B) {
				s := newSinkProto()
				o := nodeOpts{quiet: true, noEvents: true, tproto: s.trellis(), gproto: s.geth()}
				a, c := newServer(b, impl, o), newServer(b, impl, o)
				a.dial(c)
				deadline := time.Now().Add(waitTimeout)
				for s.sender(c.key().id()) == nil || s.sender(a.key().id()) == nil {
					if time.Now().After(deadline) {
						b.Fatal("peers did not connect")
					}
					time.Sleep(time.Millisecond) // polling: the protocol registers itself
				}
				send := s.sender(c.key().id())
				payload := incompressible(size)
				s.want.Store(int64(b.N))
				b.SetBytes(int64(len(payload)))
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for range b.N {
					if err := send(payload); err != nil {
						b.Fatal(err)
					}
				}
				select {
				case <-s.done:
				case <-time.After(time.Minute):
					b.Fatalf("received %d of %d messages", s.got.Load(), b.N)
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

package p2p

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/netutil/memnet"
)

// dialHarness runs a dialScheduler against a fake network. Every connection
// attempt that reaches the handshake stage is reported on attempts and waits
// for the test to decide its outcome, as the server would.
type dialHarness struct {
	t        *testing.T
	d        *dialScheduler
	attempts chan *dialAttempt
	disc     *chanIter
	net      *fakeDialNet
	nodes    map[int]*enode.Node
	done     chan struct{}
}

type dialAttempt struct {
	node   *enode.Node
	flags  connFlag
	at     time.Time
	result chan error
}

func newDialHarness(t *testing.T, maxDialPeers, maxActiveDials int) *dialHarness {
	h := &dialHarness{
		t:        t,
		attempts: make(chan *dialAttempt, 100),
		disc:     newChanIter(),
		net:      &fakeDialNet{down: make(map[string]bool), names: make(map[string]netip.Addr)},
		nodes:    make(map[int]*enode.Node),
		done:     make(chan struct{}),
	}
	h.d = newDialScheduler(dialConfig{
		self:           enode.ID{0xff},
		maxDialPeers:   maxDialPeers,
		maxActiveDials: maxActiveDials,
		network:        h.net,
		metrics:        NewCounterMetrics(),
		log:            testLogger,
		rand:           rand.New(rand.NewPCG(1, 2)),
		setup: func(fd net.Conn, flags connFlag, dest *enode.Node) error {
			fd.Close()
			a := &dialAttempt{node: dest, flags: flags, at: time.Now(), result: make(chan error)}
			h.attempts <- a
			select {
			case err := <-a.result:
				return err
			case <-h.done:
				return errTestHandshake
			}
		},
	}, h.disc)
	t.Cleanup(func() {
		close(h.done)
		h.disc.Close()
		h.d.stop()
	})
	return h
}

// node returns test node i (1-based), at 10.0.0.i:30303.
func (h *dialHarness) node(i int) *enode.Node {
	if n, ok := h.nodes[i]; ok {
		return n
	}
	n := enode.NewV4(newKey(h.t).PubKey(), netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 30303, 30303)
	h.nodes[i] = n
	return n
}

func (h *dialHarness) index(n *enode.Node) int {
	for i, x := range h.nodes {
		if x.ID() == n.ID() {
			return i
		}
	}
	return -1
}

// discover makes discovery yield nodes i...
// It blocks until the scheduler takes them or the test ends.
func (h *dialHarness) discover(is ...int) {
	for _, i := range is {
		select {
		case h.disc.ch <- h.nodes[i]:
		case <-h.disc.closed:
			return
		}
	}
}

// discoverAsync is discover on another goroutine, waited for at cleanup.
func (h *dialHarness) discoverAsync(is ...int) {
	for _, i := range is {
		h.node(i) // create on the test goroutine
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.discover(is...)
	}()
	h.t.Cleanup(func() { h.disc.Close(); wg.Wait() })
}

// dialed returns the attempts made since the last check, once idle.
func (h *dialHarness) dialed() []*dialAttempt {
	synctest.Wait()
	var got []*dialAttempt
	for len(h.attempts) > 0 {
		got = append(got, <-h.attempts)
	}
	return got
}

// expectDials waits until the scheduler is idle and checks that exactly the
// given nodes have been dialed since the last check.
func (h *dialHarness) expectDials(why string, want ...int) []*dialAttempt {
	h.t.Helper()
	synctest.Wait()
	var got []*dialAttempt
	seen := make(map[int]bool)
	for len(h.attempts) > 0 {
		a := <-h.attempts
		got = append(got, a)
		seen[h.index(a.node)] = true
	}
	ok := len(got) == len(want)
	for _, i := range want {
		ok = ok && seen[i]
	}
	if !ok {
		var gotIdx []int
		for _, a := range got {
			gotIdx = append(gotIdx, h.index(a.node))
		}
		h.t.Fatalf("%s: dialed %v, want %v", why, gotIdx, want)
	}
	return got
}

// finish completes attempts: the handshake succeeds (and the server adds
// the peer) or fails.
func (h *dialHarness) finish(as []*dialAttempt, err error) {
	for _, a := range as {
		if err == nil {
			h.d.peerAdded(a.node.ID(), a.flags)
		}
		a.result <- err
	}
}

func pick(as []*dialAttempt, h *dialHarness, is ...int) (in, out []*dialAttempt) {
	for _, a := range as {
		match := false
		for _, i := range is {
			match = match || h.index(a.node) == i
		}
		if match {
			in = append(in, a)
		} else {
			out = append(out, a)
		}
	}
	return in, out
}

var errTestHandshake = errors.New("handshake failed")

func TestDialDynamic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newDialHarness(t, 2, 16)

		// With no peers and room for two dialed peers, four dials run at once
		// (twice the free slots, since many dials fail).
		h.discoverAsync(1, 2, 3, 4, 5, 6)
		first := h.expectDials("four dials for two free slots", 1, 2, 3, 4)

		// Two succeed and two fail: the dialed-peer quota is full, so the
		// remaining candidates wait.
		ok, failed := pick(first, h, 1, 2)
		h.finish(ok, nil)
		h.finish(failed, errTestHandshake)
		h.expectDials("quota full: no more dials")

		// A peer leaves: two more dials start from discovery.
		h.d.peerRemoved(h.node(1).ID(), dynDialedConn)
		more := h.expectDials("one free slot, two dials", 5, 6)
		h.finish(more, errTestHandshake)

		// Inbound peers do not count against the dial quota.
		h.d.peerAdded(enode.ID{0x42}, inboundConn)
		h.discoverAsync(7)
		h.expectDials("inbound peers leave the dial quota alone", 7)
	})
}

func TestDialNoRedialWithin35s(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newDialHarness(t, 5, 16)
		start := time.Now()
		// Discovery finds node 1 again every second.
		n1 := h.node(1)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case h.disc.ch <- n1:
				case <-h.disc.closed:
					return
				}
				select {
				case <-time.After(time.Second):
				case <-h.disc.closed:
					return
				}
			}
		}()
		t.Cleanup(func() { h.disc.Close(); wg.Wait() })
		h.finish(h.expectDials("first sighting", 1), errTestHandshake)
		time.Sleep(34 * time.Second)
		h.expectDials("seen again and again, but dialed 34 s ago")
		time.Sleep(time.Second)
		again := h.expectDials("35 s after the first dial", 1)
		if at := again[0].at.Sub(start); at != dialHistoryExpiration {
			t.Fatalf("redialed after %v", at)
		}
		h.finish(again, nil)
	})
}

func TestDialStaticBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newDialHarness(t, 5, 16)
		start := time.Now()
		h.net.setDown("10.0.0.1:30303", true)
		h.d.addStatic(h.node(1))

		// Connection attempts never reach the handshake: count dials on the
		// fake network instead. After failure i the next attempt waits for
		// both the history entry (35 s after the last start) and the backoff
		// (30 s, 1 min, 2 min, ... 5 min after the failure): 0, 35 s, 95 s,
		// 215 s, 455 s, 755 s, 1055 s.
		wantAt := []time.Duration{0}
		for i := 1; i <= 6; i++ {
			wantAt = append(wantAt, wantAt[i-1]+max(dialHistoryExpiration, staticBackoff(i)))
		}
		time.Sleep(wantAt[len(wantAt)-1] + time.Second)
		got := h.net.dialTimes(start)
		if fmt.Sprint(got) != fmt.Sprint(wantAt) {
			t.Fatalf("static dials at %v\nwant %v", got, wantAt)
		}
		if staticBackoff(100) != staticBackoffMax {
			t.Fatal("backoff not capped")
		}

		// The node comes back: once connected, a disconnect leads to a
		// prompt redial (the history entry has long expired).
		h.net.setDown("10.0.0.1:30303", false)
		time.Sleep(staticBackoffMax)
		a := h.expectDials("static node back up", 1)
		h.finish(a, nil)
		time.Sleep(time.Hour)
		h.expectDials("connected static nodes are not dialed")
		h.d.peerRemoved(h.node(1).ID(), staticDialedConn)
		h.expectDials("redial after disconnect", 1)[0].result <- errTestHandshake
	})
}

func TestDialStaticRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newDialHarness(t, 1, 16)

		// A node with an inbound connection in progress is not dialed.
		h.d.inboundPending(h.node(1).ID())
		h.d.addStatic(h.node(1))
		h.expectDials("inbound handshake in progress")
		h.d.inboundCompleted(h.node(1).ID())
		a := h.expectDials("inbound handshake ended", 1)
		h.finish(a, errTestHandshake)

		// Removing a static node stops the redials.
		h.d.removeStatic(h.node(1))
		time.Sleep(time.Hour)
		h.expectDials("removed")

		// Static nodes take the dial slots before discovered ones. With room
		// for one dialed peer there are two slots: two of the three static
		// nodes are dialed, the third and the discovered node wait.
		h.d.addStatic(h.node(2))
		h.d.addStatic(h.node(3))
		h.d.addStatic(h.node(4))
		h.discoverAsync(5)
		got := h.dialed()
		if len(got) != 2 {
			t.Fatalf("%d dials", len(got))
		}
		for _, a := range got {
			if a.flags != staticDialedConn {
				t.Fatal("static node dialed as dynamic")
			}
		}
		h.finish(got, errTestHandshake)
		h.expectDials("the third static node and the discovered one", h.index(h.remaining(got, 2, 3, 4)), 5)
	})
}

// remaining returns the node among is not dialed in as.
func (h *dialHarness) remaining(as []*dialAttempt, is ...int) *enode.Node {
	for _, i := range is {
		found := false
		for _, a := range as {
			found = found || h.index(a.node) == i
		}
		if !found {
			return h.node(i)
		}
	}
	return nil
}

func TestDialConcurrencyLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newDialHarness(t, 100, 16)
		var all []int
		for i := 1; i <= 40; i++ {
			all = append(all, i)
		}
		h.discoverAsync(all...)
		got := h.expectDials("16 concurrent dials", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
		h.finish(got[:4], errTestHandshake)
		h.expectDials("4 finished, 4 more", 17, 18, 19, 20)
		h.finish(got[4:], errTestHandshake)
	})
}

func TestDialSkipsUnusable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newDialHarness(t, 5, 16)
		noPort := enode.NewV4(newKey(t).PubKey(), netip.MustParseAddr("10.0.0.50"), 0, 30303)
		h.d.peerAdded(h.node(2).ID(), inboundConn)
		h.nodes[50] = noPort
		h.discoverAsync(50, 2, 3) // 2 is already connected
		h.finish(h.expectDials("only the usable node", 3), errTestHandshake)
	})
}

func TestDialStaticDNS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newDialHarness(t, 5, 16)
		key := newKey(t)
		n, err := enode.ParseV4(fmt.Sprintf("enode://%x@node.example:30303", pubkey64(key)))
		if err != nil {
			t.Fatal(err)
		}
		h.net.setName("node.example", netip.MustParseAddr("10.1.1.1"))
		h.d.addStatic(n)
		synctest.Wait()
		a := <-h.attempts
		if a.node.IPAddr() != netip.MustParseAddr("10.1.1.1") || a.node.ID() != n.ID() || a.node.Hostname() != "node.example" {
			t.Fatalf("dialed %v (%s)", a.node.IPAddr(), a.node.Hostname())
		}
		a.result <- errTestHandshake
		// The name is resolved again on every dial: the node moved.
		h.net.setName("node.example", netip.MustParseAddr("10.2.2.2"))
		time.Sleep(time.Hour)
		a = <-h.attempts
		if a.node.IPAddr() != netip.MustParseAddr("10.2.2.2") {
			t.Fatalf("redialed %v", a.node.IPAddr())
		}
		a.result <- errTestHandshake
	})
}

// fakeDialNet connects every dial to a pipe whose other end is dropped,
// except for addresses marked down.
type fakeDialNet struct {
	mu    sync.Mutex
	down  map[string]bool
	names map[string]netip.Addr
	dials []time.Time
}

func (f *fakeDialNet) setDown(addr string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down[addr] = down
}

func (f *fakeDialNet) setName(name string, ip netip.Addr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.names[name] = ip
}

func (f *fakeDialNet) dialTimes(start time.Time) []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []time.Duration
	for _, t := range f.dials {
		out = append(out, t.Sub(start))
	}
	return out
}

func (f *fakeDialNet) Listen(context.Context, string, string) (net.Listener, error) {
	return nil, errors.New("not supported")
}

func (f *fakeDialNet) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dials = append(f.dials, time.Now())
	if f.down[addr] {
		return nil, memnet.ErrRefused
	}
	c, _ := memnet.Pipe(nil, nil, 0)
	return c, nil
}

func (f *fakeDialNet) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ip, ok := f.names[host]; ok {
		return []netip.Addr{ip}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// chanIter is a discovery iterator fed by the test.
type chanIter struct {
	ch     chan *enode.Node
	cur    *enode.Node
	once   sync.Once
	closed chan struct{}
}

func newChanIter() *chanIter {
	return &chanIter{ch: make(chan *enode.Node), closed: make(chan struct{})}
}

func (it *chanIter) Next() bool {
	select {
	case it.cur = <-it.ch:
		return true
	case <-it.closed:
		return false
	}
}

func (it *chanIter) Node() *enode.Node { return it.cur }
func (it *chanIter) Close()            { it.once.Do(func() { close(it.closed) }) }

func pubkey64(k interface{ PubKey() *crypto.PublicKey }) []byte {
	return crypto.MarshalPubkey(k.PubKey())[1:]
}

type fakeResolver struct {
	mu    sync.Mutex
	calls int
	node  *enode.Node
}

func (r *fakeResolver) Resolve(n *enode.Node) *enode.Node {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	return r.node
}

// A static node without an address is looked up through the resolver; while
// lookups fail they are spaced out, from one minute doubling per failure.
func TestDialStaticResolve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newDialHarness(t, 5, 16)
		res := &fakeResolver{}
		h.d.resolver = res
		key := newKey(t)
		bare := enode.NewV4(key.PubKey(), netip.Addr{}, 0, 0)
		start := time.Now()
		h.d.addStatic(bare)
		// Dial tasks run at 0, 35 s, 95 s and 215 s (static backoff); the
		// lookup at 0 fails, so the next is allowed 120 s later, at 215 s.
		time.Sleep(3 * time.Minute)
		h.expectDials("nothing to dial while the node is unknown")
		res.mu.Lock()
		calls := res.calls
		res.node = enode.NewV4(key.PubKey(), netip.MustParseAddr("10.3.3.3"), 30303, 30303)
		res.mu.Unlock()
		if calls != 1 {
			t.Fatalf("%d lookups in 3 minutes", calls)
		}
		time.Sleep(time.Minute)
		got := h.expectDials("found", -1)
		if got[0].node.IPAddr() != netip.MustParseAddr("10.3.3.3") || got[0].at.Sub(start) != 215*time.Second {
			t.Fatalf("dialed %v after %v", got[0].node.IPAddr(), got[0].at.Sub(start))
		}
		got[0].result <- nil
	})
}

// A dial that the remote refuses as "already connected", while we hold no
// connection to it, is one half of a simultaneous dial: the node with the
// lower ID dials again after collisionRedialDelay (once per
// dialHistoryExpiration), the other waits to be dialed.
func TestDialCollision(t *testing.T) {
	refused := fmt.Errorf("%w: remote disconnected: %w", ErrProtoHandshake, DiscAlreadyConnected)
	for _, tc := range []struct {
		name   string
		self   enode.ID
		redial bool
	}{
		{"lower ID redials", enode.ID{}, true},
		{"higher ID waits", enode.ID{0xff, 0xff, 0xff, 0xff}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newDialHarness(t, 5, 16)
				h.d.self = tc.self
				h.discoverAsync(1)
				h.finish(h.expectDials("discovered", 1), refused)
				if !tc.redial {
					h.expectDials("the other node redials")
					return
				}
				h.expectDials("not at once: a connection in set-up may still connect them")
				time.Sleep(collisionRedialDelay)
				again := h.expectDials("redial after collisionRedialDelay", 1)
				// A second refusal within dialHistoryExpiration waits.
				h.finish(again, refused)
				h.expectDials("one fast redial per node")

				// A young peer closed by the remote as already connected.
				h.node(2)
				h.discoverAsync(2)
				ok := h.expectDials("discovered", 2)
				h.finish(ok, nil)
				synctest.Wait() // the dial task has ended
				h.d.peerRemoved(h.node(2).ID(), dynDialedConn)
				h.d.collided(h.node(2), dynDialedConn)
				time.Sleep(collisionRedialDelay)
				h.expectDials("redial after the peer's collision", 2)

				// Each kept the other's connection: our dial is refused by
				// us (we have its inbound peer), then the remote closes
				// that peer as already connected.
				h.node(3)
				h.discoverAsync(3)
				dial := h.expectDials("discovered", 3)
				h.d.peerAdded(h.node(3).ID(), inboundConn)
				synctest.Wait()
				h.finish(dial, DiscAlreadyConnected)
				h.expectDials("we hold its connection: no redial yet")
				h.d.peerRemoved(h.node(3).ID(), inboundConn)
				h.d.collidedInbound(h.node(3).ID())
				time.Sleep(collisionRedialDelay)
				h.expectDials("redial after the inbound peer's collision", 3)
			})
		})
	}
}

// A static node is redialed after a collision too, without backoff.
func TestDialCollisionStatic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newDialHarness(t, 5, 16)
		h.d.self = enode.ID{}
		h.d.addStatic(h.node(1))
		refused := fmt.Errorf("%w: remote disconnected: %w", ErrProtoHandshake, DiscAlreadyConnected)
		h.finish(h.expectDials("static", 1), refused)
		time.Sleep(collisionRedialDelay)
		h.finish(h.expectDials("static redial after collisionRedialDelay", 1), nil)
	})
}

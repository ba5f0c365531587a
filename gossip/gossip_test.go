package gossip

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/netutil/memnet"
	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rlp"
)

// mesh is a set of Gossip nodes joined by message pipes.
type mesh struct {
	t     *testing.T
	nodes []*Gossip
	ids   []enode.ID
	wg    sync.WaitGroup
	pipes []*p2p.MsgPipeRW

	mu         sync.Mutex
	deliveries []map[ID]int // per node: times each message was delivered
	errs       []error      // RunPeer results
}

func newMesh(t *testing.T, n int, cfg Config) *mesh {
	m := &mesh{t: t, deliveries: make([]map[ID]int, n)}
	for i := range n {
		i := i
		c := cfg
		c.Self = enode.ID{byte(i + 1)}
		c.Deliver = func(d Delivery) {
			m.mu.Lock()
			m.deliveries[i][d.ID]++
			m.mu.Unlock()
		}
		m.deliveries[i] = make(map[ID]int)
		m.ids = append(m.ids, c.Self)
		m.nodes = append(m.nodes, New(c))
	}
	t.Cleanup(m.close)
	return m
}

// connect runs the protocol between nodes a and b.
func (m *mesh) connect(a, b int) {
	pa, pb := p2p.MsgPipe()
	m.pipes = append(m.pipes, pa)
	for _, side := range []struct {
		self, other int
		rw          p2p.MsgReadWriter
	}{{a, b, pa}, {b, a, pb}} {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			err := m.nodes[side.self].RunPeer(m.ids[side.other], side.rw)
			m.mu.Lock()
			m.errs = append(m.errs, err)
			m.mu.Unlock()
		}()
	}
}

func (m *mesh) close() {
	for _, p := range m.pipes {
		p.Close()
	}
	m.wg.Wait()
}

func (m *mesh) delivered(node int, id ID) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deliveries[node][id]
}

// waitPeers waits until every node has registered its connections.
func (m *mesh) waitPeers(want []int) {
	synctest.Wait()
	for i, g := range m.nodes {
		if got := g.Stats().Peers; got != want[i] {
			m.t.Fatalf("node %d has %d peers, want %d", i, got, want[i])
		}
	}
}

// checkFlood publishes from node origin and checks that every other node
// delivers the message exactly once.
func (m *mesh) checkFlood(origin int, payload string) ID {
	m.t.Helper()
	msg, err := m.nodes[origin].Publish([]byte(payload))
	if err != nil {
		m.t.Fatal(err)
	}
	synctest.Wait()
	for i := range m.nodes {
		want := 1
		if i == origin {
			want = 0 // the origin does not deliver its own message
		}
		if got := m.delivered(i, msg.ID); got != want {
			m.t.Errorf("node %d delivered message from %d %d times, want %d", i, origin, got, want)
		}
	}
	return msg.ID
}

func TestFloodLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 6
		m := newMesh(t, n, Config{})
		for i := 0; i+1 < n; i++ {
			m.connect(i, i+1)
		}
		m.waitPeers([]int{1, 2, 2, 2, 2, 1})
		for origin := range n {
			m.checkFlood(origin, fmt.Sprint("from ", origin))
		}
		// A line has no cycles: nobody ever sees a message twice.
		for i, g := range m.nodes {
			st := g.Stats()
			if st.Duplicates != 0 {
				t.Errorf("node %d saw %d duplicates on a line", i, st.Duplicates)
			}
			if st.Delivered != n-1 || st.Published != 1 {
				t.Errorf("node %d: %+v", i, st)
			}
		}
	})
}

func TestFloodRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 7
		m := newMesh(t, n, Config{})
		for i := range n {
			m.connect(i, (i+1)%n)
		}
		want := make([]int, n)
		for i := range want {
			want[i] = 2
		}
		m.waitPeers(want)
		for origin := range n {
			m.checkFlood(origin, "ring")
		}
		// On a ring each message travels both ways and meets itself once:
		// the two nodes where the fronts cross each get one duplicate (or one
		// node gets two). Every message sends exactly one message per
		// link direction it crosses, at most 2n in total.
		var dups, sent uint64
		for _, g := range m.nodes {
			st := g.Stats()
			dups += st.Duplicates
			sent += st.Sent
		}
		if dups != 2*n {
			t.Errorf("%d duplicates in total, want %d (two per message)", dups, 2*n)
		}
		if sent != n*(n+1) {
			t.Errorf("%d sends in total, want %d", sent, n*(n+1))
		}
	})
}

// Duplicates arriving from a peer are dropped, not delivered or forwarded.
func TestDuplicateDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New(Config{Self: enode.ID{1}, Deliver: func(Delivery) {}})
		remote, local := p2p.MsgPipe()
		other, otherLocal := p2p.MsgPipe()
		done := make(chan error, 2)
		go func() { done <- g.RunPeer(enode.ID{2}, local) }()
		go func() { done <- g.RunPeer(enode.ID{3}, otherLocal) }()
		synctest.Wait() // both peers registered

		m, _ := NewMessage(enode.ID{9}, 1, time.Now(), []byte("dup"))
		enc, _ := EncodeMessage(m)
		for range 3 {
			if err := remote.WriteMsg(p2p.NewMsg(msgCodeMessage, enc)); err != nil {
				t.Fatal(err)
			}
		}
		// Forwarded once to the other peer, never back to the sender.
		if err := p2p.ExpectMsg(other, msgCodeMessage, nil); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		st := g.Stats()
		if st.Received != 3 || st.Delivered != 1 || st.Duplicates != 2 || st.Sent != 1 {
			t.Fatalf("stats %+v", st)
		}
		remote.Close()
		other.Close()
		<-done
		<-done
	})
}

// Our own message echoed back by a peer is a duplicate.
func TestOwnMessageEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var delivered int
		g := New(Config{Self: enode.ID{1}, Deliver: func(Delivery) { delivered++ }})
		remote, local := p2p.MsgPipe()
		done := make(chan error, 1)
		go func() { done <- g.RunPeer(enode.ID{2}, local) }()
		synctest.Wait()
		m, err := g.Publish([]byte("mine"))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := remote.ReadMsg()
		if err != nil {
			t.Fatal(err)
		}
		var w wireMessage
		if err := msg.Decode(&w); err != nil {
			t.Fatal(err)
		}
		enc, _ := rlp.EncodeToBytes(&w)
		remote.WriteMsg(p2p.NewMsg(msgCodeMessage, enc))
		synctest.Wait()
		if delivered != 0 || g.Stats().Duplicates != 1 {
			t.Fatalf("echo of own message %v: delivered %d, stats %+v", m.ID, delivered, g.Stats())
		}
		remote.Close()
		<-done
	})
}

func TestSeenSetBounded(t *testing.T) {
	s := newSeenSet(4)
	ids := make([]ID, 10)
	for i := range ids {
		ids[i] = ID{byte(i)}
		if !s.add(ids[i]) {
			t.Fatalf("id %d not new", i)
		}
		if s.add(ids[i]) {
			t.Fatalf("id %d added twice", i)
		}
		if s.len() > 4 {
			t.Fatalf("seen set holds %d ids, capacity 4", s.len())
		}
	}
	for i, id := range ids {
		if want := i >= 6; s.contains(id) != want {
			t.Errorf("contains(id %d) = %v, want %v (the oldest are forgotten first)", i, !want, want)
		}
	}
	if d := newSeenSet(0); cap(d.ring) != DefaultSeenCapacity {
		t.Errorf("zero capacity gives %d, want DefaultSeenCapacity", cap(d.ring))
	}
}

// With a tiny seen set, a node forgets old messages and accepts them again;
// the set never grows past its capacity.
func TestSeenCapacityInProtocol(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var delivered int
		g := New(Config{Self: enode.ID{1}, SeenCapacity: 2, Deliver: func(Delivery) { delivered++ }})
		remote, local := p2p.MsgPipe()
		done := make(chan error, 1)
		go func() { done <- g.RunPeer(enode.ID{2}, local) }()
		send := func(seq uint64) {
			m, _ := NewMessage(enode.ID{9}, seq, time.Now(), nil)
			enc, _ := EncodeMessage(m)
			remote.WriteMsg(p2p.NewMsg(msgCodeMessage, enc))
		}
		for _, seq := range []uint64{1, 2, 3, 1} { // 1 was evicted by 3
			send(seq)
		}
		synctest.Wait()
		if st := g.Stats(); delivered != 4 || st.Seen != 2 {
			t.Fatalf("delivered %d, stats %+v; want 4 deliveries and 2 seen", delivered, st)
		}
		send(1) // now remembered again
		synctest.Wait()
		if delivered != 4 {
			t.Fatalf("recent duplicate delivered")
		}
		remote.Close()
		<-done
	})
}

// Malformed input ends RunPeer with an error naming the problem, which the
// p2p server turns into DiscSubprotocolError.
func TestMalformedInput(t *testing.T) {
	good, _ := EncodeMessage(must(NewMessage(enode.ID{9}, 1, time.Unix(5, 0), []byte("ok"))))
	tests := []struct {
		name string
		msg  p2p.Msg
		want error
	}{
		{"unknown code", p2p.NewMsg(1, good), ErrInvalidCode},
		{"not RLP", p2p.NewMsg(msgCodeMessage, []byte{0xff, 0x01}), ErrInvalidMessage},
		{"oversized", p2p.NewMsg(msgCodeMessage, make([]byte, MaxMessageSize+1)), ErrMessageTooLarge},
		{"payload too large", p2p.NewMsg(msgCodeMessage, mustRLP([]any{make([]byte, 32), uint64(1), uint64(1), make([]byte, MaxPayloadSize+1)})), ErrPayloadTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := New(Config{Self: enode.ID{1}})
				remote, local := p2p.MsgPipe()
				defer remote.Close()
				done := make(chan error, 1)
				go func() { done <- g.RunPeer(enode.ID{2}, local) }()
				remote.WriteMsg(p2p.NewMsg(msgCodeMessage, good)) // fine
				remote.WriteMsg(tt.msg)
				if err := <-done; !errors.Is(err, tt.want) {
					t.Fatalf("RunPeer returned %v, want %v", err, tt.want)
				}
				if st := g.Stats(); st.Peers != 0 || st.Delivered != 1 {
					t.Fatalf("after the error: %+v", st)
				}
			})
		})
	}
}

func mustRLP(v any) []byte {
	b, err := rlp.EncodeToBytes(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestRunPeerTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New(Config{Self: enode.ID{1}})
		r1, l1 := p2p.MsgPipe()
		_, l2 := p2p.MsgPipe()
		done := make(chan error, 1)
		go func() { done <- g.RunPeer(enode.ID{2}, l1) }()
		synctest.Wait()
		if err := g.RunPeer(enode.ID{2}, l2); !errors.Is(err, p2p.DiscAlreadyConnected) {
			t.Fatalf("second RunPeer: %v", err)
		}
		r1.Close()
		<-done
	})
}

func TestPublishLimit(t *testing.T) {
	g := New(Config{})
	if _, err := g.Publish(make([]byte, MaxPayloadSize+1)); !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("got %v", err)
	}
	if g.Stats().Published != 0 {
		t.Fatal("failed publish counted")
	}
}

// TestServers runs the protocol in p2p servers on an in-memory network: a line
// of four, connected as static peers, floods a message end to end; a peer that
// sends garbage is disconnected with DiscSubprotocolError.
func TestServers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		netw := memnet.New()
		const n = 4
		var (
			srvs    []*p2p.Server
			gs      []*Gossip
			mu      sync.Mutex
			latency []time.Duration
		)
		for i := range n {
			key, err := crypto.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			ip := netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})
			g := New(Config{
				Self: enode.PubkeyToIDV4(key.PubKey()),
				Deliver: func(d Delivery) {
					mu.Lock()
					latency = append(latency, d.Latency())
					mu.Unlock()
				},
			})
			srv := &p2p.Server{Config: p2p.Config{
				PrivateKey:  key,
				Name:        "gossip-test",
				MaxPeers:    5,
				ListenAddr:  ip.String() + ":30303",
				Network:     netw.Host(ip),
				NoDiscovery: true,
				Protocols:   []p2p.Protocol{g.Protocol()},
				Logger:      slog.New(slog.DiscardHandler),
			}}
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			if i > 0 {
				srv.AddPeer(srvs[i-1].Self())
			}
			srvs = append(srvs, srv)
			gs = append(gs, g)
		}
		time.Sleep(5 * time.Second) // fake time: dials and handshakes finish
		synctest.Wait()
		for i, g := range gs {
			want := 2
			if i == 0 || i == n-1 {
				want = 1
			}
			if got := g.Stats().Peers; got != want {
				t.Fatalf("node %d runs gossip with %d peers, want %d", i, got, want)
			}
		}
		if _, err := gs[0].Publish([]byte("end to end")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		for i, g := range gs[1:] {
			if st := g.Stats(); st.Delivered != 1 {
				t.Errorf("node %d: %+v", i+1, st)
			}
		}
		if len(latency) != n-1 {
			t.Errorf("%d latencies, want %d", len(latency), n-1)
		}

		// A misbehaving peer: our gossip Run fails, and the server
		// disconnects it with DiscSubprotocolError, which is what the
		// bad peer's server reports.
		badKey, _ := crypto.GenerateKey()
		badSrv := &p2p.Server{Config: p2p.Config{
			PrivateKey: badKey, Name: "bad", MaxPeers: 1, NoDiscovery: true,
			Logger:  slog.New(slog.DiscardHandler),
			Network: netw.Host(netip.MustParseAddr("10.0.0.99")),
			Protocols: []p2p.Protocol{{
				Name: ProtocolName, Version: ProtocolVersion, Length: protocolLength,
				Run: func(p *p2p.Peer, rw p2p.MsgReadWriter) error {
					rw.WriteMsg(p2p.NewMsg(msgCodeMessage, []byte{0xc1}))
					_, err := rw.ReadMsg()
					return err
				},
			}},
		}}
		events := make(chan *p2p.PeerEvent, 10)
		sub := badSrv.SubscribeEvents(events)
		defer sub.Unsubscribe()
		if err := badSrv.Start(); err != nil {
			t.Fatal(err)
		}
		defer badSrv.Stop()
		badSrv.AddPeer(srvs[0].Self())
		time.Sleep(5 * time.Second)
		synctest.Wait()
		var sawDrop bool
		for len(events) > 0 {
			ev := <-events
			if ev.Type == p2p.PeerEventTypeDrop && ev.Peer == srvs[0].Self().ID() {
				sawDrop = true
				if want := p2p.DiscSubprotocolError.Error(); ev.Error != want {
					t.Errorf("bad peer dropped with %q, want %q", ev.Error, want)
				}
			}
		}
		if !sawDrop {
			t.Error("bad peer was not dropped")
		}
	})
}

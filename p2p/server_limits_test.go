package p2p

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/netutil"
	"github.com/trellis-p2p/trellis/netutil/memnet"
	"github.com/trellis-p2p/trellis/rlpx"
)

// rawClient is a remote node driven by the test: an RLPx session without a
// server behind it.
type rawClient struct {
	t    testing.TB
	key  *crypto.PrivateKey
	fd   net.Conn
	conn *rlpx.Conn
}

// rawDial connects from host ip to srv and runs the RLPx handshake. It
// returns an error if the server refused the connection before or during the
// handshake.
func rawDial(t testing.TB, n *memnet.Network, ip string, srv *Server) (*rawClient, error) {
	t.Helper()
	return rawDialKey(t, n, ip, srv, newKey(t))
}

// rawDialKey is rawDial with the client's node key.
func rawDialKey(t testing.TB, n *memnet.Network, ip string, srv *Server, key *crypto.PrivateKey) (*rawClient, error) {
	t.Helper()
	fd, err := n.Host(netip.MustParseAddr(ip)).DialContext(context.Background(), "tcp", srv.Addr().String())
	if err != nil {
		return nil, err
	}
	c := &rawClient{t: t, key: key, fd: fd}
	c.conn = rlpx.NewConn(fd, srv.Self().Pubkey())
	fd.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Handshake(c.key); err != nil {
		fd.Close()
		return nil, err
	}
	fd.SetDeadline(time.Time{})
	t.Cleanup(func() { fd.Close() })
	return c, nil
}

func (c *rawClient) hello(caps ...Cap) *hello {
	return &hello{Version: 5, Name: "raw", Caps: caps, ID: crypto.MarshalPubkey(c.key.PubKey())[1:]}
}

// handshake exchanges Hello messages like a well-behaved peer.
func (c *rawClient) handshake(caps ...Cap) {
	c.t.Helper()
	c.expect(helloMsg)
	if _, err := c.conn.WriteMsg(helloMsg, c.hello(caps...).encode()); err != nil {
		c.t.Fatal(err)
	}
	c.conn.SetSnappy(true)
}

func (c *rawClient) expect(code uint64) []byte {
	c.t.Helper()
	got, data, _, err := c.conn.ReadMsg()
	if err != nil {
		c.t.Fatalf("read (want code %d): %v", code, err)
	}
	if got != code {
		c.t.Fatalf("got code %d, want %d", got, code)
	}
	return data
}

// expectDisc reads until a Disconnect and checks its reason.
func (c *rawClient) expectDisc(want DiscReason) {
	c.t.Helper()
	for {
		code, data, _, err := c.conn.ReadMsg()
		if err != nil {
			c.t.Fatalf("read (want disconnect %v): %v", want, err)
		}
		if code == helloMsg || code == pingMsg || code == pongMsg {
			continue
		}
		if code != discMsg {
			c.t.Fatalf("got code %d, want disconnect", code)
		}
		if r, _ := decodeDisconnect(data); r != want {
			c.t.Fatalf("disconnect reason %v, want %v", r, want)
		}
		return
	}
}

// expectClosed checks that the server closes the connection without a
// Disconnect message.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	for {
		code, _, _, err := c.conn.ReadMsg()
		if err != nil {
			return
		}
		if code != helloMsg {
			c.t.Fatalf("got code %d, want close", code)
		}
	}
}

func TestServerBadHello(t *testing.T) {
	tests := []struct {
		story   string
		hello   func(c *rawClient) []byte
		code    uint64
		want    DiscReason // zero: closed without Disconnect
		outcome ConnOutcome
		// Once a valid version-5 Hello is exchanged, the Disconnect comes
		// snappy-compressed (EIP-706), as go-ethereum expects.
		snappy bool
	}{
		{
			story: "a Hello carrying another node's key is refused",
			hello: func(c *rawClient) []byte {
				h := c.hello(Cap{"a", 1})
				h.ID = crypto.MarshalPubkey(newKey(t).PubKey())[1:]
				return h.encode()
			},
			want:    DiscUnexpectedIdentity,
			outcome: ConnUnexpectedIdentity,
			snappy:  true,
		},
		{
			story:   "a Hello with a 63-byte key is refused",
			hello:   func(c *rawClient) []byte { h := c.hello(Cap{"a", 1}); h.ID = h.ID[:63]; return h.encode() },
			want:    DiscInvalidIdentity,
			outcome: ConnProtoHandshakeError,
		},
		{
			story:   "a peer without capabilities is useless",
			hello:   func(c *rawClient) []byte { return c.hello().encode() },
			want:    DiscUselessPeer,
			outcome: ConnUselessPeer,
			snappy:  true,
		},
		{
			story:   "a peer without shared capabilities is useless",
			hello:   func(c *rawClient) []byte { return c.hello(Cap{"a", 2}, Cap{"z", 1}).encode() },
			want:    DiscUselessPeer,
			outcome: ConnUselessPeer,
			snappy:  true,
		},
		{
			story:   "a malformed Hello is a breach of protocol",
			hello:   func(c *rawClient) []byte { return []byte{0xc3, 0x05, 0x80} },
			want:    DiscProtocolError,
			outcome: ConnProtoHandshakeError,
		},
		{
			story:   "a protocol message instead of Hello is a breach of protocol",
			hello:   func(c *rawClient) []byte { return c.hello(Cap{"a", 1}).encode() },
			code:    16,
			want:    DiscProtocolError,
			outcome: ConnProtoHandshakeError,
		},
		{
			story: "a Hello with a 1 MiB name is not even read",
			hello: func(c *rawClient) []byte {
				h := c.hello(Cap{"a", 1})
				h.Name = string(make([]byte, 1<<20))
				return h.encode()
			},
			outcome: ConnProtoHandshakeError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.story, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := memnet.New()
				srv := testServer(t, n, "10.0.0.1", nil)
				c, err := rawDial(t, n, "10.0.0.2", srv)
				if err != nil {
					t.Fatal(err)
				}
				c.expect(helloMsg)
				done := make(chan struct{})
				go func() {
					defer close(done)
					c.conn.WriteMsg(tt.code, tt.hello(c)) // may block on the 1 MiB Hello
				}()
				if tt.snappy {
					<-done
					c.conn.SetSnappy(true)
				}
				if tt.want == 0 {
					c.expectClosed()
				} else {
					c.expectDisc(tt.want)
				}
				synctest.Wait()
				if srv.PeerCount() != 0 {
					t.Fatal("server added the peer")
				}
				if got := srv.Counters().Snapshot().ServeOutcomes[tt.outcome.String()]; got != 1 {
					t.Fatalf("outcome %v counted %d times: %v", tt.outcome, got, srv.Counters().Snapshot().ServeOutcomes)
				}
			})
		})
	}
}

// A message code beyond every protocol ends the connection with
// DiscProtocolError.
func TestServerInvalidMsgCode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		srv := testServer(t, n, "10.0.0.1", nil)
		ev := events(t, srv)
		c, err := rawDial(t, n, "10.0.0.2", srv)
		if err != nil {
			t.Fatal(err)
		}
		c.handshake(Cap{"a", 1})
		nextEvent(t, ev, PeerEventTypeAdd)
		c.conn.WriteMsg(16+5, []byte{0xc0})
		c.expectDisc(DiscProtocolError)
		if drop := nextEvent(t, ev, PeerEventTypeDrop); drop.Error == "" {
			t.Fatal("drop without error")
		}
	})
}

// floodProto sends a 100 kB message every 100 ms and discards what it reads.
func floodProto(received *atomic.Int64) Protocol {
	big := make([]byte, 100_000)
	crand.Read(big) // incompressible, so that buffers fill
	return Protocol{Name: "a", Version: 1, Length: 5, Run: func(p *Peer, rw MsgReadWriter) error {
		errc := make(chan error, 1)
		go func() {
			for {
				msg, err := rw.ReadMsg()
				if err != nil {
					errc <- err
					return
				}
				msg.Discard()
				if received != nil {
					received.Store(time.Now().UnixNano())
				}
			}
		}()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case err := <-errc:
				return err
			case <-tick.C:
				if err := rw.WriteMsg(NewMsg(1, big)); err != nil {
					return err
				}
			}
		}
	}}
}

// A peer that never reads: our writes to it time out after 20 s and it is
// dropped, while another peer keeps exchanging messages throughout.
func TestServerPeerNeverReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		b := testServer(t, n, "10.0.0.1", func(c *Config) { c.Protocols = []Protocol{floodProto(nil)} })
		bEvents := events(t, b)

		stuck, err := rawDial(t, n, "10.0.0.9", b)
		if err != nil {
			t.Fatal(err)
		}
		stuck.handshake(Cap{"a", 1})
		start := time.Now()
		nextEvent(t, bEvents, PeerEventTypeAdd)

		var received atomic.Int64
		testServer(t, n, "10.0.0.2", func(c *Config) {
			c.Protocols = []Protocol{floodProto(&received)}
			c.StaticNodes = []*enode.Node{b.Self()}
		})
		nextEvent(t, bEvents, PeerEventTypeAdd)

		drop := nextEvent(t, bEvents, PeerEventTypeDrop)
		if drop.Peer != enode.PubkeyToIDV4(stuck.key.PubKey()) {
			t.Fatal("the wrong peer was dropped")
		}
		if took := time.Since(start); took < frameWriteTimeout-deadlineSlack || took > frameWriteTimeout+time.Second {
			t.Fatalf("stuck peer dropped after %v", took)
		}
		if !strings.Contains(drop.Error, "deadline exceeded") && !strings.Contains(drop.Error, "timeout") {
			t.Fatalf("stuck peer dropped with %q", drop.Error)
		}
		// The good peer got messages during the stall and still does.
		last := time.Unix(0, received.Load())
		if time.Since(last) > time.Second {
			t.Fatalf("last message from the good peer %v ago", time.Since(last))
		}
		if b.PeerCount() != 1 {
			t.Fatalf("B has %d peers", b.PeerCount())
		}
	})
}

func TestServerStopSendsQuitting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		srv := testServer(t, n, "10.0.0.1", nil)
		ev := events(t, srv)
		c, err := rawDial(t, n, "10.0.0.2", srv)
		if err != nil {
			t.Fatal(err)
		}
		c.handshake(Cap{"a", 1})
		nextEvent(t, ev, PeerEventTypeAdd)
		go srv.Stop()
		c.expectDisc(DiscQuitting)
	})
}

// Internet hosts may connect once per 30 s; LAN hosts are not limited.
func TestServerInboundThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		srv := testServer(t, n, "1.1.1.1", nil)
		steps := []struct {
			at   time.Duration
			from string
			ok   bool
			why  string
		}{
			{0, "2.2.2.2", true, "first connection from an Internet host"},
			{time.Second, "2.2.2.2", false, "second within 30 s is refused"},
			{time.Second, "3.3.3.3", true, "another host is independent"},
			{2 * time.Second, "192.168.1.5", true, "a LAN host"},
			{3 * time.Second, "192.168.1.5", true, "a LAN host again"},
			{29 * time.Second, "2.2.2.2", false, "still within 30 s of the first"},
			{31 * time.Second, "2.2.2.2", true, "the period has passed"},
		}
		start := time.Now()
		for _, s := range steps {
			time.Sleep(time.Until(start.Add(s.at)))
			c, err := rawDial(t, n, s.from, srv)
			if (err == nil) != s.ok {
				t.Fatalf("at %v from %s: handshake error %v (%s)", s.at, s.from, err, s.why)
			}
			if c != nil {
				c.fd.Close()
			}
		}
		if got := srv.Counters().Snapshot().ServeOutcomes["rejected"]; got != 2 {
			t.Fatalf("%d rejections counted", got)
		}
	})
}

func TestServerNetRestrict(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		restrict := netutil.MustParseNetlist("10.0.0.0/8")
		srv := testServer(t, n, "10.0.0.1", func(c *Config) { c.NetRestrict = restrict })
		if _, err := rawDial(t, n, "10.9.9.9", srv); err != nil {
			t.Fatalf("inside the list: %v", err)
		}
		if _, err := rawDial(t, n, "11.0.0.1", srv); err == nil {
			t.Fatal("outside the list: connection accepted")
		}
		// Outbound dials are restricted as well.
		other := testServer(t, n, "11.0.0.2", nil)
		a := testServer(t, n, "10.0.0.3", func(c *Config) {
			c.NetRestrict = restrict
			c.StaticNodes = []*enode.Node{other.Self()}
		})
		time.Sleep(time.Minute)
		if a.PeerCount() != 0 || a.Counters().Snapshot().Dials != 0 {
			t.Fatal("dialed a node outside NetRestrict")
		}
	})
}

// Silent connections wait in the lobby without taking handshake slots; the
// oldest are dropped when it is full and the rest time out after 5 s. A peer
// that speaks at once is served meanwhile.
func TestServerSilentConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		srv := testServer(t, n, "10.0.0.1", func(c *Config) { c.MaxPendingPeers = 10 })
		host := n.Host(netip.MustParseAddr("10.0.0.66"))
		var silent []net.Conn
		for range 1000 {
			fd, err := host.DialContext(context.Background(), "tcp", srv.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			silent = append(silent, fd)
		}
		synctest.Wait()
		c, err := rawDial(t, n, "10.0.0.2", srv)
		if err != nil {
			t.Fatalf("legitimate peer refused: %v", err)
		}
		c.handshake(Cap{"a", 1})
		synctest.Wait()
		if srv.PeerCount() != 1 {
			t.Fatal("legitimate peer not added")
		}
		time.Sleep(handshakeTimeout)
		synctest.Wait()
		for i, fd := range silent {
			fd.SetReadDeadline(time.Now().Add(time.Millisecond))
			if _, err := fd.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("silent connection %d still open: %v", i, err)
			}
		}
		srv.setup.Lock()
		left := len(srv.setup.conns)
		srv.setup.Unlock()
		if left != 0 || srv.inbound.mu.lobby.Len() != 0 || len(srv.inbound.slots) != 0 {
			t.Fatalf("after the deadline: %d in setup, %d in lobby, %d slots", left, srv.inbound.mu.lobby.Len(), len(srv.inbound.slots))
		}
	})
}

// flakyListener fails Accept with a temporary error a number of times.
type flakyListener struct {
	net.Listener
	mu       sync.Mutex
	failures int
	calls    []time.Time
}

type tempErr struct{}

func (tempErr) Error() string   { return "too many open files" }
func (tempErr) Temporary() bool { return true }
func (tempErr) Timeout() bool   { return false }

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	l.calls = append(l.calls, time.Now())
	fail := l.failures > 0
	if fail {
		l.failures--
	}
	l.mu.Unlock()
	if fail {
		return nil, tempErr{}
	}
	return l.Listener.Accept()
}

type flakyNet struct {
	*memnet.Host
	l *flakyListener
}

func (f *flakyNet) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	l, err := f.Host.Listen(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	f.l = &flakyListener{Listener: l, failures: 10}
	return f.l, nil
}

// Temporary Accept errors (out of file descriptors) are retried with a
// growing delay, and the server keeps serving afterwards.
func TestServerAcceptBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		fn := &flakyNet{Host: n.Host(netip.MustParseAddr("10.0.0.1"))}
		srv := testServer(t, n, "10.0.0.1", func(c *Config) { c.Network = fn })
		synctest.Wait()
		time.Sleep(10 * time.Second)
		fn.l.mu.Lock()
		calls := fn.l.calls
		fn.l.mu.Unlock()
		if len(calls) != 11 {
			t.Fatalf("%d Accept calls", len(calls))
		}
		var delays []time.Duration
		for i := 1; i < len(calls); i++ {
			delays = append(delays, calls[i].Sub(calls[i-1]))
		}
		want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
		for i := range want {
			want[i] *= time.Millisecond
		}
		if fmt.Sprint(delays) != fmt.Sprint(want) {
			t.Fatalf("retry delays %v, want %v", delays, want)
		}
		if _, err := rawDial(t, n, "10.0.0.2", srv); err != nil {
			t.Fatalf("not serving after the errors: %v", err)
		}
	})
}

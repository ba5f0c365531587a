package discover

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover/memudp"
	"github.com/trellis-p2p/trellis/discover/v4wire"
	"github.com/trellis-p2p/trellis/enode"
)

// TestMain fails the run if a test left a goroutine of this package (or of
// the node database) running. Close waits for every goroutine the listener
// starts, so a leftover one is a bug.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func leakedGoroutines() string {
	var leaked []string
	for range 50 {
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		leaked = leaked[:0]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if (strings.Contains(g, "trellis/discover.") || strings.Contains(g, "nodedb.(*")) &&
				!strings.Contains(g, "leakedGoroutines") && !strings.Contains(g, "TestMain") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
	return strings.Join(leaked, "\n\n")
}

// testKey derives a private key from i, the same on every run.
func testKey(i uint64) *crypto.PrivateKey {
	for ctr := uint64(0); ; ctr++ {
		seed := sha256.Sum256(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, i), ctr))
		if k, err := crypto.ToPrivateKey(seed[:]); err == nil {
			return k
		}
	}
}

var keyCache sync.Map

// cachedKey is testKey, memoised: key derivation shows in big tests.
func cachedKey(i uint64) *crypto.PrivateKey {
	if k, ok := keyCache.Load(i); ok {
		return k.(*crypto.PrivateKey)
	}
	k := testKey(i)
	keyCache.Store(i, k)
	return k
}

// logRecorder collects log messages, so tests can check why a packet was
// dropped.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	r.mu.Lock()
	r.msgs = append(r.msgs, b.String())
	r.mu.Unlock()
	return nil
}

// count returns how many messages contain all of the given strings.
func (r *logRecorder) count(parts ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
outer:
	for _, m := range r.msgs {
		for _, p := range parts {
			if !strings.Contains(m, p) {
				continue outer
			}
		}
		n++
	}
	return n
}

// testNet is a set of listeners on an in-memory network.
type testNet struct {
	t   testing.TB
	net *memudp.Network
}

func newTestNet(t testing.TB) *testNet {
	return &testNet{t: t, net: memudp.New()}
}

// socket opens addr on the test network for a listener with key i, which
// it sets in cfg, and returns the socket and the listener's local node.
func (tn *testNet) socket(i uint64, addr string, cfg *Config) (*memudp.Conn, *enode.LocalNode) {
	tn.t.Helper()
	ap := netip.MustParseAddrPort(addr)
	conn, err := tn.net.Listen(ap)
	if err != nil {
		tn.t.Fatal(err)
	}
	key := cachedKey(i)
	cfg.PrivateKey = key
	ln := enode.NewLocalNode(nil, key)
	ln.SetFallbackIP(ap.Addr())
	ln.SetFallbackUDP(int(ap.Port()))
	return conn, ln
}

// listen starts a listener with key i at addr. cfg may leave PrivateKey
// empty.
func (tn *testNet) listen(i uint64, addr string, cfg Config) *UDPv4 {
	tn.t.Helper()
	conn, ln := tn.socket(i, addr, &cfg)
	l, err := ListenV4(conn, ln, cfg)
	if err != nil {
		conn.Close()
		tn.t.Fatal(err)
	}
	tn.t.Cleanup(l.Close)
	return l
}

// testPeer is a hand-driven discv4 endpoint: it sends crafted packets and
// reads what comes back, like go-ethereum's conformance tester.
type testPeer struct {
	t    testing.TB
	key  *crypto.PrivateKey
	conn *memudp.Conn
	id   enode.ID
	in   chan []byte // datagrams received, filled by a reader goroutine
}

func (tn *testNet) peer(i uint64, addr string) *testPeer {
	tn.t.Helper()
	conn, err := tn.net.Listen(netip.MustParseAddrPort(addr))
	if err != nil {
		tn.t.Fatal(err)
	}
	key := cachedKey(i)
	p := &testPeer{t: tn.t, key: key, conn: conn, id: enode.PubkeyToIDV4(key.PubKey()), in: make(chan []byte, 1000)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			buf := make([]byte, 2048)
			n, _, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			select {
			case p.in <- buf[:n]:
			default:
			}
		}
	}()
	tn.t.Cleanup(func() { conn.Close(); <-done })
	return p
}

func (p *testPeer) addr() netip.AddrPort { return p.conn.LocalAddrPort() }

func (p *testPeer) endpoint() v4wire.Endpoint { return v4wire.NewEndpoint(p.addr(), 0) }

func (p *testPeer) pubkey() v4wire.Pubkey { return v4wire.EncodePubkey(p.key.PubKey()) }

func (p *testPeer) node() *enode.Node {
	return enode.NewV4(p.key.PubKey(), p.addr().Addr(), 0, int(p.addr().Port()))
}

// send signs and sends a packet to the listener, returning its hash.
func (p *testPeer) send(to *UDPv4, pkt v4wire.Packet) [v4wire.HashSize]byte {
	p.t.Helper()
	b, hash, err := v4wire.Encode(p.key, pkt)
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendRaw(to, b)
	return hash
}

func (p *testPeer) sendRaw(to *UDPv4, b []byte) {
	p.conn.WriteToUDPAddrPort(b, listenerAddr(to))
}

func listenerAddr(l *UDPv4) netip.AddrPort {
	return l.conn.(*memudp.Conn).LocalAddrPort()
}

// read returns the next packet, or nil if none arrives within a second
// (fake time under synctest). Undecodable packets fail the test.
func (p *testPeer) read() (v4wire.Packet, [v4wire.HashSize]byte) {
	p.t.Helper()
	select {
	case b := <-p.in:
		pkt, _, hash, err := v4wire.Decode(b)
		if err != nil {
			p.t.Fatalf("read: %v", err)
		}
		return pkt, hash
	case <-time.After(time.Second):
		return nil, [v4wire.HashSize]byte{}
	}
}

// expectNone fails if a packet arrives within a second.
func (p *testPeer) expectNone(what string) {
	p.t.Helper()
	if pkt, _ := p.read(); pkt != nil {
		p.t.Fatalf("%s: got %s %+v, want no packet", what, pkt.Name(), pkt)
	}
}

// bond performs the endpoint proof with l: ping, answer its ping, read its
// pong.
func (p *testPeer) bond(l *UDPv4) {
	p.t.Helper()
	hash := p.ping(l)
	var gotPing, gotPong bool
	for !gotPing || !gotPong {
		pkt, h := p.read()
		switch pkt := pkt.(type) {
		case *v4wire.Ping:
			p.send(l, &v4wire.Pong{To: v4wire.NewEndpoint(listenerAddr(l), 0), ReplyTok: h[:], Expiration: future()})
			gotPing = true
		case *v4wire.Pong:
			if string(pkt.ReplyTok) != string(hash[:]) {
				p.t.Fatal("pong with wrong token")
			}
			gotPong = true
		case nil:
			p.t.Fatalf("bond: no packet (ping %v, pong %v)", gotPing, gotPong)
		}
	}
	synctest.Wait() // the listener has handled our pong
}

func (p *testPeer) ping(l *UDPv4) [v4wire.HashSize]byte {
	return p.send(l, &v4wire.Ping{Version: 4, From: p.endpoint(), To: v4wire.NewEndpoint(listenerAddr(l), 0), Expiration: future()})
}

func future() uint64 { return uint64(time.Now().Add(20 * time.Second).Unix()) }

func slogRecorder(r *logRecorder) *slog.Logger { return slog.New(r) }

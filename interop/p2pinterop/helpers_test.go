package p2pinterop

import (
	"context"
	"crypto/ecdsa"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	gp2p "github.com/ethereum/go-ethereum/p2p"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
)

// The test protocol, "itp/1", has three message codes.
const (
	protoName    = "itp"
	protoVersion = 1
	protoLength  = 3

	codeEcho  = 0 // the receiver sends the payload back as codeReply
	codeReply = 1 // delivered to the test
	codeSink  = 2 // one-way; the receiver counts it
)

// waitTimeout bounds every wait for something the other node should do
// promptly. The machine is shared and loaded, so it is generous; a passing
// test never waits for it.
const waitTimeout = 20 * time.Second

// key is one node key in both libraries' types.
type key struct {
	t  *crypto.PrivateKey
	g  *ecdsa.PrivateKey
	pk *crypto.PublicKey
}

func newKey(t testing.TB) key {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	g, err := gcrypto.ToECDSA(crypto.FromPrivateKey(k))
	if err != nil {
		t.Fatal(err)
	}
	// The public key is derived once: PubKey computes it anew on every
	// call, which the benchmarks must not charge to Trellis.
	return key{t: k, g: g, pk: k.PubKey()}
}

func (k key) id() [32]byte { return enode.PubkeyToIDV4(k.pub()) }

// pub returns the public key. A key may be only public (no private
// parts), for a server in another process.
func (k key) pub() *crypto.PublicKey { return k.pk }

// event is a peer event of either library.
type event struct {
	typ  string // "add", "drop", "msgsend", "msgrecv"
	peer [32]byte
	err  string // drop reason
	code uint64
	size uint32 // uncompressed message size, as both libraries report it
}

// logLine is a log record that carries an error, from either library:
// how the failures of connection setup become visible.
type logLine struct{ msg, err string }

// node is a running p2p server of either library, as the tests drive it.
type node interface {
	impl() string
	key() key
	port() int
	url() string
	dial(n node)       // add n as a static node
	remove(n node)     // RemovePeer
	trust(n node)      // AddTrustedPeer
	disconnect(n node) // Peer.Disconnect(DiscRequested) on the peer n
	peerCount() int
	isTrusted(n node) bool // whether the peer n is marked trusted
	events() <-chan event
	logs() <-chan logLine
	proto() *protoHost
	stop()
}

// nodeOpts configures a test node.
type nodeOpts struct {
	maxPeers  int    // zero means 10
	noDial    bool   // all slots for inbound connections
	proto     string // protocol name; "" means itp, "-" means none
	msgEvents bool
	key       *key  // nil: a new key
	trusted   []key // Config.TrustedNodes
	// quiet is for benchmarks: logs are discarded unread and connections
	// are not counted, so that neither library pays for the harness.
	quiet bool
	// noEvents: no peer event subscription, for tests that never read
	// events (a full event channel would hold up the server).
	noEvents bool
	// Protocols replacing the test protocol, one per library.
	tproto *p2p.Protocol
	gproto *gp2p.Protocol
}

func (o nodeOpts) withDefaults() nodeOpts {
	if o.maxPeers == 0 {
		o.maxPeers = 10
	}
	if o.proto == "" {
		o.proto = protoName
	}
	return o
}

func (o nodeOpts) nodeKey(t testing.TB) key {
	if o.key != nil {
		return *o.key
	}
	return newKey(t)
}

// protoHost is the test protocol's state on one node: the senders of its
// running instances by peer, and what they received.
type protoHost struct {
	mu      sync.Mutex
	senders map[[32]byte]func(code uint64, payload []byte) error
	up      chan [32]byte
	replies chan received
	sunk    atomic.Int64
}

type received struct {
	peer    [32]byte
	payload []byte
}

func newProtoHost() *protoHost {
	return &protoHost{
		senders: make(map[[32]byte]func(uint64, []byte) error),
		up:      make(chan [32]byte, 64),
		replies: make(chan received, 64),
	}
}

// run is the body of Run for both libraries: send and read are the
// library's message writing and reading.
func (h *protoHost) run(peer [32]byte, send func(uint64, []byte) error, read func() (uint64, []byte, error)) error {
	h.mu.Lock()
	h.senders[peer] = send
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.senders, peer)
		h.mu.Unlock()
	}()
	select {
	case h.up <- peer:
	default:
	}
	for {
		code, payload, err := read()
		if err != nil {
			return err
		}
		switch code {
		case codeEcho:
			if err := send(codeReply, payload); err != nil {
				return err
			}
		case codeReply:
			h.replies <- received{peer, payload}
		case codeSink:
			h.sunk.Add(1)
		}
	}
}

// running returns the number of peers the protocol runs with.
func (h *protoHost) running() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.senders)
}

func (h *protoHost) send(t testing.TB, peer [32]byte, code uint64, payload []byte) {
	t.Helper()
	h.mu.Lock()
	send := h.senders[peer]
	h.mu.Unlock()
	if send == nil {
		t.Fatalf("protocol not running with %x", peer[:4])
	}
	if err := send(code, payload); err != nil {
		t.Fatalf("send to %x: %v", peer[:4], err)
	}
}

func (h *protoHost) reply(t testing.TB) received {
	t.Helper()
	select {
	case r := <-h.replies:
		return r
	case <-time.After(waitTimeout):
		t.Fatal("no reply")
		return received{}
	}
}

// logCapture is a slog.Handler that forwards records with an "err"
// attribute. Both libraries log why a connection setup failed (Trellis at
// debug level, go-ethereum at trace level) and go-ethereum has no other way
// to tell without enabling its global metrics.
type logCapture struct{ ch chan logLine }

func (h *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCapture) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logCapture) WithGroup(string) slog.Handler            { return h }
func (h *logCapture) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "err" {
			return true
		}
		select {
		case h.ch <- logLine{r.Message, a.Value.String()}:
		default: // a test that does not read them must not block the node
		}
		return false
	})
	return nil
}

// waitLog waits for a log line whose error contains want.
func waitLog(t testing.TB, n node, want string) logLine {
	t.Helper()
	timeout := time.After(waitTimeout)
	var seen []string
	for {
		select {
		case l := <-n.logs():
			if strings.Contains(l.err, want) {
				return l
			}
			seen = append(seen, l.msg+": "+l.err)
		case <-timeout:
			t.Fatalf("%s never logged an error containing %q; saw %q", n.impl(), want, seen)
		}
	}
}

// waitEvent waits for an event of type typ about peer, failing on a drop
// while waiting for anything else.
func waitEvent(t testing.TB, n node, typ string, peer node) event {
	t.Helper()
	id := peer.key().id()
	timeout := time.After(waitTimeout)
	for {
		select {
		case ev := <-n.events():
			if ev.peer != id {
				continue
			}
			if ev.typ == typ {
				return ev
			}
			if ev.typ == "drop" {
				t.Fatalf("%s: peer %s dropped (%s) while waiting for %s", n.impl(), peer.impl(), ev.err, typ)
			}
		case <-timeout:
			t.Fatalf("%s: no %s event for %s", n.impl(), typ, peer.impl())
		}
	}
}

// connect makes a dial b and waits until the test protocol runs on both.
func connect(t testing.TB, a, b node) {
	t.Helper()
	a.dial(b)
	waitEvent(t, a, "add", b)
	waitEvent(t, b, "add", a)
	waitUp(t, a, b)
	waitUp(t, b, a)
}

// waitUp waits until the protocol on n runs with peer.
func waitUp(t testing.TB, n, peer node) {
	t.Helper()
	id := peer.key().id()
	h := n.proto()
	h.mu.Lock()
	_, ok := h.senders[id]
	h.mu.Unlock()
	timeout := time.After(waitTimeout)
	for !ok {
		select {
		case got := <-h.up:
			ok = got == id
		case <-timeout:
			t.Fatalf("%s: protocol never started with %s", n.impl(), peer.impl())
		}
	}
}

// wireCounter counts the bytes of the TCP connections a node opens or
// accepts through it.
type wireCounter struct{ in, out atomic.Int64 }

type countingConn struct {
	net.Conn
	c *wireCounter
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.c.in.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.c.out.Add(int64(n))
	return n, err
}

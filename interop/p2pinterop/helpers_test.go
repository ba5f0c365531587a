package p2pinterop

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	glog "github.com/ethereum/go-ethereum/log"
	gp2p "github.com/ethereum/go-ethereum/p2p"
	genode "github.com/ethereum/go-ethereum/p2p/enode"

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
	pk *crypto.PublicKey // set only for a public key alone
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
	return key{t: k, g: g}
}

func (k key) id() [32]byte { return enode.PubkeyToIDV4(k.pub()) }

// pub returns the public key. A key may be only public (t.pk set, no
// private parts), for a server in another process.
func (k key) pub() *crypto.PublicKey {
	if k.pk != nil {
		return k.pk
	}
	return k.t.PubKey()
}

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

// run is the body of Run for both libraries: read and next are the
// library's message reading and sending.
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

// ---- Trellis ----

type trellisNode struct {
	k     key
	srv   *p2p.Server
	ph    *protoHost
	ev    chan event
	log   chan logLine
	wire  wireCounter
	sub   p2p.Subscription
	quit  chan struct{}
	fwdWG sync.WaitGroup
}

// countingNetwork is TCP with counted connections.
type countingNetwork struct {
	p2p.TCPNetwork
	c *wireCounter
}

func (n *countingNetwork) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := n.TCPNetwork.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{c, n.c}, nil
}

func (n *countingNetwork) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	l, err := n.TCPNetwork.Listen(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingListener{l, n.c}, nil
}

type countingListener struct {
	net.Listener
	c *wireCounter
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{c, l.c}, nil
}

func trellisProto(ph *protoHost, name string) p2p.Protocol {
	return p2p.Protocol{Name: name, Version: protoVersion, Length: protoLength, Run: func(p *p2p.Peer, rw p2p.MsgReadWriter) error {
		send := func(code uint64, payload []byte) error { return rw.WriteMsg(p2p.NewMsg(code, payload)) }
		read := func() (uint64, []byte, error) {
			msg, err := rw.ReadMsg()
			if err != nil {
				return 0, nil, err
			}
			b, err := io.ReadAll(msg.Payload)
			return msg.Code, b, err
		}
		return ph.run(p.ID(), send, read)
	}}
}

func newTrellis(t testing.TB, o nodeOpts) *trellisNode {
	t.Helper()
	o = o.withDefaults()
	n := &trellisNode{
		k:    o.nodeKey(t),
		ph:   newProtoHost(),
		ev:   make(chan event, 4096),
		log:  make(chan logLine, 1024),
		quit: make(chan struct{}),
	}
	var protos []p2p.Protocol
	switch {
	case o.tproto != nil:
		protos = append(protos, *o.tproto)
	case o.proto != "-":
		protos = append(protos, trellisProto(n.ph, o.proto))
	}
	n.srv = &p2p.Server{Config: p2p.Config{
		PrivateKey:      n.k.t,
		Name:            "trellis/interop",
		MaxPeers:        o.maxPeers,
		NoDial:          o.noDial,
		NoDiscovery:     true,
		ListenAddr:      "127.0.0.1:0",
		Protocols:       protos,
		Network:         &countingNetwork{c: &n.wire},
		TrustedNodes:    trellisNodes(o.trusted),
		EnableMsgEvents: o.msgEvents,
		Logger:          slog.New(&logCapture{n.log}),
	}}
	if o.quiet {
		n.srv.Network = nil
		n.srv.Logger = slog.New(slog.DiscardHandler)
	}
	ch := make(chan *p2p.PeerEvent)
	n.sub = n.srv.SubscribeEvents(ch)
	if o.noEvents {
		n.sub.Unsubscribe()
	}
	n.fwdWG.Add(1)
	go func() {
		defer n.fwdWG.Done()
		for {
			select {
			case e := <-ch:
				ev := event{typ: string(e.Type), peer: e.Peer, err: e.Error}
				if e.MsgCode != nil {
					ev.code, ev.size = *e.MsgCode, *e.MsgSize
				}
				n.ev <- ev
			case <-n.quit:
				return
			}
		}
	}()
	if err := n.srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	return n
}

func (n *trellisNode) impl() string         { return "trellis" }
func (n *trellisNode) key() key             { return n.k }
func (n *trellisNode) port() int            { return n.srv.ListenAddr().(*net.TCPAddr).Port }
func (n *trellisNode) url() string          { return n.tnode().URLv4() }
func (n *trellisNode) peerCount() int       { return n.srv.PeerCount() }
func (n *trellisNode) proto() *protoHost    { return n.ph }
func (n *trellisNode) events() <-chan event { return n.ev }
func (n *trellisNode) logs() <-chan logLine { return n.log }
func (n *trellisNode) dial(o node)          { n.srv.AddPeer(tnode(o)) }
func (n *trellisNode) remove(o node)        { n.srv.RemovePeer(tnode(o)) }
func (n *trellisNode) trust(o node)         { n.srv.AddTrustedPeer(tnode(o)) }
func (n *trellisNode) tnode() *enode.Node   { return tnode(n) }

func (n *trellisNode) peer(o node) *p2p.Peer {
	for _, p := range n.srv.Peers() {
		if p.ID() == o.key().id() {
			return p
		}
	}
	return nil
}

func (n *trellisNode) disconnect(o node) {
	if p := n.peer(o); p != nil {
		p.Disconnect(p2p.DiscRequested)
	}
}

func (n *trellisNode) isTrusted(o node) bool {
	p := n.peer(o)
	return p != nil && p.Trusted()
}

func (n *trellisNode) stop() {
	n.srv.Stop()
	n.sub.Unsubscribe()
	select {
	case <-n.quit:
	default:
		close(n.quit)
	}
	n.fwdWG.Wait()
}

// tnode is n as a Trellis enode.Node.
func tnode(n node) *enode.Node {
	return enode.NewV4(n.key().t.PubKey(), netip.AddrFrom4([4]byte{127, 0, 0, 1}), n.port(), 0)
}

// gnode is n as a go-ethereum enode.Node.
func gnode(n node) *genode.Node {
	return genode.NewV4(&n.key().g.PublicKey, net.IPv4(127, 0, 0, 1), n.port(), 0)
}

func trellisNodes(keys []key) []*enode.Node {
	var ns []*enode.Node
	for _, k := range keys {
		ns = append(ns, enode.NewV4(k.t.PubKey(), netip.Addr{}, 0, 0))
	}
	return ns
}

// ---- go-ethereum ----

type gethNode struct {
	k     key
	srv   *gp2p.Server
	ph    *protoHost
	ev    chan event
	log   chan logLine
	wire  wireCounter // connections it dials
	quit  chan struct{}
	fwdWG sync.WaitGroup
	once  sync.Once
}

// countingDialer is go-ethereum's NodeDialer over TCP with counted
// connections.
type countingDialer struct{ c *wireCounter }

func (d countingDialer) Dial(ctx context.Context, n *genode.Node) (net.Conn, error) {
	addr, _ := n.TCPEndpoint()
	var nd net.Dialer
	c, err := nd.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, err
	}
	return &countingConn{c, d.c}, nil
}

func gethProto(ph *protoHost, name string) gp2p.Protocol {
	return gp2p.Protocol{Name: name, Version: protoVersion, Length: protoLength, Run: func(p *gp2p.Peer, rw gp2p.MsgReadWriter) error {
		send := func(code uint64, payload []byte) error {
			return rw.WriteMsg(gp2p.Msg{Code: code, Size: uint32(len(payload)), Payload: bytes.NewReader(payload)})
		}
		read := func() (uint64, []byte, error) {
			msg, err := rw.ReadMsg()
			if err != nil {
				return 0, nil, err
			}
			b, err := io.ReadAll(msg.Payload)
			return msg.Code, b, err
		}
		return ph.run(p.ID(), send, read)
	}}
}

func newGeth(t testing.TB, o nodeOpts) *gethNode {
	t.Helper()
	o = o.withDefaults()
	n := &gethNode{
		k:    o.nodeKey(t),
		ph:   newProtoHost(),
		ev:   make(chan event, 4096),
		log:  make(chan logLine, 1024),
		quit: make(chan struct{}),
	}
	var protos []gp2p.Protocol
	switch {
	case o.gproto != nil:
		protos = append(protos, *o.gproto)
	case o.proto != "-":
		protos = append(protos, gethProto(n.ph, o.proto))
	}
	n.srv = &gp2p.Server{Config: gp2p.Config{
		PrivateKey:      n.k.g,
		Name:            "geth/interop",
		MaxPeers:        o.maxPeers,
		NoDial:          o.noDial,
		NoDiscovery:     true,
		ListenAddr:      "127.0.0.1:0",
		Protocols:       protos,
		Dialer:          countingDialer{&n.wire},
		TrustedNodes:    gethNodes(o.trusted),
		EnableMsgEvents: o.msgEvents,
		Logger:          glog.NewLogger(&logCapture{n.log}),
	}}
	if o.quiet {
		n.srv.Dialer = nil
		n.srv.Logger = glog.NewLogger(glog.DiscardHandler())
	}
	ch := make(chan *gp2p.PeerEvent)
	sub := n.srv.SubscribeEvents(ch)
	if o.noEvents {
		sub.Unsubscribe()
	}
	n.fwdWG.Add(1)
	go func() {
		defer n.fwdWG.Done()
		defer sub.Unsubscribe()
		for {
			select {
			case e := <-ch:
				ev := event{typ: string(e.Type), peer: e.Peer, err: e.Error}
				if e.MsgCode != nil {
					ev.code, ev.size = *e.MsgCode, *e.MsgSize
				}
				n.ev <- ev
			case <-n.quit:
				return
			}
		}
	}()
	if err := n.srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	return n
}

func (n *gethNode) impl() string { return "geth" }
func (n *gethNode) key() key     { return n.k }
func (n *gethNode) port() int {
	ap, err := netip.ParseAddrPort(n.srv.ListenAddr) // Start puts the bound address there
	if err != nil {
		panic(err)
	}
	return int(ap.Port())
}
func (n *gethNode) url() string          { return gnode(n).URLv4() }
func (n *gethNode) peerCount() int       { return n.srv.PeerCount() }
func (n *gethNode) proto() *protoHost    { return n.ph }
func (n *gethNode) events() <-chan event { return n.ev }
func (n *gethNode) logs() <-chan logLine { return n.log }
func (n *gethNode) dial(o node)          { n.srv.AddPeer(gnode(o)) }
func (n *gethNode) remove(o node)        { n.srv.RemovePeer(gnode(o)) }
func (n *gethNode) trust(o node)         { n.srv.AddTrustedPeer(gnode(o)) }

func (n *gethNode) peer(o node) *gp2p.Peer {
	for _, p := range n.srv.Peers() {
		if [32]byte(p.ID()) == o.key().id() {
			return p
		}
	}
	return nil
}

func (n *gethNode) disconnect(o node) {
	if p := n.peer(o); p != nil {
		p.Disconnect(gp2p.DiscRequested)
	}
}

func (n *gethNode) isTrusted(o node) bool {
	p := n.peer(o)
	return p != nil && p.Info().Network.Trusted
}

func (n *gethNode) stop() {
	n.once.Do(func() {
		n.srv.Stop()
		close(n.quit)
		n.fwdWG.Wait()
	})
}

func gethNodes(keys []key) []*genode.Node {
	var ns []*genode.Node
	for _, k := range keys {
		ns = append(ns, genode.NewV4(&k.g.PublicKey, nil, 0, 0))
	}
	return ns
}

// pair is a dialer and a listener of different libraries.
type pair struct {
	name string
	mk   func(t testing.TB, dialer, listener nodeOpts) (d, l node)
}

var directions = []pair{
	{"trellis-dials-geth", func(t testing.TB, do, lo nodeOpts) (node, node) { return newTrellis(t, do), newGeth(t, lo) }},
	{"geth-dials-trellis", func(t testing.TB, do, lo nodeOpts) (node, node) { return newGeth(t, do), newTrellis(t, lo) }},
}

// newLike makes another node of n's library.
func newLike(t testing.TB, n node, o nodeOpts) node {
	if n.impl() == "trellis" {
		return newTrellis(t, o)
	}
	return newGeth(t, o)
}

func (k key) String() string { return fmt.Sprintf("%x", k.id()) }

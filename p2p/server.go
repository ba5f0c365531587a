package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/nat"
	"github.com/trellis-p2p/trellis/netutil"
)

// Connectivity defaults, as in go-ethereum.
const (
	defaultMaxPendingPeers = 50
	defaultDialRatio       = 3
	defaultMaxActiveDials  = 16
)

// Config holds Server options. Start reads it once; changing it afterwards
// has no effect on the running server.
type Config struct {
	// PrivateKey is the node key. Required.
	PrivateKey *crypto.PrivateKey
	// Name is the client name announced in Hello, e.g. "Trellis/v0.1.0".
	Name string

	// MaxPeers is the maximum number of peers; trusted nodes may exceed it.
	MaxPeers int
	// MaxPendingPeers bounds inbound connections in handshake. Zero means 50.
	MaxPendingPeers int
	// DialRatio: at most MaxPeers/DialRatio peers are dialed by us (at least
	// one unless NoDial or MaxPeers is zero); the rest of the slots are for
	// inbound connections. Zero means 3.
	DialRatio int
	// MaxActiveDials bounds concurrent outbound dials. Zero means 16.
	MaxActiveDials int
	// NoDial disables outbound connections, static ones included.
	NoDial bool
	// NoDiscovery disables dialing nodes from Discovery and the protocols'
	// DialCandidates. Static nodes are still dialed.
	NoDiscovery bool

	// ListenAddr is the TCP address to listen on, such as ":30303". Empty
	// means no listening; port 0 picks a free port (see Server.ListenAddr).
	ListenAddr string

	// StaticNodes are always kept connected, redialed with backoff.
	StaticNodes []*enode.Node
	// TrustedNodes may connect even when the peer limits are reached.
	TrustedNodes []*enode.Node
	// NetRestrict, if set, limits inbound and outbound connections to these
	// networks.
	NetRestrict *netutil.Netlist

	// Protocols are run with every peer that shares them.
	Protocols []Protocol

	// Discovery supplies dial candidates (for example a discv4/discv5
	// random walk). The server closes it on Stop.
	Discovery enode.Iterator
	// Resolver, if set, finds the current endpoint of static nodes that have
	// no IP or cannot be reached (a discovery lookup by ID).
	Resolver NodeResolver
	// NAT, if set, is asked for the external IP (put into the local record)
	// and to map the listening port.
	NAT nat.Interface
	// LocalNode, if set, is the local node record to maintain (shared with
	// discovery); it must belong to PrivateKey. If nil, the server makes one.
	LocalNode *enode.LocalNode

	// Network is the network to listen and dial on. Nil means TCP.
	Network Network
	// Metrics receives measurements. Nil means a CounterMetrics, available
	// from Server.Counters.
	Metrics Metrics
	// EnableMsgEvents adds message send/receive events to SubscribeEvents.
	EnableMsgEvents bool
	// Logger receives the server's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// NodeResolver looks up the current record of a node by its ID.
type NodeResolver interface {
	Resolve(n *enode.Node) *enode.Node
}

// withDefaults validates the config and returns a copy with defaults filled
// in. It never modifies c.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.PrivateKey == nil:
		return bad("PrivateKey is required")
	case c.MaxPeers < 0:
		return bad("MaxPeers is negative")
	case c.MaxPendingPeers < 0:
		return bad("MaxPendingPeers is negative")
	case c.DialRatio < 0:
		return bad("DialRatio is negative")
	case c.MaxActiveDials < 0:
		return bad("MaxActiveDials is negative")
	}
	if c.LocalNode != nil && c.LocalNode.ID() != enode.PubkeyToIDV4(c.PrivateKey.PubKey()) {
		return bad("LocalNode belongs to another key")
	}
	seen := make(map[Cap]bool)
	for i, p := range c.Protocols {
		switch {
		case p.Name == "":
			return bad("protocol %d has no name", i)
		case p.Run == nil:
			return bad("protocol %s has no Run function", p.Cap())
		case seen[p.Cap()]:
			return bad("protocol %s is listed twice", p.Cap())
		}
		seen[p.Cap()] = true
	}
	for _, n := range append(append([]*enode.Node(nil), c.StaticNodes...), c.TrustedNodes...) {
		if n == nil {
			return bad("nil node in StaticNodes or TrustedNodes")
		}
	}
	if c.MaxPendingPeers == 0 {
		c.MaxPendingPeers = defaultMaxPendingPeers
	}
	if c.DialRatio == 0 {
		c.DialRatio = defaultDialRatio
	}
	if c.MaxActiveDials == 0 {
		c.MaxActiveDials = defaultMaxActiveDials
	}
	if c.Network == nil {
		c.Network = new(TCPNetwork)
	}
	if c.Metrics == nil {
		c.Metrics = NewCounterMetrics()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Protocols = append([]Protocol(nil), c.Protocols...)
	c.StaticNodes = append([]*enode.Node(nil), c.StaticNodes...)
	c.TrustedNodes = append([]*enode.Node(nil), c.TrustedNodes...)
	return c, nil
}

// maxDialedConns is how many peers we may dial: MaxPeers/DialRatio, at least
// one unless dialing is off.
func (c *Config) maxDialedConns() int {
	if c.NoDial || c.MaxPeers == 0 {
		return 0
	}
	return max(c.MaxPeers/c.DialRatio, 1)
}

func (c *Config) maxInboundConns() int { return c.MaxPeers - c.maxDialedConns() }

type serverState int

const (
	stateNew serverState = iota
	stateRunning
	stateStopped
)

// Server manages the peer connections of a node.
//
// Its state is owned by the goroutine in loop: peer set, inbound count,
// trusted set. Other goroutines post closures to it through inbox. The loop
// writes that state holding state.mu, so that queries and the early checks
// of connection setup can read it without a round trip.
type Server struct {
	// Config is read by Start. Set it before calling Start.
	Config

	lifecycle struct {
		sync.Mutex
		state   serverState
		stopped chan struct{} // closed when Stop has finished
	}

	// Fixed at Start.
	cfg       Config
	localnode *enode.LocalNode
	helloData []byte // our encoded Hello
	listener  net.Listener
	dialer    *dialScheduler
	discmix   *enode.FairMix
	hooks     peerHooks
	log       *slog.Logger
	feed      Feed[*PeerEvent]

	ctx    context.Context // cancelled by Stop
	cancel context.CancelFunc
	inbox  *mailbox
	quit   chan struct{} // tells loop to disconnect everyone and exit

	// Goroutine groups, waited for in reverse order of start.
	loopWG   sync.WaitGroup // loop
	peerWG   sync.WaitGroup // one per peer
	acceptWG sync.WaitGroup // accept loop
	setupWG  sync.WaitGroup // connections in setup (inbound and dialed)
	workers  *workers       // goroutines running inbound set-ups

	natMapper *nat.Mapper // nil without Config.NAT

	inbound inboundGate
	setup   struct {
		sync.Mutex
		conns  map[net.Conn]struct{} // connections in handshake, closed by Stop
		closed bool
	}

	state struct {
		sync.RWMutex
		peers    map[enode.ID]*Peer
		inbound  int // peers that dialed us
		dialed   int // peers we dialed
		trusted  map[enode.ID]bool
		stopping bool
		// dropping holds the removed peers whose drop event
		// is still being delivered, so that a reconnection's add event
		// waits for it.
		dropping map[enode.ID]*Peer
	}
}

// Start validates the config, starts listening and starts the server's
// goroutines. On error nothing is left running. A server runs once: after
// Stop, Start returns ErrServerStopped.
func (srv *Server) Start() (err error) {
	srv.lifecycle.Lock()
	defer srv.lifecycle.Unlock()
	switch srv.lifecycle.state {
	case stateRunning:
		return ErrServerRunning
	case stateStopped:
		return ErrServerStopped
	}
	cfg, err := srv.Config.withDefaults()
	if err != nil {
		return err
	}
	srv.cfg = cfg
	srv.log = cfg.Logger
	srv.hooks = peerHooks{metrics: cfg.Metrics}
	if cfg.EnableMsgEvents {
		srv.hooks.events = &srv.feed
	}
	if cfg.NoDial && cfg.ListenAddr == "" {
		srv.log.Warn("P2P server will be useless, neither dialing nor listening")
	}

	// The fallible steps come first, so that a failure leaves nothing to undo
	// but the listener. Checking the Hello with the longest port makes sure
	// the real one fits too.
	if _, err := srv.ourHello(0xffff).encodeChecked(); err != nil {
		return err
	}
	srv.ctx, srv.cancel = context.WithCancel(context.Background())
	srv.workers = newWorkers()
	if cfg.ListenAddr != "" {
		if srv.listener, err = cfg.Network.Listen(srv.ctx, "tcp", cfg.ListenAddr); err != nil {
			srv.listener = nil
			srv.cancel()
			return fmt.Errorf("p2p: listen: %w", err)
		}
	}

	srv.localnode = cfg.LocalNode
	if srv.localnode == nil {
		srv.localnode = enode.NewLocalNode(nil, cfg.PrivateKey)
	}
	srv.helloData = srv.ourHello(0).encode()
	srv.setupLocalNode()
	if cfg.NAT != nil {
		// The mapper keeps the TCP port mapped and the record's IP and tcp
		// entry equal to what the gateway grants.
		m, err := nat.Map(cfg.NAT, srv.localnode, nat.MapConfig{TCP: srv.natPort(), Logger: srv.log})
		if err != nil {
			if srv.listener != nil {
				srv.listener.Close()
				srv.listener = nil
			}
			srv.cancel()
			return fmt.Errorf("p2p: NAT: %w", err)
		}
		srv.natMapper = m
	}

	// From here on nothing fails.
	srv.inbox = newMailbox()
	srv.quit = make(chan struct{})
	srv.setup.conns = make(map[net.Conn]struct{})
	srv.state.peers = make(map[enode.ID]*Peer)
	srv.state.dropping = make(map[enode.ID]*Peer)
	srv.state.trusted = make(map[enode.ID]bool, len(cfg.TrustedNodes))
	for _, n := range cfg.TrustedNodes {
		srv.state.trusted[n.ID()] = true
	}
	srv.lifecycle.stopped = make(chan struct{})

	// The dialer first: the loop reads srv.dialer.
	srv.startDialer()
	srv.loopWG.Add(1)
	go srv.loop()
	if srv.listener != nil {
		srv.inbound.init(srv)
		srv.acceptWG.Add(1)
		go srv.acceptLoop()
	}
	srv.lifecycle.state = stateRunning
	srv.log.Info("Started P2P networking", "self", srv.localnode.Node().URLv4())
	return nil
}

// ourHello returns our Hello message.
func (srv *Server) ourHello(port int) *hello {
	h := &hello{
		Version:    baseProtocolVersion,
		Name:       srv.cfg.Name,
		ListenPort: uint64(port),
		ID:         crypto.MarshalPubkey(srv.cfg.PrivateKey.PubKey())[1:],
	}
	for _, p := range srv.cfg.Protocols {
		h.Caps = append(h.Caps, p.Cap())
	}
	sortCaps(h.Caps)
	return h
}

// encodeChecked encodes our Hello, refusing one that peers would reject.
func (h *hello) encodeChecked() ([]byte, error) {
	enc := h.encode()
	if len(enc) > maxHelloSize {
		return nil, fmt.Errorf("%w: Hello is %d bytes (name and protocols too long), limit %d", ErrConfig, len(enc), maxHelloSize)
	}
	return enc, nil
}

func (srv *Server) setupLocalNode() {
	ln := srv.localnode
	ln.SetFallbackIP(netipLoopback)
	for _, p := range srv.cfg.Protocols {
		for _, e := range p.Attributes {
			ln.Set(e)
		}
	}
	if srv.listener == nil {
		return
	}
	if a, ok := srv.listener.Addr().(*net.TCPAddr); ok {
		// Bound to one address: that is where we can be reached, unless
		// discovery or NAT learn better.
		if ip := netutil.IPToAddr(a.IP); ip.IsValid() && !ip.IsUnspecified() {
			ln.SetFallbackIP(ip)
		}
		ln.Set(enr.TCP(uint16(a.Port)))
		// Hello carries the listening port too (rlpx.md: "the port on
		// which the client is listening", 0 if none).
		srv.helloData = srv.ourHello(a.Port).encode()
	}
}

// Stop disconnects every peer with DiscQuitting, stops all goroutines and
// returns when they are gone. It may be called more than once, and
// concurrently; every call waits for the shutdown to finish.
func (srv *Server) Stop() {
	srv.lifecycle.Lock()
	switch srv.lifecycle.state {
	case stateNew:
		srv.lifecycle.Unlock()
		return
	case stateStopped:
		done := srv.lifecycle.stopped
		srv.lifecycle.Unlock()
		<-done
		return
	}
	srv.lifecycle.state = stateStopped
	srv.lifecycle.Unlock()

	// Reverse order of Start: stop taking connections, abort the ones in
	// setup, stop dialing, then disconnect the peers.
	srv.cancel()
	if srv.listener != nil {
		srv.listener.Close()
	}
	srv.acceptWG.Wait()
	srv.abortSetups()
	srv.stopDialer()
	srv.setupWG.Wait()
	srv.workers.stop()
	close(srv.quit)
	srv.loopWG.Wait()
	if srv.natMapper != nil {
		srv.natMapper.Close() // deletes the mappings
	}
	srv.log.Info("Stopped P2P networking")
	close(srv.lifecycle.stopped)
}

// config returns the running configuration, or Config before Start.
func (srv *Server) config() *Config {
	srv.lifecycle.Lock()
	defer srv.lifecycle.Unlock()
	if srv.lifecycle.state == stateNew {
		return &srv.Config
	}
	return &srv.cfg
}

func (srv *Server) running() bool {
	srv.lifecycle.Lock()
	defer srv.lifecycle.Unlock()
	return srv.lifecycle.state == stateRunning
}

// Self returns the local node, with the record as currently published.
func (srv *Server) Self() *enode.Node {
	if ln := srv.LocalNode(); ln != nil {
		return ln.Node()
	}
	if srv.Config.PrivateKey == nil {
		return nil
	}
	return enode.NewV4(srv.Config.PrivateKey.PubKey(), netipUnspecified, 0, 0)
}

// LocalNode returns the local node record, or nil before Start.
func (srv *Server) LocalNode() *enode.LocalNode {
	srv.lifecycle.Lock()
	defer srv.lifecycle.Unlock()
	return srv.localnode
}

// Addr returns the address the server listens on, with the port actually
// bound (Config.ListenAddr may ask for port 0); nil if it does not listen or
// has not started.
func (srv *Server) Addr() net.Addr {
	srv.lifecycle.Lock()
	defer srv.lifecycle.Unlock()
	if srv.listener == nil {
		return nil
	}
	return srv.listener.Addr()
}

// Counters returns the default metrics, or nil when Config.Metrics was set.
func (srv *Server) Counters() *CounterMetrics {
	m, _ := srv.config().Metrics.(*CounterMetrics)
	return m
}

// Peers returns the connected peers.
func (srv *Server) Peers() []*Peer {
	srv.state.RLock()
	defer srv.state.RUnlock()
	ps := make([]*Peer, 0, len(srv.state.peers))
	for _, p := range srv.state.peers {
		ps = append(ps, p)
	}
	return ps
}

// PeerCount returns the number of connected peers.
func (srv *Server) PeerCount() int {
	srv.state.RLock()
	defer srv.state.RUnlock()
	return len(srv.state.peers)
}

// SubscribeEvents delivers peer events to ch. Send blocks on a full channel,
// holding up the peer concerned: drain ch promptly or Unsubscribe.
func (srv *Server) SubscribeEvents(ch chan *PeerEvent) Subscription {
	return srv.feed.Subscribe(ch)
}

// AddPeer adds n to the static nodes: the server connects to it and
// reconnects whenever the connection ends.
func (srv *Server) AddPeer(n *enode.Node) {
	if d := srv.dialerIfRunning(); d != nil {
		d.addStatic(n)
	}
}

// RemovePeer removes n from the static nodes and disconnects it with
// DiscRequested. It waits until the peer is gone; do not call it from a
// protocol's Run for its own peer (use Peer.Disconnect).
func (srv *Server) RemovePeer(n *enode.Node) {
	if d := srv.dialerIfRunning(); d != nil {
		d.removeStatic(n)
	}
	srv.state.RLock()
	p := srv.state.peers[n.ID()]
	srv.state.RUnlock()
	if p != nil {
		p.Disconnect(DiscRequested)
		<-p.doneCh()
	}
}

// AddTrustedPeer adds n to the trusted nodes, which may connect above the
// peer limits.
func (srv *Server) AddTrustedPeer(n *enode.Node) { srv.setTrusted(n.ID(), true) }

// RemoveTrustedPeer removes n from the trusted nodes.
func (srv *Server) RemoveTrustedPeer(n *enode.Node) { srv.setTrusted(n.ID(), false) }

func (srv *Server) setTrusted(id enode.ID, on bool) {
	if !srv.running() {
		return
	}
	srv.inbox.post(func() {
		srv.state.Lock()
		if on {
			srv.state.trusted[id] = true
		} else {
			delete(srv.state.trusted, id)
		}
		p := srv.state.peers[id]
		srv.state.Unlock()
		if p != nil {
			p.setFlag(trustedConn, on)
		}
	})
}

func (srv *Server) dialerIfRunning() *dialScheduler {
	srv.lifecycle.Lock()
	defer srv.lifecycle.Unlock()
	if srv.lifecycle.state != stateRunning {
		return nil
	}
	return srv.dialer
}

var errDial = errors.New("p2p: dial failed")

var (
	netipLoopback    = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	netipUnspecified = netip.AddrFrom4([4]byte{})
)

func sortCaps(caps []Cap) { slices.SortFunc(caps, Cap.Cmp) }

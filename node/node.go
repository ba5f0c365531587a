// Package node is the container of a devp2p node: it owns the data directory
// (node key, node database, static and trusted node lists, lock), the p2p
// server, discovery, NAT port mapping, and the admin JSON-RPC and Prometheus
// endpoints, and runs the services registered with it, as go-ethereum's
// node.Node does.
//
// A service registers its protocols (RegisterProtocols) and, if it has
// goroutines of its own, a Lifecycle. Start gathers every protocol into the
// p2p server, starts the server, then the lifecycles in registration order;
// if one fails, those already started are stopped in reverse order and
// nothing is left running. Close stops everything in reverse and releases
// the data directory.
//
// # Data directory
//
// Files sit directly in the directory (go-ethereum nests them in
// <datadir>/geth/); their formats are go-ethereum's:
//
//	nodekey             node key, 64 hex characters; created on first start
//	nodes.db            node database (package enode/nodedb, one bbolt file)
//	static-nodes.json   JSON array of enode:// URLs or enr: records, always dialed
//	trusted-nodes.json  JSON array likewise, admitted above the peer limits
//	LOCK                flocked while a node runs, so two cannot share the directory
//
// Peers added at run time with admin_addPeer are not written back to
// static-nodes.json (nor are they by go-ethereum).
//
// # Admin API
//
// The HTTP and WebSocket endpoints serve JSON-RPC 2.0 (package rpc) with
// go-ethereum's admin methods that concern peers: admin_nodeInfo,
// admin_peers, admin_addPeer, admin_removePeer, admin_addTrustedPeer,
// admin_removeTrustedPeer, admin_datadir, and on WebSocket the subscription
// {"method":"admin_subscribe","params":["peerEvents"]}, whose notifications
// are admin_subscription messages carrying p2p.PeerEvent. Both endpoints
// check the Host header against Config.VirtualHosts.
//
// # Metrics
//
// The metrics endpoint serves the Prometheus text format at /metrics (and
// /debug/metrics/prometheus): trellis_p2p_peers{direction},
// trellis_p2p_dials_total, trellis_p2p_dial_outcomes_total{outcome},
// trellis_p2p_serve_outcomes_total{outcome},
// trellis_p2p_{ingress,egress}_{bytes,messages}_total{protocol},
// trellis_discovery_packets_total{proto,dir,kind},
// trellis_discovery_bytes_total{proto,dir},
// trellis_discovery_dropped_total{proto},
// trellis_discovery_table_nodes{proto}, and Go runtime gauges under
// client_golang's names.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/dnsdisc"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enode/nodedb"
	"github.com/trellis-p2p/trellis/nat"
	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rpc"
)

// Lifecycle is a service with goroutines of its own. Start must not block
// (start goroutines and return); Stop must stop them and return when they are
// gone.
type Lifecycle interface {
	Start() error
	Stop() error
}

// Errors of the node's life cycle.
var (
	ErrNodeRunning    = errors.New("node: already running")
	ErrNodeStopped    = errors.New("node: stopped")
	ErrDuplicate      = errors.New("node: duplicate service")
	ErrRegisterLate   = errors.New("node: cannot register services on a running node")
	ErrEndpointListen = errors.New("node: cannot listen")
	ErrConfig         = errors.New("node: invalid config")
)

// Config holds the node's options. Zero values are usable: an ephemeral node
// (no data directory) with a p2p server listening nowhere.
type Config struct {
	// DataDir holds the key, node database and node lists. Empty means an
	// ephemeral node: a fresh key (unless P2P.PrivateKey is set), an
	// in-memory node database, no files.
	DataDir string

	// P2P configures the server. PrivateKey, if nil, comes from DataDir.
	// StaticNodes and TrustedNodes are added to those of the data
	// directory's files. Protocols are those registered with the node;
	// Discovery, Resolver, LocalNode and NAT are set by the node.
	P2P p2p.Config

	// DiscoveryV4Addr, if set, is the UDP address of a discv4 listener
	// (devp2p discv4.md), e.g. ":30303". Its random walk feeds the dialer
	// unless P2P.NoDiscovery.
	DiscoveryV4Addr string
	// DiscoveryV5Addr, if set, is the UDP address of a discv5 listener
	// (devp2p discv5), whose random walk feeds the dialer too. Set to the
	// address of DiscoveryV4Addr, both protocols share one socket
	// (discover.ListenShared), as go-ethereum runs them; the node record
	// has room for one UDP port, so two different addresses are an error.
	DiscoveryV5Addr string
	// Bootnodes seed discovery.
	Bootnodes []*enode.Node
	// DNSDiscovery are enrtree:// URLs (EIP-1459) whose nodes are dialed.
	DNSDiscovery []string
	// DNSServer, if set, is the "ip:port" of the DNS server that DNS
	// discovery queries instead of the system resolver: for private trees
	// served by a local name server, and for tests.
	DNSServer string

	// NAT, if set, keeps the p2p and discovery ports mapped on the gateway
	// and the record's IP and ports in step with it.
	NAT nat.Interface
	// NATLifetime is the lifetime asked for each mapping (renewed at
	// half). Zero means nat.DefaultLifetime.
	NATLifetime time.Duration

	// HTTPAddr, WSAddr and MetricsAddr are TCP addresses of the admin
	// JSON-RPC over HTTP, over WebSocket, and of Prometheus /metrics.
	// Empty disables each. Port 0 picks a free port (see Endpoints).
	HTTPAddr, WSAddr, MetricsAddr string
	// VirtualHosts are the host names the HTTP and WebSocket endpoints
	// accept in the Host header (requests to IP addresses are always
	// accepted; "*" accepts all). Nil means DefaultVirtualHosts.
	VirtualHosts []string

	// Logger receives the node's logs and is passed on to the server.
	// Nil means slog.Default().
	Logger *slog.Logger
}

// Endpoints are the addresses the node serves on, with the ports bound.
type Endpoints struct {
	HTTP, WS, Metrics string // "host:port", empty if disabled
}

// Node is a devp2p node. Its fields are guarded by mu: registration, Start
// and Close are serialised, and Close may run concurrently with anything.
type Node struct {
	cfg    Config
	log    *slog.Logger
	server *p2p.Server
	rpc    *rpc.Server
	db     *nodedb.DB
	lock   *os.File // nil for an ephemeral node
	start  time.Time

	// The discovery listeners, set by Start for /metrics, whose handler
	// must not wait for mu (held by Start and Close).
	disc4 atomic.Pointer[discover.UDPv4]
	disc5 atomic.Pointer[discover.UDPv5]

	mu         sync.Mutex
	state      int // stateInit, stateRunning, stateClosed
	lifecycles []Lifecycle
	protocols  []p2p.Protocol
	running    []Lifecycle // started lifecycles, in start order
	stops      []func()    // undo of everything else Start did, in start order
	endpoints  Endpoints
}

const (
	stateInit = iota
	stateRunning
	stateClosed
)

// New opens the data directory (creating it and the node key if needed,
// taking its lock) and prepares the node. Call Close when done, whether or
// not the node was started.
func New(cfg Config) (_ *Node, err error) {
	if v4, v5 := cfg.DiscoveryV4Addr, cfg.DiscoveryV5Addr; v4 != "" && v5 != "" && v4 != v5 {
		return nil, fmt.Errorf("%w: discv4 on %s and discv5 on %s: the node record has one UDP port, so both must share one address", ErrConfig, v4, v5)
	}
	n := &Node{cfg: cfg, log: cfg.Logger, rpc: rpc.NewServer()}
	if n.log == nil {
		n.log = slog.Default()
	}
	defer func() {
		if err != nil {
			n.release()
		}
	}()
	p := &n.cfg.P2P
	p.StaticNodes = slices.Clone(p.StaticNodes)
	p.TrustedNodes = slices.Clone(p.TrustedNodes)
	dbPath := ""
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("cannot create datadir: %w", err)
		}
		if n.lock, err = lockDir(cfg.DataDir); err != nil {
			return nil, err
		}
		if p.PrivateKey == nil {
			if p.PrivateKey, err = loadOrCreateKey(cfg.DataDir); err != nil {
				return nil, err
			}
		}
		static, err := loadNodesFile(filepath.Join(cfg.DataDir, StaticNodesFile))
		if err != nil {
			return nil, err
		}
		trusted, err := loadNodesFile(filepath.Join(cfg.DataDir, TrustedNodesFile))
		if err != nil {
			return nil, err
		}
		p.StaticNodes = append(p.StaticNodes, static...)
		p.TrustedNodes = append(p.TrustedNodes, trusted...)
		dbPath = filepath.Join(cfg.DataDir, NodeDBFile)
	} else if p.PrivateKey == nil {
		// An ephemeral node, as go-ethereum makes without a data directory.
		if p.PrivateKey, err = crypto.GenerateKey(); err != nil {
			return nil, fmt.Errorf("node: generating an ephemeral key: %w", err)
		}
	}
	if n.db, err = nodedb.Open(dbPath); err != nil {
		return nil, fmt.Errorf("cannot open node database: %w", err)
	}
	if p.Logger == nil {
		p.Logger = n.log
	}
	p.LocalNode = enode.NewLocalNode(n.db, p.PrivateKey)
	n.server = &p2p.Server{Config: *p}
	n.registerAdminAPI()
	return n, nil
}

// Server returns the p2p server. Its methods that need a running server
// work once Start has returned.
func (n *Node) Server() *p2p.Server { return n.server }

// RPC returns the JSON-RPC server, so services can add methods before Start.
func (n *Node) RPC() *rpc.Server { return n.rpc }

// DataDir returns the data directory, empty for an ephemeral node.
func (n *Node) DataDir() string { return n.cfg.DataDir }

// Endpoints returns the addresses of the running node's endpoints.
func (n *Node) Endpoints() Endpoints {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.endpoints
}

// RegisterLifecycle adds a service to start after the p2p server. The same
// value may be registered once.
func (n *Node) RegisterLifecycle(l Lifecycle) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state != stateInit {
		return ErrRegisterLate
	}
	if slices.Contains(n.lifecycles, l) {
		return fmt.Errorf("%w: lifecycle %T registered twice", ErrDuplicate, l)
	}
	n.lifecycles = append(n.lifecycles, l)
	return nil
}

// RegisterProtocols adds protocols to run on peer connections. A name and
// version already registered is an error.
func (n *Node) RegisterProtocols(protocols []p2p.Protocol) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state != stateInit {
		return ErrRegisterLate
	}
	all := slices.Clone(n.protocols)
	for _, p := range protocols {
		for _, q := range all {
			if p.Cap() == q.Cap() {
				return fmt.Errorf("%w: protocol %v registered twice", ErrDuplicate, p.Cap())
			}
		}
		all = append(all, p)
	}
	n.protocols = all
	return nil
}

// Start starts the endpoints' listeners, the p2p server with every
// registered protocol, discovery and NAT mapping, then the lifecycles in
// order, then serves the endpoints. On error, everything started is stopped
// in reverse and the node cannot be started again; Close it.
func (n *Node) Start() (err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch n.state {
	case stateRunning:
		return ErrNodeRunning
	case stateClosed:
		return ErrNodeStopped
	}
	n.state = stateRunning
	defer func() {
		if err != nil {
			n.stopLocked()
			n.state = stateClosed
		}
	}()
	n.start = time.Now()

	http, ws, metrics, err := n.listenEndpoints()
	if err != nil {
		return err
	}
	if err := n.startP2P(); err != nil {
		return err
	}
	for _, l := range n.lifecycles {
		if err := l.Start(); err != nil {
			return fmt.Errorf("cannot start %T: %w", l, err)
		}
		n.running = append(n.running, l)
	}
	vhosts := n.cfg.VirtualHosts
	if vhosts == nil {
		vhosts = DefaultVirtualHosts
	}
	n.serve(http, vhostHandler(vhosts, n.rpc.HTTPHandler()))
	n.serve(ws, vhostHandler(vhosts, n.rpc.WebSocketHandler()))
	n.stops = append(n.stops, n.rpc.Stop) // runs before the servers close
	n.serve(metrics, n.metricsHandler())
	return nil
}

// listenEndpoints binds the endpoints' sockets first, so that a port in use
// fails Start before any network activity.
func (n *Node) listenEndpoints() (http, ws, metrics net.Listener, err error) {
	listen := func(addr, what string, dst *string) (net.Listener, error) {
		if addr == "" {
			return nil, nil
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%w: %s on %s: %w", ErrEndpointListen, what, addr, err)
		}
		n.stops = append(n.stops, func() { l.Close() })
		*dst = l.Addr().String()
		return l, nil
	}
	if http, err = listen(n.cfg.HTTPAddr, "HTTP-RPC", &n.endpoints.HTTP); err != nil {
		return
	}
	if ws, err = listen(n.cfg.WSAddr, "WebSocket-RPC", &n.endpoints.WS); err != nil {
		return
	}
	metrics, err = listen(n.cfg.MetricsAddr, "metrics", &n.endpoints.Metrics)
	return
}

func (n *Node) serve(l net.Listener, h http.Handler) {
	if l == nil {
		return
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	n.stops = append(n.stops, func() {
		// Close also ends hijacked WebSocket connections' HTTP side; the
		// connections themselves end when their reads fail.
		srv.Close()
		<-done
	})
	n.log.Info("Serving", "addr", l.Addr().String())
}

// startP2P starts discovery, DNS discovery, the server and NAT mapping.
func (n *Node) startP2P() error {
	srv := n.server
	srv.Protocols = slices.Clone(n.protocols)

	var sources []enode.Iterator
	disc4, disc5, err := n.startDiscovery()
	if err != nil {
		return err
	}
	if disc4 != nil {
		srv.Resolver = resolver{disc4}
		sources = append(sources, disc4.RandomNodes())
	} else if disc5 != nil {
		srv.Resolver = resolver{disc5}
	}
	if disc5 != nil {
		sources = append(sources, disc5.RandomNodes())
	}
	if len(n.cfg.DNSDiscovery) > 0 {
		dc := dnsdisc.Config{Log: n.log.With("module", "dnsdisc")}
		if n.cfg.DNSServer != "" {
			r, err := dnsdisc.NewServerResolver(n.cfg.DNSServer)
			if err != nil {
				return err
			}
			dc.Resolver = r
		}
		client := dnsdisc.NewClient(dc)
		it, err := client.NewIterator(n.cfg.DNSDiscovery...)
		if err != nil {
			return fmt.Errorf("invalid DNS discovery URL: %w", err)
		}
		sources = append(sources, it)
	}
	switch len(sources) {
	case 0:
	case 1:
		srv.Discovery = sources[0]
	default:
		mix := enode.NewFairMix(time.Second)
		for _, s := range sources {
			mix.AddSource(s)
		}
		srv.Discovery = mix
	}
	if err := srv.Start(); err != nil {
		if srv.Discovery != nil {
			srv.Discovery.Close() // the server closes it only once started
		}
		return err
	}
	n.stops = append(n.stops, srv.Stop)

	if n.cfg.NAT != nil {
		mc := nat.MapConfig{Lifetime: n.cfg.NATLifetime, Logger: n.log.With("module", "nat")}
		if a, ok := srv.Addr().(*net.TCPAddr); ok {
			mc.TCP = a.Port
		}
		if disc4 != nil || disc5 != nil {
			if a, ok := srv.Config.LocalNode.Node().UDPEndpoint(); ok {
				mc.UDP = int(a.Port())
			}
		}
		m, err := nat.Map(n.cfg.NAT, srv.Config.LocalNode, mc)
		if err != nil {
			return fmt.Errorf("cannot start NAT port mapping: %w", err)
		}
		n.stops = append(n.stops, m.Close)
	}
	return nil
}

// startDiscovery starts the discv4 and discv5 listeners that the config
// asks for, on one socket if both.
func (n *Node) startDiscovery() (*discover.UDPv4, *discover.UDPv5, error) {
	v4addr, v5addr := n.cfg.DiscoveryV4Addr, n.cfg.DiscoveryV5Addr
	addr := v4addr
	if addr == "" {
		addr = v5addr
	}
	if addr == "" {
		return nil, nil, nil
	}
	uaddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid discovery address %q: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", uaddr)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: discovery on UDP %s: %w", ErrEndpointListen, uaddr, err)
	}
	srv := n.server
	// discover leaves publishing the port to us (the IP comes from the p2p
	// server's listener, or NAT).
	srv.Config.LocalNode.SetFallbackUDP(conn.LocalAddr().(*net.UDPAddr).Port)
	cfg := discover.Config{
		PrivateKey:  srv.PrivateKey,
		DB:          n.db,
		Bootnodes:   n.cfg.Bootnodes,
		NetRestrict: srv.NetRestrict,
	}
	var (
		disc4 *discover.UDPv4
		disc5 *discover.UDPv5
	)
	switch {
	case v4addr != "" && v5addr != "":
		cfg.Log = n.log.With("module", "discovery")
		disc4, disc5, err = discover.ListenShared(conn, srv.Config.LocalNode, cfg)
	case v4addr != "":
		cfg.Log = n.log.With("module", "discv4")
		disc4, err = discover.ListenV4(conn, srv.Config.LocalNode, cfg)
	default:
		cfg.Log = n.log.With("module", "discv5")
		disc5, err = discover.ListenV5(conn, srv.Config.LocalNode, cfg)
	}
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("cannot start discovery: %w", err)
	}
	// Closing discv4 closes a shared socket: discv5 goes first.
	if disc4 != nil {
		n.stops = append(n.stops, disc4.Close)
		n.disc4.Store(disc4)
	}
	if disc5 != nil {
		n.stops = append(n.stops, disc5.Close)
		n.disc5.Store(disc5)
	}
	n.db.StartExpirer() // stopped by db.Close in release
	return disc4, disc5, nil
}

// resolver adapts discovery's lookup by ID to p2p.NodeResolver.
type resolver struct {
	disc interface {
		Resolve(context.Context, *enode.Node) *enode.Node
	}
}

func (r resolver) Resolve(n *enode.Node) *enode.Node {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.disc.Resolve(ctx, n)
}

// stopLocked stops the lifecycles in reverse, then everything else in
// reverse order of start.
func (n *Node) stopLocked() error {
	var errs []error
	for i := len(n.running) - 1; i >= 0; i-- {
		if err := n.running[i].Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping %T: %w", n.running[i], err))
		}
	}
	n.running = nil
	for i := len(n.stops) - 1; i >= 0; i-- {
		n.stops[i]()
	}
	n.stops = nil
	return errors.Join(errs...)
}

// Close stops the node if it runs and releases the data directory. It may
// be called more than once; later calls do nothing.
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state == stateClosed && n.lock == nil && n.db == nil {
		return nil
	}
	var err error
	if n.state == stateRunning {
		err = n.stopLocked()
	}
	n.state = stateClosed
	return errors.Join(err, n.release())
}

// release closes the node database and drops the lock.
func (n *Node) release() error {
	var errs []error
	if n.db != nil {
		errs = append(errs, n.db.Close())
		n.db = nil
	}
	if n.lock != nil {
		errs = append(errs, unlockDir(n.lock))
		n.lock = nil
	}
	return errors.Join(errs...)
}

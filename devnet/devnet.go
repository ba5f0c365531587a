// Package devnet runs a local network of Trellis nodes in one process: each
// node has a p2p server (RLPx), a discv4 listener that bootstraps from the
// first node and feeds the server's dialer, and the gossip protocol. It
// measures how the network converges (peers, tables, connectivity of the
// peer graph) and how gossip propagates (delivery fraction, latency).
//
// Nodes listen on 127.0.0.1 only, with fresh keys and in-memory node
// databases, and without NAT traversal. With Config.Sim they run on the
// in-memory networks of packages memnet (TCP) and memudp (UDP) instead of
// sockets, which also works inside testing/synctest bubbles.
//
// # Goroutines
//
// Besides the nodes' own goroutines, a Devnet runs two: the monitor, which
// samples the nodes every SampleInterval and owns the latest Stats, and the
// publisher, which makes every node publish a message every GossipInterval
// (staggered over the interval), starting once the peer graph has connected
// (or after GossipWarmup). Deliveries are recorded from the nodes'
// gossip goroutines under the tracker's mutex.
package devnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/discover/memudp"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/gossip"
	"github.com/trellis-p2p/trellis/netutil"
	"github.com/trellis-p2p/trellis/netutil/memnet"
	"github.com/trellis-p2p/trellis/p2p"
)

// Defaults of Config.
const (
	DefaultNodes          = 20
	DefaultMaxPeers       = 10
	DefaultGossipInterval = 5 * time.Second
	DefaultSampleInterval = 250 * time.Millisecond
	// DefaultGossipWarmup is the longest the publisher waits for the peer
	// graph to connect before it starts anyway. Gossip traffic during the
	// bootstrap competes for the CPU with discovery and handshakes (on two
	// cores, 100 nodes connected in 10s without it and in 47s with it), and
	// messages published before the graph connects are not counted.
	DefaultGossipWarmup = 30 * time.Second
	// DefaultDrainTimeout is how long Finish waits for counted messages
	// that are still propagating.
	DefaultDrainTimeout = 3 * time.Second

	// Discovery timing for a local network. All nodes share two cores with
	// each other (and often with other work), so replies to liveness
	// checks can miss the 500ms request timeout; a failed check costs a
	// young entry its place, and a node whose table empties has nobody to
	// dial. Checking less often than go-ethereum's 3s loses fewer entries
	// and spends less CPU on signatures; refreshing every few seconds instead of
	// 15-30 minutes re-seeds such a node from the bootnode soon (every
	// 15-30s; a refresh is four lookups).
	discPingInterval    = 10 * time.Second
	discRefreshInterval = 30 * time.Second

	// maxLatencySamples bounds the memory of latency measurements; later
	// deliveries are counted but not sampled.
	maxLatencySamples = 1 << 20
)

// loopback is the only address nodes use.
var loopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// ErrConfig wraps invalid configurations.
var ErrConfig = errors.New("devnet: invalid config")

// Config configures a Devnet. Zero fields take the defaults above.
type Config struct {
	Nodes          int
	MaxPeers       int
	GossipInterval time.Duration // negative: no gossip
	// GossipWarmup: publishing starts when the peer graph first connects,
	// or after this long. Negative: publish from the start.
	GossipWarmup   time.Duration
	SampleInterval time.Duration
	DrainTimeout   time.Duration
	// Sim runs the nodes on in-memory networks instead of loopback sockets.
	Sim bool
	// TrustedNodes are admitted by every node above its peer limit, as a
	// node operator trusts their own crawler or monitor: a node with all
	// its slots taken refuses other dialers before the Hello (devp2p
	// rlpx.md, disconnect reason 0x04), as go-ethereum does.
	TrustedNodes []*enode.Node
	// DiscoveryV5 runs discv5 beside discv4 on each node's discovery socket
	// (discover.ListenShared); the dialer draws from both random walks.
	DiscoveryV5 bool
	// Logger receives the nodes' logs. Nil means discarded.
	Logger *slog.Logger
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.Nodes == 0 {
		cfg.Nodes = DefaultNodes
	}
	if cfg.MaxPeers == 0 {
		cfg.MaxPeers = DefaultMaxPeers
	}
	if cfg.GossipInterval == 0 {
		cfg.GossipInterval = DefaultGossipInterval
	}
	if cfg.GossipWarmup == 0 {
		cfg.GossipWarmup = DefaultGossipWarmup
	}
	if cfg.SampleInterval <= 0 {
		cfg.SampleInterval = DefaultSampleInterval
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.Nodes < 2:
		return cfg, fmt.Errorf("%w: %d nodes, need at least 2", ErrConfig, cfg.Nodes)
	case cfg.MaxPeers < 1:
		return cfg, fmt.Errorf("%w: MaxPeers %d", ErrConfig, cfg.MaxPeers)
	}
	return cfg, nil
}

// Devnet is a running local network.
type Devnet struct {
	cfg   Config
	start time.Time
	nodes []*node
	index map[enode.ID]int
	track *tracker

	quit     chan struct{} // closed by stopLoops
	stopOnce sync.Once
	loops    sync.WaitGroup
	pubQuit  chan struct{} // closed by stopPublishing
	pubOnce  sync.Once
	pubDone  chan struct{}
	// connectedCh is closed by the sample that first sees the graph connected.
	connectedCh chan struct{}

	closeOnce sync.Once

	mu struct {
		sync.Mutex
		stats          Stats
		connectedAfter time.Duration // -1 until the graph first connects
	}
}

// node is one member of the network.
type node struct {
	srv    *p2p.Server
	disc   *discover.UDPv4
	disc5  *discover.UDPv5 // nil unless Config.DiscoveryV5
	gossip *gossip.Gossip
}

// Start starts cfg.Nodes nodes, the first of which is every other node's
// bootnode, and the monitor and publisher. On error nothing is left running.
// ctx bounds the startup only.
func Start(ctx context.Context, cfg Config) (*Devnet, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Devnet{
		cfg:     cfg,
		index:   make(map[enode.ID]int, cfg.Nodes),
		quit:    make(chan struct{}),
		pubQuit: make(chan struct{}),
		pubDone: make(chan struct{}),

		connectedCh: make(chan struct{}),
	}
	d.track = newTracker(cfg.Nodes)
	d.mu.connectedAfter = -1
	d.mu.stats = Stats{Nodes: cfg.Nodes, ConnectedAfter: -1} // until the first sample
	var (
		udpNet *memudp.Network
		tcpNet *memnet.Network
	)
	if cfg.Sim {
		udpNet, tcpNet = memudp.New(), memnet.New()
	}
	d.start = time.Now()
	for i := range cfg.Nodes {
		if err := ctx.Err(); err != nil {
			d.closeNodes()
			return nil, err
		}
		var boot *enode.Node
		if i > 0 {
			boot = d.nodes[0].srv.Self()
		}
		n, err := d.startNode(i, boot, udpNet, tcpNet)
		if err != nil {
			d.closeNodes()
			return nil, fmt.Errorf("devnet: node %d: %w", i, err)
		}
		d.index[n.srv.Self().ID()] = i
		d.nodes = append(d.nodes, n)
	}
	d.loops.Add(1)
	go d.monitor()
	if cfg.GossipInterval > 0 {
		go d.publisher()
	} else {
		close(d.pubDone)
	}
	return d, nil
}

func (d *Devnet) startNode(i int, boot *enode.Node, udpNet *memudp.Network, tcpNet *memnet.Network) (*node, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	log := d.cfg.Logger.With("node", i)
	var (
		conn    discover.UDPConn
		network p2p.Network
	)
	if udpNet != nil {
		c, err := udpNet.Listen(netip.AddrPortFrom(loopback, 0))
		if err != nil {
			return nil, err
		}
		conn, network = c, tcpNet.Host(loopback)
	} else {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
		if err != nil {
			return nil, err
		}
		conn = c
	}
	udpPort := conn.LocalAddr().(*net.UDPAddr).Port

	// The record always names 127.0.0.1: other nodes on loopback see us
	// there, and nothing should predict another address.
	ln := enode.NewLocalNode(nil, key)
	ln.SetStaticIP(loopback)
	ln.SetFallbackUDP(udpPort)
	restrict := new(netutil.Netlist)
	restrict.Add("127.0.0.0/8")
	dcfg := discover.Config{
		PrivateKey:      key,
		NetRestrict:     restrict,
		PingInterval:    discPingInterval,
		RefreshInterval: discRefreshInterval,
		Log:             log.With("proto", "discv4"),
	}
	if boot != nil {
		dcfg.Bootnodes = []*enode.Node{boot}
	}
	var (
		disc   *discover.UDPv4
		disc5  *discover.UDPv5
		source enode.Iterator
	)
	if d.cfg.DiscoveryV5 {
		dcfg.Log = log.With("proto", "discv4+5")
		if disc, disc5, err = discover.ListenShared(conn, ln, dcfg); err != nil {
			conn.Close()
			return nil, err
		}
		mix := enode.NewFairMix(time.Second)
		mix.AddSource(disc.RandomNodes())
		mix.AddSource(disc5.RandomNodes())
		source = mix
	} else {
		if disc, err = discover.ListenV4(conn, ln, dcfg); err != nil {
			conn.Close()
			return nil, err
		}
		source = disc.RandomNodes()
	}
	closeDisc := func() {
		if disc5 != nil {
			disc5.Close()
		}
		disc.Close()
	}

	self := enode.PubkeyToIDV4(key.PubKey())
	g := gossip.New(gossip.Config{
		Self:    self,
		Deliver: func(dl gossip.Delivery) { d.track.deliver(dl) },
		Logger:  log.With("proto", "gossip"),
	})
	srv := &p2p.Server{Config: p2p.Config{
		PrivateKey:   key,
		Name:         fmt.Sprintf("trellis-devnet/%d", i),
		MaxPeers:     d.cfg.MaxPeers,
		TrustedNodes: d.cfg.TrustedNodes,
		ListenAddr:   netip.AddrPortFrom(loopback, 0).String(),
		NetRestrict:  restrict,
		Protocols:    []p2p.Protocol{g.Protocol()},
		Discovery:    source,
		LocalNode:    ln,
		Network:      network,
		Logger:       log,
	}}
	if err := srv.Start(); err != nil {
		source.Close() // the server closes it only once started
		closeDisc()
		return nil, err
	}
	return &node{srv: srv, disc: disc, disc5: disc5, gossip: g}, nil
}

// Stats returns the latest sample (at most SampleInterval old).
func (d *Devnet) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mu.stats
}

// Nodes returns the number of nodes.
func (d *Devnet) Nodes() int { return len(d.nodes) }

// Node returns the current record of node i, 0 <= i < Nodes(): its ID, and
// its loopback IP and TCP and UDP ports, as enode URL (URLv4) or ENR
// (String). It is what a tool pointed at the devnet takes as bootnode.
func (d *Devnet) Node(i int) *enode.Node { return d.nodes[i].srv.Self() }

// Bootnode returns the record of node 0, from which the others bootstrap.
func (d *Devnet) Bootnode() *enode.Node { return d.Node(0) }

// Finish stops publishing, waits up to DrainTimeout (or until ctx ends) for
// the counted messages still propagating, takes a last sample and returns
// the report. The nodes keep running until Close.
func (d *Devnet) Finish(ctx context.Context) Report {
	d.stopPublishing()
	drain := time.NewTimer(d.cfg.DrainTimeout)
	defer drain.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !d.track.complete() {
		select {
		case <-ctx.Done():
		case <-drain.C:
		case <-tick.C:
			continue
		}
		break
	}
	d.stopLoops()
	d.sample() // the monitor is gone: this is the only writer now
	return d.report()
}

// Close stops everything: the loops, then every node. It is idempotent.
func (d *Devnet) Close() {
	d.closeOnce.Do(func() {
		d.stopPublishing()
		d.stopLoops()
		d.closeNodes()
	})
}

func (d *Devnet) stopPublishing() {
	d.pubOnce.Do(func() { close(d.pubQuit) })
	<-d.pubDone
}

func (d *Devnet) stopLoops() {
	d.stopOnce.Do(func() { close(d.quit) })
	d.loops.Wait()
}

// closeNodes stops the nodes in parallel: each disconnects its peers, which
// takes a moment, and a hundred of them one after another add up.
func (d *Devnet) closeNodes() {
	var wg sync.WaitGroup
	for _, n := range d.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.srv.Stop() // closes the discovery iterator too
			if n.disc5 != nil {
				n.disc5.Close()
			}
			n.disc.Close()
		}()
	}
	wg.Wait()
}

// publisher makes the nodes publish in turn, each once per GossipInterval.
func (d *Devnet) publisher() {
	defer close(d.pubDone)
	if d.cfg.GossipWarmup > 0 {
		warmup := time.NewTimer(d.cfg.GossipWarmup)
		defer warmup.Stop()
		select {
		case <-d.pubQuit:
			return
		case <-d.connectedCh:
		case <-warmup.C:
		}
	}
	step := d.cfg.GossipInterval / time.Duration(len(d.nodes))
	if step <= 0 {
		step = time.Nanosecond
	}
	tick := time.NewTicker(step)
	defer tick.Stop()
	for seq := 0; ; seq++ {
		select {
		case <-d.pubQuit:
			return
		case <-tick.C:
		}
		i := seq % len(d.nodes)
		counted := d.connected()
		payload := fmt.Appendf(nil, "devnet node %d message %d", i, seq/len(d.nodes))
		d.track.publish(i, counted, func() (gossip.Message, error) {
			return d.nodes[i].gossip.Publish(payload)
		})
	}
}

// connected reports whether the peer graph has been connected at some sample.
func (d *Devnet) connected() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mu.connectedAfter >= 0
}

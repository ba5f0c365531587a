// Package crawl walks the discv4 DHT (or with Config.V5 the discv5 one) to
// find every node it can reach, asks each for its node record (discv4:
// EIP-868 ENRRequest; discv5: FINDNODE at distance 0) and dials each over
// RLPx to read its Hello, for a census of the network's clients and
// capabilities.
//
// # How the walk works
//
// The walk is made of lookups (discv4.md "Recursive Lookup",
// discv5-theory.md "Lookup"): each queries the nodes closest to a random
// target and returns those that answered, and every node it meets enters
// the listener's table, which the crawler also reads.
// The walk ends when IdleLookups lookups in a row, and IdleTime, brought no
// new node, or when the context ends.
//
// # Goroutines
//
// Run's own goroutine owns the node set. Lookup workers and probe workers
// (record request, then RLPx dial) send it what they found over channels;
// probes are bounded by Config.Concurrency.
package crawl

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/enode"
)

// Defaults of Config.
const (
	DefaultConcurrency = 16
	DefaultLookups     = 2 // lookups running at once
	DefaultIdleLookups = 32
	DefaultIdleTime    = 10 * time.Second
	DefaultDialTimeout = 5 * time.Second
	DefaultENRTimeout  = 2 * time.Second
	DefaultName        = "trellis/crawl"
	DefaultListenAddr  = "0.0.0.0:0"
	progressEvery      = 2 * time.Second
	enrAttempts        = 3 // record requests per node while they time out
	// idlePause spaces the lookups of a walk that has stopped finding
	// nodes: on a small or local network lookups return in a millisecond,
	// and spinning through them for IdleTime would only burn CPU.
	idlePause = 50 * time.Millisecond
	maxNodes  = 1 << 20 // bound on the node set, which remote nodes feed
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("crawl: invalid config")

// Config configures a crawl. Bootnodes is required.
type Config struct {
	Bootnodes []*enode.Node
	// V5 walks the discv5 DHT instead of discv4.
	V5 bool
	// ListenAddr is the UDP address of the crawler's discovery listener.
	ListenAddr string
	// PrivateKey is the crawler's node key. Nil: a fresh key.
	PrivateKey *crypto.PrivateKey
	// Name is the client name announced in our Hello.
	Name string
	// Concurrency bounds the probes (record request and RLPx dial) running
	// at once.
	Concurrency int
	// Lookups is the number of lookups running at once.
	Lookups int
	// The walk ends once IdleLookups lookups in a row and IdleTime have
	// passed without a new node. The time matters on a young network, whose
	// tables are still filling: its nodes keep learning of one another.
	IdleLookups int
	IdleTime    time.Duration
	// DialTimeout bounds each RLPx dial, ENRTimeout each record request.
	DialTimeout, ENRTimeout time.Duration
	// NoDial skips the RLPx dials (discovery and records only).
	NoDial bool
	// Progress, if set, receives a progress line every few seconds.
	Progress io.Writer
}

func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.Bootnodes) == 0 {
		return cfg, fmt.Errorf("%w: no bootnodes", ErrConfig)
	}
	for _, n := range cfg.Bootnodes {
		if _, ok := n.UDPEndpoint(); !ok {
			return cfg, fmt.Errorf("%w: bootnode %v has no IP and UDP port", ErrConfig, n)
		}
	}
	if cfg.ListenAddr == "" {
		cfg.ListenAddr = DefaultListenAddr
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Lookups <= 0 {
		cfg.Lookups = DefaultLookups
	}
	if cfg.IdleLookups <= 0 {
		cfg.IdleLookups = DefaultIdleLookups
	}
	if cfg.IdleTime <= 0 {
		cfg.IdleTime = DefaultIdleTime
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.ENRTimeout <= 0 {
		cfg.ENRTimeout = DefaultENRTimeout
	}
	if cfg.PrivateKey == nil {
		k, err := crypto.GenerateKey()
		if err != nil {
			return cfg, err
		}
		cfg.PrivateKey = k
	}
	return cfg, nil
}

// Node is what the crawl learned about one node; it is the element of
// nodes.json.
type Node struct {
	ID        string    `json:"id"`
	Record    string    `json:"record"` // enr:..., the newest seen
	Enode     string    `json:"enode"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
	// ENRError is why the record request failed (the record is then the one
	// relayed by Neighbors, which has no more than the endpoint).
	ENRError string     `json:"enrError,omitempty"`
	Hello    *HelloInfo `json:"hello,omitempty"`
	// DialError is why the RLPx dial failed.
	DialError string `json:"dialError,omitempty"`

	node *enode.Node
}

// HelloInfo is the Hello a node sent.
type HelloInfo struct {
	Name       string   `json:"name"`
	Version    uint64   `json:"version"`
	Caps       []string `json:"caps"`
	ListenPort uint64   `json:"listenPort"`
	KeyMatch   bool     `json:"keyMatch"`
}

// Result is the outcome of a crawl.
type Result struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Lookups  int       `json:"lookups"`
	// Nodes are sorted by ID.
	Nodes []*Node `json:"nodes"`
}

// probeResult is a finished probe, sent to Run's goroutine.
type probeResult struct {
	id       enode.ID
	node     *enode.Node // newer record, or nil
	enrErr   error
	hello    *HelloResult
	dialErr  error
	finished time.Time
}

// Run crawls the network from cfg.Bootnodes until the walk finds nothing
// new or ctx ends, and returns what it found. Only a listener or config
// failure is an error: the end of ctx ends the crawl with its result so far.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	laddr, err := netip.ParseAddrPort(cfg.ListenAddr)
	if err != nil {
		ua, rerr := net.ResolveUDPAddr("udp", cfg.ListenAddr)
		if rerr != nil {
			return nil, fmt.Errorf("%w: listen address %q: %v", ErrConfig, cfg.ListenAddr, rerr)
		}
		laddr = ua.AddrPort()
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(laddr))
	if err != nil {
		return nil, err
	}
	ln := enode.NewLocalNode(nil, cfg.PrivateKey)
	ln.SetFallbackUDP(conn.LocalAddr().(*net.UDPAddr).Port)
	if a := laddr.Addr(); a.IsValid() && !a.IsUnspecified() {
		ln.SetStaticIP(a)
	}
	dcfg := discover.Config{
		PrivateKey: cfg.PrivateKey,
		Bootnodes:  cfg.Bootnodes,
	}
	var disc walker
	if cfg.V5 {
		d, err := discover.ListenV5(conn, ln, dcfg)
		if err != nil {
			conn.Close()
			return nil, err
		}
		disc = v5walker{d}
	} else {
		d, err := discover.ListenV4(conn, ln, dcfg)
		if err != nil {
			conn.Close()
			return nil, err
		}
		disc = v4walker{d}
	}
	defer disc.Close()
	c := &crawler{cfg: cfg, disc: disc, nodes: make(map[enode.ID]*Node)}
	return c.run(ctx), nil
}

// walker is what the crawl uses of a discovery listener.
type walker interface {
	Self() *enode.Node
	TableBuckets() [][]discover.BucketNode
	RequestENR(context.Context, *enode.Node) (*enode.Node, error)
	// randomLookup looks up a random target and returns the nodes that
	// answered on the way.
	randomLookup(context.Context) []*enode.Node
	Close()
}

type v4walker struct{ *discover.UDPv4 }

func (w v4walker) randomLookup(ctx context.Context) []*enode.Node {
	// discv4 targets are public keys (discv4.md "Recursive Lookup").
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil
	}
	return w.LookupPubkey(ctx, key.PubKey())
}

type v5walker struct{ *discover.UDPv5 }

func (w v5walker) randomLookup(ctx context.Context) []*enode.Node {
	var target enode.ID
	rand.Read(target[:])
	return w.Lookup(ctx, target)
}

type crawler struct {
	cfg   Config
	disc  walker
	nodes map[enode.ID]*Node // owned by run
	idle  atomic.Bool        // IdleLookups lookups in a row found nothing new; set by run
}

func (c *crawler) run(ctx context.Context) *Result {
	res := &Result{Started: time.Now()}
	walkCtx, stopWalk := context.WithCancel(ctx)
	defer stopWalk()

	found := make(chan []*enode.Node)
	probed := make(chan probeResult)
	var lookupWG, probeWG sync.WaitGroup
	for range c.cfg.Lookups {
		lookupWG.Add(1)
		go func() {
			defer lookupWG.Done()
			c.lookupLoop(walkCtx, found)
		}()
	}
	var (
		idle, probing int
		lastNew       = time.Now()
		ticker        = time.NewTicker(progressEvery)
		walking       = true
		lookupsDone   = make(chan struct{})
	)
	defer ticker.Stop()
	go func() { lookupWG.Wait(); close(lookupsDone) }()
	var queue []*enode.Node // found, not yet probed

	addNodes := func(ns []*enode.Node) (fresh int) {
		now := time.Now()
		for _, n := range ns {
			if n == nil || n.ID() == c.disc.Self().ID() {
				continue
			}
			if e, ok := c.nodes[n.ID()]; ok {
				e.LastSeen = now
				if n.Seq() > e.node.Seq() {
					e.node = n
				}
				continue
			}
			if len(c.nodes) >= maxNodes {
				continue
			}
			c.nodes[n.ID()] = &Node{FirstSeen: now, LastSeen: now, node: n}
			queue = append(queue, n)
			fresh++
		}
		return fresh
	}
	// A bootnode is a node too, even if no lookup returns it.
	addNodes(c.cfg.Bootnodes)

	for {
		// Start probes for queued nodes while there is room.
		for len(queue) > 0 && probing < c.cfg.Concurrency {
			n := queue[0]
			queue = queue[1:]
			probing++
			probeWG.Add(1)
			go func() {
				defer probeWG.Done()
				r := c.probe(ctx, n)
				select {
				case probed <- r:
				case <-ctx.Done():
				}
			}()
		}
		if !walking && probing == 0 && len(queue) == 0 {
			break
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case ns := <-found:
			res.Lookups++
			if addNodes(ns) > 0 {
				idle, lastNew = 0, time.Now()
			} else if idle++; walking && idle >= c.cfg.IdleLookups && time.Since(lastNew) >= c.cfg.IdleTime {
				walking = false
				stopWalk()
			}
			c.idle.Store(idle >= c.cfg.IdleLookups)
		case r := <-probed:
			probing--
			c.record(r)
		case <-lookupsDone:
			walking = false
			lookupsDone = nil
		case <-ticker.C:
			c.progress(res.Lookups, probing, len(queue))
		case <-ctx.Done():
		}
	}
	stopWalk()
	// Workers blocked on sending give up once ctx or walkCtx has ended; a
	// probe in flight ends at its own timeout or with ctx.
	go func() {
		for range found {
		}
	}()
	lookupWG.Wait()
	close(found)
	if ctx.Err() != nil {
		probeWG.Wait()
	}
	c.progress(res.Lookups, 0, 0)

	res.Finished = time.Now()
	res.Nodes = make([]*Node, 0, len(c.nodes))
	for id, e := range c.nodes {
		e.ID = id.String()
		e.Record = e.node.String()
		e.Enode = e.node.URLv4()
		res.Nodes = append(res.Nodes, e)
	}
	sort.Slice(res.Nodes, func(i, j int) bool { return res.Nodes[i].ID < res.Nodes[j].ID })
	return res
}

// lookupLoop runs random lookups and reports their results, with the
// listener's table, until ctx ends.
func (c *crawler) lookupLoop(ctx context.Context, found chan<- []*enode.Node) {
	pause := time.NewTimer(0)
	defer pause.Stop()
	for ctx.Err() == nil {
		if c.idle.Load() {
			pause.Reset(idlePause)
			select {
			case <-pause.C:
			case <-ctx.Done():
				return
			}
		}
		ns := c.disc.randomLookup(ctx)
		for _, b := range c.disc.TableBuckets() {
			for _, e := range b {
				if e.Live {
					ns = append(ns, e.Node)
				}
			}
		}
		select {
		case found <- ns:
		case <-ctx.Done():
			return
		}
	}
}

// probe asks n for its record and then reads its Hello.
func (c *crawler) probe(ctx context.Context, n *enode.Node) probeResult {
	r := probeResult{id: n.ID()}
	var (
		nn  *enode.Node
		err error
	)
	// UDP drops packets, and a busy node answers late: a record request
	// that timed out is worth repeating, the more so as the record relayed
	// by Neighbors may lack the TCP port needed to dial.
	for range enrAttempts {
		ectx, cancel := context.WithTimeout(ctx, c.cfg.ENRTimeout)
		nn, err = c.disc.RequestENR(ectx, n)
		cancel()
		if !errors.Is(err, discover.ErrTimeout) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		r.enrErr = err
	} else {
		r.node, n = nn, nn
	}
	if !c.cfg.NoDial {
		dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
		r.hello, r.dialErr = DialHello(dctx, n, c.cfg.PrivateKey, c.cfg.Name)
		cancel()
	}
	r.finished = time.Now()
	return r
}

func (c *crawler) record(r probeResult) {
	e := c.nodes[r.id]
	if e == nil {
		return
	}
	if r.node != nil && r.node.Seq() >= e.node.Seq() {
		e.node = r.node
	}
	if r.enrErr != nil {
		e.ENRError = r.enrErr.Error()
	}
	if r.dialErr != nil {
		e.DialError = r.dialErr.Error()
	}
	if r.enrErr == nil || r.hello != nil {
		e.LastSeen = r.finished
	}
	if h := r.hello; h != nil {
		caps := make([]string, len(h.Hello.Caps))
		for i, c := range h.Hello.Caps {
			caps[i] = c.String()
		}
		e.Hello = &HelloInfo{
			Name:       h.Hello.Name,
			Version:    h.Hello.Version,
			Caps:       caps,
			ListenPort: h.Hello.ListenPort,
			KeyMatch:   h.KeyMatch,
		}
	}
}

func (c *crawler) progress(lookups, probing, queued int) {
	if c.cfg.Progress == nil {
		return
	}
	var hellos, failed int
	for _, e := range c.nodes {
		switch {
		case e.Hello != nil:
			hellos++
		case e.DialError != "":
			failed++
		}
	}
	fmt.Fprintf(c.cfg.Progress, "crawl: %d nodes, %d lookups, %d hellos, %d dial errors, %d probing, %d queued\n",
		len(c.nodes), lookups, hellos, failed, probing, queued)
}

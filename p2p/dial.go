package p2p

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/netutil"
)

// Dial timing.
const (
	// dialHistoryExpiration: a node is not dialed again within this time of
	// the last attempt. It is a little longer than inboundThrottleTime so
	// that two of our nodes redialing each other are not throttled.
	dialHistoryExpiration = inboundThrottleTime + 5*time.Second
	// Static nodes that keep failing back off exponentially from
	// staticBackoffBase up to staticBackoffMax; a connection resets it.
	staticBackoffBase = 30 * time.Second
	staticBackoffMax  = 5 * time.Minute
	// dnsTimeout bounds resolving the host name of a static node.
	dnsTimeout = 5 * time.Second
	// Looking up a static node's endpoint through Config.Resolver backs off
	// from initialResolveDelay to maxResolveDelay while it fails.
	initialResolveDelay = 60 * time.Second
	maxResolveDelay     = time.Hour
	// The "Looking for peers" log appears at most every dialStatsLogInterval,
	// and only while fewer than dialStatsPeerLimit peers are dialed.
	dialStatsLogInterval = 10 * time.Second
	dialStatsPeerLimit   = 3
	// collisionWindow: a dialed connection that the remote closes as
	// "already connected" within this time of its set-up counts as one
	// half of a simultaneous dial (see collision).
	collisionWindow = 10 * time.Second
	// collisionRedialDelay: the node that redials after a simultaneous
	// dial waits this long first, so that a connection still in set-up
	// between the two settles (and may well connect them) before a new one
	// starts.
	collisionRedialDelay = time.Second
)

// Reasons not to dial a node.
var (
	errSelf             = errors.New("is self")
	errAlreadyDialing   = errors.New("already dialing")
	errAlreadyConnected = errors.New("already connected")
	errPendingInbound   = errors.New("peer has pending inbound connection")
	errRecentlyDialed   = errors.New("recently dialed")
	errNoPort           = errors.New("node does not provide TCP port")
	errNoResolvedIP     = errors.New("node does not provide a resolved IP")
)

type dialConfig struct {
	self           enode.ID
	maxDialPeers   int // dialed peers we aim for
	maxActiveDials int // concurrent dial tasks
	netRestrict    *netutil.Netlist
	network        Network
	resolver       NodeResolver
	metrics        Metrics
	log            *slog.Logger
	// setup runs the handshakes on a dialed connection (Server.setupDialed).
	setup func(fd net.Conn, flags connFlag, dest *enode.Node) error
	// spawn runs a dial task; nil means on a new goroutine.
	spawn func(func())
	rand  *rand.Rand
}

// dialScheduler creates outbound connections: to static nodes, always, and to
// nodes from the discovery iterator while dialed peers are below the limit.
//
// Its state is owned by the goroutine in loop. Other goroutines post closures
// through inbox; dial tasks run on their own goroutines and post their result.
type dialScheduler struct {
	dialConfig
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup // loop, readNodes, dial tasks
	inbox   *mailbox
	nodesIn chan *enode.Node

	// Owned by loop.
	dialing        map[enode.ID]*dialTask
	peers          map[enode.ID]connFlag
	pendingInbound map[enode.ID]struct{}
	dialPeers      int // connected peers that we dialed
	static         map[enode.ID]*dialTask
	history        expirySet[enode.ID]
	fastRedials    map[enode.ID]time.Time // last redial after a collision
	refused        map[enode.ID]refusedDial
	timer          *time.Timer
	lastStatsLog   time.Time
	doneSinceLog   int
}

// dialTask is one node to dial. Static tasks persist across attempts.
type dialTask struct {
	dest  *enode.Node // owned by the loop; a running task gets a copy
	flags connFlag

	// Static backoff, owned by the loop.
	failures  int
	notBefore time.Time

	// Resolver backoff, used only by the task's goroutine (at most one at a
	// time per task).
	lastResolved time.Time
	resolveDelay time.Duration
}

func newDialScheduler(cfg dialConfig, it enode.Iterator) *dialScheduler {
	if cfg.rand == nil {
		cfg.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	d := &dialScheduler{
		dialConfig:     cfg,
		inbox:          newMailbox(),
		nodesIn:        make(chan *enode.Node),
		dialing:        make(map[enode.ID]*dialTask),
		peers:          make(map[enode.ID]connFlag),
		pendingInbound: make(map[enode.ID]struct{}),
		static:         make(map[enode.ID]*dialTask),
		fastRedials:    make(map[enode.ID]time.Time),
		refused:        make(map[enode.ID]refusedDial),
		timer:          time.NewTimer(time.Hour),
		lastStatsLog:   time.Now(),
	}
	d.timer.Stop()
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Add(1)
	go d.loop()
	if it != nil {
		d.wg.Add(1)
		go d.readNodes(it)
	}
	return d
}

// stop cancels running dials and waits for all goroutines. The iterator must
// be closed by the caller first (it unblocks readNodes).
func (d *dialScheduler) stop() {
	d.cancel()
	d.wg.Wait()
}

func (d *dialScheduler) addStatic(n *enode.Node) {
	d.inbox.post(func() {
		if _, ok := d.static[n.ID()]; ok {
			return
		}
		d.log.Debug("Adding static node", "id", n.ID().TerminalString(), "endpoint", endpointForLog(n))
		d.static[n.ID()] = &dialTask{dest: n, flags: staticDialedConn}
	})
}

func (d *dialScheduler) removeStatic(n *enode.Node) {
	d.inbox.post(func() {
		if _, ok := d.static[n.ID()]; ok {
			d.log.Debug("Removing static node", "id", n.ID().TerminalString())
			delete(d.static, n.ID())
		}
	})
}

func (d *dialScheduler) peerAdded(id enode.ID, flags connFlag) {
	d.inbox.post(func() {
		d.peers[id] = flags
		if flags&(dynDialedConn|staticDialedConn) != 0 {
			d.dialPeers++
		}
		if t := d.static[id]; t != nil {
			t.failures, t.notBefore = 0, time.Time{}
		}
	})
}

func (d *dialScheduler) peerRemoved(id enode.ID, flags connFlag) {
	d.inbox.post(func() {
		delete(d.peers, id)
		if flags&(dynDialedConn|staticDialedConn) != 0 {
			d.dialPeers--
		}
	})
}

// refusedDial is a dial we refused ourselves as "already connected": we
// had a peer for the node, from its own dial to us. If that peer is then
// closed by the node as "already connected", the two dialed each other and
// each kept the other's connection (see collision).
type refusedDial struct {
	dest  *enode.Node
	flags connFlag
	at    time.Time
}

// collided reports that a connection we dialed to n was closed by n as
// "already connected" just after its set-up.
func (d *dialScheduler) collided(n *enode.Node, flags connFlag) {
	d.inbox.post(func() { d.collision(n, flags, time.Now()) })
}

// collidedInbound reports that a connection node id dialed to us was closed
// by it as "already connected" just after its set-up. If we had just
// refused our own dial to it for that connection, the two collided.
func (d *dialScheduler) collidedInbound(id enode.ID) {
	d.inbox.post(func() {
		now := time.Now()
		r, ok := d.refused[id]
		delete(d.refused, id)
		if ok && now.Sub(r.at) < collisionWindow {
			d.collision(r.dest, r.flags, now)
		}
	})
}

// collision handles one half of a simultaneous dial. When two nodes dial
// each other at once, each may keep one connection and refuse the other
// as already connected (the devp2p handshakes have no tie break). If they
// keep different ones (each its own, or each the other's), both
// connections end: each side refused the one the other kept. Without help neither would dial again for
// dialHistoryExpiration. The node with the lower ID dials again at once;
// the other waits to be dialed, so the second attempt cannot collide. It
// waits collisionRedialDelay first: a connection between the two still in
// set-up may connect them meanwhile. At most one such redial per node per
// dialHistoryExpiration, so that a node that always answers "already
// connected" is not dialed in a loop.
func (d *dialScheduler) collision(n *enode.Node, flags connFlag, now time.Time) {
	id := n.ID()
	if bytes.Compare(d.self[:], id[:]) > 0 {
		return // n redials
	}
	for k, t := range d.fastRedials {
		if now.Sub(t) >= dialHistoryExpiration {
			delete(d.fastRedials, k)
		}
	}
	if _, ok := d.fastRedials[id]; ok {
		return
	}
	d.fastRedials[id] = now
	d.log.Debug("Simultaneous dial, dialing again shortly", "id", id.TerminalString())
	time.AfterFunc(collisionRedialDelay, func() {
		d.inbox.post(func() { d.redialAfterCollision(n, flags) })
	})
}

// redialAfterCollision dials n again, unless it connected in the meantime.
func (d *dialScheduler) redialAfterCollision(n *enode.Node, flags connFlag) {
	if d.ctx.Err() != nil {
		return
	}
	id := n.ID()
	if err := d.checkDial(n); err != nil && !errors.Is(err, errRecentlyDialed) {
		return // connected after all, or dialing
	}
	d.history.remove(id)
	now := time.Now()
	if t := d.static[id]; t != nil {
		t.notBefore = time.Time{}
		d.startDial(t, now)
	} else if flags&dynDialedConn != 0 {
		d.startDial(&dialTask{dest: n, flags: dynDialedConn}, now)
	}
}

func (d *dialScheduler) inboundPending(id enode.ID) {
	d.inbox.post(func() { d.pendingInbound[id] = struct{}{} })
}

func (d *dialScheduler) inboundCompleted(id enode.ID) {
	d.inbox.post(func() { delete(d.pendingInbound, id) })
}

// loop starts dials whenever slots are free and reacts to posted events.
func (d *dialScheduler) loop() {
	defer d.wg.Done()
	for {
		now := time.Now()
		d.history.expire(now, nil)
		slots := d.freeDialSlots()
		slots -= d.startStaticDials(slots, now)
		var nodes <-chan *enode.Node
		if slots > 0 {
			nodes = d.nodesIn
		}
		d.armTimer(now)
		d.logStats(now)

		select {
		case n := <-nodes:
			if err := d.checkDial(n); err != nil {
				d.log.Log(d.ctx, slog.LevelDebug-4, "Discarding dial candidate", "id", n.ID().TerminalString(), "ip", n.IPAddr(), "reason", err)
			} else {
				d.startDial(&dialTask{dest: n, flags: dynDialedConn}, now)
			}
		case <-d.inbox.wake:
			d.inbox.run()
		case <-d.timer.C:
		case <-d.ctx.Done():
			d.timer.Stop()
			return
		}
	}
}

// readNodes feeds dial candidates from the iterator to the loop.
func (d *dialScheduler) readNodes(it enode.Iterator) {
	defer d.wg.Done()
	for it.Next() {
		n := it.Node()
		if n == nil {
			continue
		}
		select {
		case d.nodesIn <- n:
		case <-d.ctx.Done():
			return
		}
	}
}

// freeDialSlots is the number of dials to start now. Twice the missing peers
// are dialed at once, since many dials fail; the result is negative when
// peers connected while their tasks were still finishing.
func (d *dialScheduler) freeDialSlots() int {
	slots := min((d.maxDialPeers-d.dialPeers)*2, d.maxActiveDials)
	return slots - len(d.dialing)
}

// checkDial reports why n should not be dialed now, if so.
func (d *dialScheduler) checkDial(n *enode.Node) error {
	id := n.ID()
	switch {
	case id == d.self:
		return errSelf
	case n.IPAddr().IsValid() && n.TCP() == 0:
		// Found by discovery without a TCP port. Nodes without IP are
		// static nodes to be resolved by the task.
		return errNoPort
	case d.dialing[id] != nil:
		return errAlreadyDialing
	}
	if _, ok := d.peers[id]; ok {
		return errAlreadyConnected
	}
	if _, ok := d.pendingInbound[id]; ok {
		return errPendingInbound
	}
	if ip := n.IPAddr(); ip.IsValid() && d.netRestrict != nil && !d.netRestrict.Contains(ip) {
		return errNetRestrict
	}
	if d.history.contains(id) {
		return errRecentlyDialed
	}
	return nil
}

// startStaticDials starts up to n dials of static nodes, picked at random
// among those ready, and returns how many it started.
func (d *dialScheduler) startStaticDials(n int, now time.Time) int {
	if n <= 0 || len(d.static) == 0 {
		return 0
	}
	var ready []*dialTask
	for _, t := range d.static {
		if !now.Before(t.notBefore) && d.checkDial(t.dest) == nil {
			ready = append(ready, t)
		}
	}
	d.rand.Shuffle(len(ready), func(i, j int) { ready[i], ready[j] = ready[j], ready[i] })
	started := min(n, len(ready))
	for _, t := range ready[:started] {
		d.startDial(t, now)
	}
	return started
}

// armTimer sets the timer to the next moment something becomes dialable.
func (d *dialScheduler) armTimer(now time.Time) {
	next, ok := d.history.next()
	for _, t := range d.static {
		if t.notBefore.After(now) && (!ok || t.notBefore.Before(next)) {
			next, ok = t.notBefore, true
		}
	}
	if ok {
		d.timer.Reset(next.Sub(now))
	} else {
		d.timer.Stop()
	}
}

func (d *dialScheduler) logStats(now time.Time) {
	if now.Sub(d.lastStatsLog) < dialStatsLogInterval {
		return
	}
	if d.dialPeers < dialStatsPeerLimit && d.dialPeers < d.maxDialPeers {
		d.log.Info("Looking for peers", "peercount", len(d.peers), "tried", d.doneSinceLog, "static", len(d.static))
	}
	d.doneSinceLog = 0
	d.lastStatsLog = now
}

func (d *dialScheduler) startDial(t *dialTask, now time.Time) {
	dest := t.dest
	d.log.Log(d.ctx, slog.LevelDebug-4, "Starting p2p dial", "id", dest.ID().TerminalString(), "endpoint", endpointForLog(dest), "flag", t.flags)
	d.history.add(dest.ID(), now.Add(dialHistoryExpiration))
	d.dialing[dest.ID()] = t
	d.wg.Add(1)
	task := func() {
		defer d.wg.Done()
		resolved, err := t.run(d, dest)
		d.inbox.post(func() { d.taskDone(t, resolved, err) })
	}
	if d.spawn != nil {
		d.spawn(task)
	} else {
		go task()
	}
}

func (d *dialScheduler) taskDone(t *dialTask, resolved *enode.Node, err error) {
	id := t.dest.ID()
	delete(d.dialing, id)
	d.doneSinceLog++
	if resolved != nil {
		t.dest = resolved
	}
	if errors.Is(err, DiscAlreadyConnected) {
		// Refused as already connected, by the remote or by us. If we
		// hold no other connection to the node, the two dialed each
		// other; if we do, remember the dial in case the remote now
		// refuses that one too.
		if t.flags&staticDialedConn != 0 && d.static[id] == t {
			t.failures = 0
		}
		now := time.Now()
		for k, r := range d.refused {
			if now.Sub(r.at) >= collisionWindow {
				delete(d.refused, k)
			}
		}
		if _, ok := d.peers[id]; ok {
			d.refused[id] = refusedDial{t.dest, t.flags, now}
			return
		}
		d.collision(t.dest, t.flags, now)
		return
	}
	if t.flags&staticDialedConn == 0 || d.static[id] != t {
		return
	}
	if err != nil {
		t.failures++
		t.notBefore = time.Now().Add(staticBackoff(t.failures))
		d.log.Debug("Static dial failed", "id", id.TerminalString(), "failures", t.failures, "retry", time.Until(t.notBefore).Round(time.Second), "err", err)
	}
}

// staticBackoff is the wait after the given number of consecutive failures.
func staticBackoff(failures int) time.Duration {
	b := staticBackoffBase
	for i := 1; i < failures && b < staticBackoffMax; i++ {
		b *= 2
	}
	return min(b, staticBackoffMax)
}

// run performs the dial on the task's goroutine: resolve the endpoint if
// needed, connect, and run the handshakes. It returns the node as resolved.
func (t *dialTask) run(d *dialScheduler, dest *enode.Node) (*enode.Node, error) {
	static := t.flags&staticDialedConn != 0
	if static && dest.Hostname() != "" {
		n, err := d.resolveDNS(dest)
		if err != nil {
			d.log.Warn("DNS lookup of static node failed", "id", dest.ID().TerminalString(), "name", dest.Hostname(), "err", err)
			return nil, err
		}
		dest = n
	}
	if !dest.IPAddr().IsValid() {
		n := t.resolve(d, dest)
		if n == nil {
			return nil, errNoResolvedIP
		}
		dest = n
	}
	err := t.dial(d, dest)
	if err != nil && static && errors.Is(err, errDial) {
		// The node may have moved: look it up once more.
		if n := t.resolve(d, dest); n != nil {
			dest = n
			err = t.dial(d, dest)
		}
	}
	return dest, err
}

func (t *dialTask) dial(d *dialScheduler, dest *enode.Node) error {
	if d.netRestrict != nil && !d.netRestrict.Contains(dest.IPAddr()) {
		return errNetRestrict
	}
	addr, ok := dest.TCPEndpoint()
	if !ok {
		return errNoPort
	}
	d.metrics.DialAttempt()
	ctx, cancel := context.WithTimeout(d.ctx, defaultDialTimeout)
	fd, err := d.network.DialContext(ctx, "tcp", addr.String())
	cancel()
	if err != nil {
		d.metrics.ConnSetup(false, ConnDialError)
		d.log.Log(d.ctx, slog.LevelDebug-4, "Dial error", "id", dest.ID().TerminalString(), "addr", addr, "conn", t.flags, "err", err)
		return fmt.Errorf("%w: %w", errDial, err)
	}
	return d.setup(fd, t.flags, dest)
}

// resolveDNS looks up the host name of a static node (from an enode URL) and
// returns the node with the address found. IPv4 is preferred.
func (d *dialScheduler) resolveDNS(n *enode.Node) (*enode.Node, error) {
	ctx, cancel := context.WithTimeout(d.ctx, dnsTimeout)
	defer cancel()
	ips, err := d.network.LookupNetIP(ctx, "ip", n.Hostname())
	if err != nil {
		return nil, err
	}
	var ip netip.Addr
	for _, a := range ips {
		a = a.Unmap()
		if a.Is4() {
			ip = a
			break
		}
		if !ip.IsValid() {
			ip = a
		}
	}
	if !ip.IsValid() {
		return nil, errNoResolvedIP
	}
	if ip == n.IPAddr() {
		return n, nil
	}
	if n.Pubkey() == nil {
		return nil, fmt.Errorf("static node %v has no public key", n.ID())
	}
	d.log.Debug("Static node resolved", "id", n.ID().TerminalString(), "name", n.Hostname(), "ip", ip)
	return enode.NewV4(n.Pubkey(), ip, n.TCP(), n.UDP()).WithHostname(n.Hostname()), nil
}

// resolve asks Config.Resolver for the current record of dest, at most once
// per resolveDelay, which doubles while lookups fail.
func (t *dialTask) resolve(d *dialScheduler, dest *enode.Node) *enode.Node {
	if d.resolver == nil {
		return nil
	}
	if t.resolveDelay == 0 {
		t.resolveDelay = initialResolveDelay
	}
	now := time.Now()
	if !t.lastResolved.IsZero() && now.Sub(t.lastResolved) < t.resolveDelay {
		return nil
	}
	t.lastResolved = now
	n := d.resolver.Resolve(dest)
	if n == nil || !n.IPAddr().IsValid() {
		t.resolveDelay = min(2*t.resolveDelay, maxResolveDelay)
		d.log.Debug("Resolving node failed", "id", dest.ID().TerminalString(), "newdelay", t.resolveDelay)
		return nil
	}
	t.resolveDelay = initialResolveDelay
	return n
}

func endpointForLog(n *enode.Node) string {
	if n.Hostname() != "" {
		return n.Hostname()
	}
	if ap, ok := n.TCPEndpoint(); ok {
		return ap.String()
	}
	return n.IPAddr().String()
}

// startDialer creates the dial scheduler and the discovery mix.
func (srv *Server) startDialer() {
	cfg := srv.cfg
	if cfg.NoDial {
		srv.closeDiscoverySources()
		return
	}
	var it enode.Iterator
	if !cfg.NoDiscovery {
		srv.discmix = enode.NewFairMix(0)
		sources := 0
		if cfg.Discovery != nil {
			srv.discmix.AddSource(cfg.Discovery)
			sources++
		}
		for _, p := range cfg.Protocols {
			if p.DialCandidates != nil {
				srv.discmix.AddSource(p.DialCandidates)
				sources++
			}
		}
		if sources > 0 {
			it = srv.discmix
		}
	} else {
		srv.closeDiscoverySources()
	}
	srv.dialer = newDialScheduler(dialConfig{
		self:           srv.localnode.ID(),
		maxDialPeers:   cfg.maxDialedConns(),
		maxActiveDials: cfg.MaxActiveDials,
		netRestrict:    cfg.NetRestrict,
		network:        cfg.Network,
		resolver:       cfg.Resolver,
		metrics:        cfg.Metrics,
		log:            srv.log,
		setup:          srv.setupDialed,
		spawn:          srv.workers.run,
	}, it)
	for _, n := range cfg.StaticNodes {
		srv.dialer.addStatic(n)
	}
}

// closeDiscoverySources closes iterators that will not be used, as Stop would.
func (srv *Server) closeDiscoverySources() {
	if srv.cfg.Discovery != nil {
		srv.cfg.Discovery.Close()
	}
	for _, p := range srv.cfg.Protocols {
		if p.DialCandidates != nil {
			p.DialCandidates.Close()
		}
	}
}

func (srv *Server) stopDialer() {
	if srv.discmix != nil {
		srv.discmix.Close()
	}
	if srv.dialer != nil {
		srv.dialer.stop()
	}
}

// setupDialed runs the handshakes on a connection the dialer made.
func (srv *Server) setupDialed(fd net.Conn, flags connFlag, dest *enode.Node) error {
	if !srv.track(fd) {
		fd.Close()
		return ErrServerStopped
	}
	return srv.setupConn(fd, flags, dest)
}

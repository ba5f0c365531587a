package p2p

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/netutil"
)

// Limits of connection setup.
const (
	// handshakeTimeout bounds both handshakes together, counted from accept
	// (inbound) or connect (dialed).
	handshakeTimeout = 5 * time.Second
	// inboundThrottleTime: an Internet host may open one inbound connection
	// per this period. LAN hosts are exempt.
	inboundThrottleTime = 30 * time.Second
	// maxThrottleEntries bounds the throttle's memory under a flood from many
	// addresses; beyond it the oldest addresses are forgotten early.
	maxThrottleEntries = 100_000
	// lobbyPerSlot: accepted connections that have not sent a byte wait in a
	// lobby without taking a handshake slot. The lobby holds this many per
	// handshake slot; when full, the longest-waiting connection is dropped,
	// so silent connections cannot lock out peers that speak promptly.
	lobbyPerSlot = 8
	// acceptRetryMax caps the backoff after temporary Accept errors (EMFILE).
	acceptRetryMax = time.Second
)

// inboundGate is the admission state of inbound connections. The throttle
// belongs to the accept loop; the lobby is shared with the connection
// goroutines under mu.
type inboundGate struct {
	throttle *netutil.Throttle
	slots    chan struct{} // one token per connection in handshake
	maxLobby int

	mu struct {
		sync.Mutex
		lobby list.List // of *prefixConn, oldest first
	}
}

func (g *inboundGate) init(srv *Server) {
	g.throttle = netutil.NewThrottle(inboundThrottleTime, maxThrottleEntries)
	g.slots = make(chan struct{}, srv.cfg.MaxPendingPeers)
	g.maxLobby = lobbyPerSlot * srv.cfg.MaxPendingPeers
}

// acceptLoop accepts inbound connections until the listener is closed.
func (srv *Server) acceptLoop() {
	defer srv.acceptWG.Done()
	srv.log.Debug("TCP listener up", "addr", srv.listener.Addr())
	var delay time.Duration
	for {
		fd, err := srv.listener.Accept()
		if err != nil {
			if srv.ctx.Err() != nil || !netutil.IsTemporaryError(err) {
				if !errors.Is(err, net.ErrClosed) {
					srv.log.Debug("Accept failed", "err", err)
				}
				return
			}
			// Out of file descriptors and the like: back off.
			delay = min(max(2*delay, 5*time.Millisecond), acceptRetryMax)
			srv.log.Debug("Temporary accept error", "err", err, "retry", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-srv.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		if err := srv.checkInbound(fd.RemoteAddr(), time.Now()); err != nil {
			srv.log.Debug("Rejected inbound connection", "addr", fd.RemoteAddr(), "err", err)
			srv.cfg.Metrics.ConnSetup(true, ConnRejected)
			fd.Close()
			continue
		}
		srv.admit(fd)
	}
}

var (
	errNetRestrict = errors.New("not in netrestrict list")
	errThrottled   = errors.New("too many attempts")
)

// checkInbound applies NetRestrict and the per-IP throttle.
func (srv *Server) checkInbound(addr net.Addr, now time.Time) error {
	ip := netutil.AddrIP(addr)
	if !ip.IsValid() {
		return nil // in-memory pipes without addresses
	}
	if srv.cfg.NetRestrict != nil && !srv.cfg.NetRestrict.Contains(ip) {
		return errNetRestrict
	}
	if !netutil.IsLAN(ip) && !srv.inbound.throttle.Allow(ip, now) {
		return errThrottled
	}
	return nil
}

// admit puts a new connection in the lobby and starts its goroutine.
func (srv *Server) admit(fd net.Conn) {
	deadline := time.Now().Add(handshakeTimeout)
	fd.SetDeadline(deadline)
	c := &prefixConn{Conn: fd}
	if !srv.track(c) {
		fd.Close()
		return
	}
	g := &srv.inbound
	g.mu.Lock()
	if g.mu.lobby.Len() >= g.maxLobby {
		oldest := g.mu.lobby.Remove(g.mu.lobby.Front()).(*prefixConn)
		oldest.lobbyElem = nil
		oldest.Close() // its goroutine sees the error and cleans up
	}
	c.lobbyElem = g.mu.lobby.PushBack(c)
	g.mu.Unlock()
	srv.setupWG.Add(1)
	srv.workers.run(func() { srv.serveInbound(c, deadline) })
}

// serveInbound waits for the first byte, then for a handshake slot, then runs
// the handshakes.
func (srv *Server) serveInbound(c *prefixConn, deadline time.Time) {
	defer srv.setupWG.Done()
	n, err := c.Conn.Read(c.first[:])
	g := &srv.inbound
	g.mu.Lock()
	if c.lobbyElem != nil {
		g.mu.lobby.Remove(c.lobbyElem)
		c.lobbyElem = nil
	}
	g.mu.Unlock()
	if err != nil || n == 0 {
		srv.untrack(c)
		c.Close()
		srv.cfg.Metrics.ConnSetup(true, ConnEncHandshakeError)
		return
	}
	c.pending = true

	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		defer func() { <-g.slots }()
	case <-t.C:
		srv.untrack(c)
		c.Close()
		srv.cfg.Metrics.ConnSetup(true, ConnEncHandshakeError)
		return
	case <-srv.ctx.Done():
		srv.untrack(c)
		c.Close()
		return
	}
	srv.setupConn(c, inboundConn, nil)
}

// prefixConn returns the byte read while the connection waited in the lobby
// before reading further.
type prefixConn struct {
	net.Conn
	first     [1]byte
	pending   bool          // first holds an unread byte
	lobbyElem *list.Element // guarded by inboundGate.mu
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if c.pending && len(b) > 0 {
		c.pending = false
		b[0] = c.first[0]
		return 1, nil
	}
	return c.Conn.Read(b)
}

// track records a connection in setup so that Stop can abort it. It reports
// false once Stop has begun.
func (srv *Server) track(fd net.Conn) bool {
	srv.setup.Lock()
	defer srv.setup.Unlock()
	if srv.setup.closed {
		return false
	}
	srv.setup.conns[fd] = struct{}{}
	return true
}

func (srv *Server) untrack(fd net.Conn) {
	srv.setup.Lock()
	delete(srv.setup.conns, fd)
	srv.setup.Unlock()
}

// abortSetups closes every connection in setup and refuses new ones.
func (srv *Server) abortSetups() {
	srv.setup.Lock()
	srv.setup.closed = true
	conns := srv.setup.conns
	srv.setup.conns = nil
	srv.setup.Unlock()
	for fd := range conns {
		fd.Close()
	}
}

// setupConn runs both handshakes on a tracked connection and hands the result
// to the loop. On failure it closes the connection, after telling the remote
// why where that is useful.
func (srv *Server) setupConn(fd net.Conn, flags connFlag, dest *enode.Node) error {
	c, err := srv.handshake(fd, flags, dest)
	srv.untrack(fd)
	if err != nil {
		fd.Close()
		srv.cfg.Metrics.ConnSetup(flags&inboundConn != 0, outcomeOf(err))
		srv.log.Debug("Connection setup failed", "addr", fd.RemoteAddr(), "conn", flags, "err", err)
		return err
	}
	srv.inbox.post(func() { srv.addPeer(c) })
	return nil
}

// handshake runs the RLPx handshake, the early admission checks and the
// Hello exchange.
func (srv *Server) handshake(fd net.Conn, flags connFlag, dest *enode.Node) (*handshakeDone, error) {
	var destKey *crypto.PublicKey
	if dest != nil {
		if destKey = dest.Pubkey(); destKey == nil {
			return nil, fmt.Errorf("%w: dial destination has no secp256k1 key", ErrEncHandshake)
		}
	}
	if flags&inboundConn == 0 {
		fd.SetDeadline(time.Now().Add(handshakeTimeout))
	}
	conn, remote, err := encHandshake(fd, srv.cfg.PrivateKey, destKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncHandshake, err)
	}
	if dest != nil && !remote.IsEqual(destKey) {
		closeWithReason(fd, conn, DiscUnexpectedIdentity)
		return nil, DiscUnexpectedIdentity
	}
	var id enode.ID
	if dest != nil {
		id = dest.ID()
	} else {
		id = enode.PubkeyToIDV4(remote)
	}

	// Refuse early, before the Hello exchange, when the limits are already
	// reached. The loop checks again at the end.
	srv.state.RLock()
	if srv.state.trusted[id] {
		flags |= trustedConn
	}
	err = srv.checkLocked(id, flags)
	srv.state.RUnlock()
	if err != nil {
		closeWithReason(fd, conn, err.(DiscReason))
		return nil, err
	}
	if flags&inboundConn != 0 && srv.dialer != nil {
		srv.dialer.inboundPending(id)
	}
	h, err := srv.protoHandshake(fd, conn, remote)
	if err != nil {
		srv.inboundDone(id, flags)
		return nil, err
	}
	fd.SetDeadline(time.Time{})
	return &handshakeDone{fd: fd, conn: conn, id: id, node: dest, remote: remote, hello: h, flags: flags}, nil
}

// protoHandshake exchanges Hello messages (rlpx.md "Hello (0x00)").
func (srv *Server) protoHandshake(fd net.Conn, conn msgConn, remote *crypto.PublicKey) (*hello, error) {
	// A write error is reported only if there is nothing to read: a remote
	// that refuses us sends Disconnect and closes, which can fail our write.
	_, werr := conn.WriteMsg(helloMsg, srv.helloData)
	// Nothing larger than a Hello is accepted before the remote proved it
	// speaks the protocol.
	if l, ok := conn.(readLimiter); ok {
		l.SetReadLimit(maxHelloSize)
		defer l.SetReadLimit(0)
	}
	code, data, _, err := conn.ReadMsg()
	if err != nil {
		if werr != nil {
			return nil, fmt.Errorf("%w: write: %w", ErrProtoHandshake, werr)
		}
		return nil, fmt.Errorf("%w: read: %w", ErrProtoHandshake, err)
	}
	fail := func(reason DiscReason, err error) (*hello, error) {
		closeWithReason(fd, conn, reason)
		return nil, fmt.Errorf("%w: %w", ErrProtoHandshake, err)
	}
	switch code {
	case helloMsg:
	case discMsg:
		// Allowed before Hello; it is how peers refuse us (too many peers).
		r, _ := decodeDisconnect(data)
		return nil, fmt.Errorf("%w: remote disconnected: %w", ErrProtoHandshake, r)
	default:
		return fail(DiscProtocolError, fmt.Errorf("%w, got code %#x", ErrUnexpectedMsg, code))
	}
	if werr != nil {
		return nil, fmt.Errorf("%w: write: %w", ErrProtoHandshake, werr)
	}
	h, err := decodeHello(data)
	if err != nil {
		var r DiscReason
		if !errors.As(err, &r) {
			r = DiscProtocolError
		}
		return fail(r, err)
	}
	if s, ok := conn.(snappyConn); ok {
		// EIP-706: compress from the first message after the Hellos when
		// both announce version 5 or later, the disconnect reasons below
		// included (go-ethereum expects them compressed).
		s.SetSnappy(h.Version >= snappyProtocolVersion)
	}
	if !bytes.Equal(h.ID, crypto.MarshalPubkey(remote)[1:]) {
		closeWithReason(fd, conn, DiscUnexpectedIdentity)
		return nil, DiscUnexpectedIdentity
	}
	if len(srv.cfg.Protocols) > 0 && len(matchProtocols(srv.cfg.Protocols, h.Caps)) == 0 {
		closeWithReason(fd, conn, DiscUselessPeer)
		return nil, DiscUselessPeer
	}
	return h, nil
}

// closeWithReason sends a Disconnect message, waiting at most
// discWriteTimeout, and closes the connection.
func closeWithReason(fd net.Conn, conn msgConn, r DiscReason) {
	fd.SetWriteDeadline(time.Now().Add(discWriteTimeout))
	if _, err := conn.WriteMsg(discMsg, encodeDisconnect(r)); err == nil {
		if f, ok := conn.(flusher); ok {
			f.Flush()
		}
	}
	conn.Close()
}

// inboundNode is the node of an inbound peer: its handshake key and the
// address it connected from, with that port as both TCP and UDP port, as
// the remote's listening port is unknown.
func inboundNode(key *crypto.PublicKey, ra net.Addr) *enode.Node {
	port := 0
	if addr, ok := ra.(*net.TCPAddr); ok {
		port = addr.Port
	}
	return enode.NewV4(key, netutil.AddrIP(ra), port, port)
}

package p2p

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// Timing of a running connection.
const (
	// pingInterval is how often we ping an otherwise quiet peer, so that
	// neither side hits its read timeout.
	pingInterval = 15 * time.Second
	// frameReadTimeout is the longest a peer may stay silent. With pings
	// every 15 s, a live peer always sends something within it.
	frameReadTimeout = 30 * time.Second
	// frameWriteTimeout bounds one message write; a peer that stops reading
	// is dropped once it runs out.
	frameWriteTimeout = 20 * time.Second
	// discWriteTimeout bounds the Disconnect message written on the way out.
	discWriteTimeout = 1 * time.Second
	// deadlineSlack: read and write deadlines are re-armed only when this
	// much time has passed since the last arm, which saves a timer update per
	// message at the cost of timeouts up to this much early.
	deadlineSlack = time.Second
)

// emptyList is the payload of Ping and Pong.
var emptyList = []byte{0xc0}

type connFlag int32

const (
	dynDialedConn connFlag = 1 << iota
	staticDialedConn
	inboundConn
	trustedConn
)

func (f connFlag) String() string {
	s := ""
	for _, x := range []struct {
		f    connFlag
		name string
	}{{trustedConn, "trusted"}, {dynDialedConn, "dyndial"}, {staticDialedConn, "staticdial"}, {inboundConn, "inbound"}} {
		if f&x.f != 0 {
			if s != "" {
				s += "-"
			}
			s += x.name
		}
	}
	return s
}

// Peer is a connected remote node running one or more protocols.
//
// The goroutine in run owns the connection's read side and the protocol
// goroutines; writes from any goroutine are serialised by wmu. The first call
// to end decides how the connection ends; everything after observes closing.
type Peer struct {
	fd   net.Conn // for addresses and deadlines
	conn msgConn
	id   enode.ID
	// node is the remote node. For inbound connections it is made from
	// remoteKey and the remote address on the first Node call: an idle
	// peer then never holds a record, which is most of a node's memory.
	node      atomic.Pointer[enode.Node]
	remoteKey *crypto.PublicKey
	name      string
	caps      []Cap
	flags     atomic.Int32 // connFlag; trusted can change while running
	// pongPending is here, after flags, to fill what would be padding: the
	// Peer of every idle peer stays in a smaller size class.
	pongPending atomic.Bool

	running []*protoRW // sorted by offset
	created time.Time
	srvLog  *slog.Logger                // the server's; nil for NewPeer
	log     atomic.Pointer[slog.Logger] // srvLog with the peer's attributes, made on first use
	hooks   *peerHooks                  // shared by all peers of a server; nil for NewPeer

	closing chan struct{} // closed by the first end call
	done    chan struct{} // see doneCh; guarded by aux
	endOnce sync.Once
	ended   peerEnd // the first end; read after closing is closed

	// wmu serialises writes. It is a channel rather than a sync.Mutex so
	// that a writer waiting behind a stalled write is durably blocked for
	// testing/synctest, which can then advance time to the write deadline.
	wmu struct {
		lock      chan struct{} // capacity 1; holding a token is holding the lock
		err       error         // sticky: the stream is broken after a failed write
		deadline  time.Time     // the write deadline last set
		unflushed bool          // a buffered write awaits Flush
	}
	writers atomic.Int32 // writers waiting for or holding wmu, for coalescing

	// auxWG counts the protocol goroutines and the short-lived ones that
	// send pings and pongs; run waits for them. Once aux.stopped is set, no
	// ping or pong goroutine starts.
	aux struct {
		sync.Mutex
		stopped bool
	}
	auxWG     sync.WaitGroup
	pingTimer *time.Timer
}

// peerHooks is what a peer reports to its server.
type peerHooks struct {
	metrics Metrics
	events  *Feed[*PeerEvent] // nil unless message events are enabled
}

// peerEnd describes why a connection ends.
type peerEnd struct {
	err    error      // returned by run and reported in the drop event
	reason DiscReason // sent to the remote if send is set
	send   bool
	remote bool // the remote sent Disconnect
}

// newPeer makes a peer of a connection that passed both handshakes. node is
// the dialed node, or nil for an inbound connection, whose node is made on
// demand from remoteKey.
func newPeer(fd net.Conn, conn msgConn, id enode.ID, node *enode.Node, remoteKey *crypto.PublicKey, h *hello, flags connFlag, protos []Protocol, log *slog.Logger, hooks *peerHooks) *Peer {
	p := &Peer{
		fd:        fd,
		conn:      conn,
		id:        id,
		remoteKey: remoteKey,
		name:      h.Name,
		caps:      h.Caps,
		created:   time.Now(),
		hooks:     hooks,
		closing:   make(chan struct{}),
	}
	p.node.Store(node)
	p.wmu.lock = make(chan struct{}, 1)
	p.flags.Store(int32(flags))
	p.srvLog = log
	for _, m := range matchProtocols(protos, h.Caps) {
		p.running = append(p.running, &protoRW{Protocol: m.proto, offset: m.offset, in: make(chan Msg), peer: p})
	}
	return p
}

// NewPeer returns a peer that is not connected to anything, for testing
// protocol code that inspects peers. Disconnect on it does nothing.
func NewPeer(id enode.ID, name string, caps []Cap) *Peer {
	p := &Peer{
		id:      id,
		name:    name,
		caps:    caps,
		created: time.Now(),
		closing: make(chan struct{}),
	}
	p.node.Store(enode.SignNull(new(enr.Record), id))
	for _, c := range caps {
		proto := &Protocol{Name: c.Name, Version: c.Version}
		p.running = append(p.running, &protoRW{Protocol: proto, peer: p})
	}
	return p
}

// ID returns the node ID of the remote node.
func (p *Peer) ID() enode.ID { return p.id }

// Node returns the remote node: the dialed node for outbound connections, a
// node made from the handshake key and address for inbound ones. Every
// call returns the same node.
func (p *Peer) Node() *enode.Node {
	if n := p.node.Load(); n != nil {
		return n
	}
	n := inboundNode(p.remoteKey, p.fd.RemoteAddr())
	if !p.node.CompareAndSwap(nil, n) {
		return p.node.Load()
	}
	return n
}

// Name returns the client name the peer announced, cut to 20 characters.
func (p *Peer) Name() string {
	if len(p.name) > 20 {
		return p.name[:20] + "..."
	}
	return p.name
}

// Fullname returns the client name the peer announced.
func (p *Peer) Fullname() string { return p.name }

// Caps returns the capabilities the peer announced.
func (p *Peer) Caps() []Cap { return slices.Clone(p.caps) }

// RunningCap reports whether a protocol with the given name runs on this
// connection at one of versions.
func (p *Peer) RunningCap(protocol string, versions []uint) bool {
	for _, rw := range p.running {
		if rw.Name == protocol && slices.Contains(versions, rw.Version) {
			return true
		}
	}
	return false
}

// RemoteAddr returns the remote address of the connection.
func (p *Peer) RemoteAddr() net.Addr {
	if p.fd == nil {
		return nil
	}
	return p.fd.RemoteAddr()
}

// LocalAddr returns the local address of the connection.
func (p *Peer) LocalAddr() net.Addr {
	if p.fd == nil {
		return nil
	}
	return p.fd.LocalAddr()
}

// Inbound reports whether the remote node dialed us.
func (p *Peer) Inbound() bool { return p.is(inboundConn) }

// Trusted reports whether the node is in the trusted set, which exempts it
// from peer limits.
func (p *Peer) Trusted() bool { return p.is(trustedConn) }

// DynDialed reports whether we dialed the node because discovery found it.
func (p *Peer) DynDialed() bool { return p.is(dynDialedConn) }

// StaticDialed reports whether we dialed the node because it is static.
func (p *Peer) StaticDialed() bool { return p.is(staticDialedConn) }

// Lifetime returns how long the peer has been connected.
func (p *Peer) Lifetime() time.Duration { return time.Since(p.created) }

// Log returns the peer's logger.
func (p *Peer) Log() *slog.Logger {
	if l := p.log.Load(); l != nil {
		return l
	}
	base := p.srvLog
	if base == nil {
		base = slog.Default()
	}
	l := base.With("id", p.ID().TerminalString(), "conn", connFlag(p.flags.Load()).String())
	p.log.Store(l)
	return l
}

func (p *Peer) String() string {
	id := p.ID()
	return fmt.Sprintf("Peer %x %v", id[:8], p.RemoteAddr())
}

// Disconnect asks the peer to close with the given reason, which is sent to
// the remote. It returns at once; the drop event tells when the peer is gone.
func (p *Peer) Disconnect(reason DiscReason) {
	p.end(peerEnd{err: reason, reason: reason, send: true})
}

func (p *Peer) is(f connFlag) bool { return connFlag(p.flags.Load())&f != 0 }

func (p *Peer) setFlag(f connFlag, on bool) {
	for {
		old := p.flags.Load()
		n := old &^ int32(f)
		if on {
			n = old | int32(f)
		}
		if p.flags.CompareAndSwap(old, n) {
			return
		}
	}
}

// end starts closing the connection unless that already began, and returns
// the end that won. It never blocks: the read goroutine is woken through a
// read deadline in the past, and a write in flight gets discWriteTimeout to
// finish.
func (p *Peer) end(e peerEnd) peerEnd {
	p.endOnce.Do(func() {
		p.ended = e
		close(p.closing)
		if p.fd != nil {
			p.fd.SetReadDeadline(time.Unix(1, 0))
			p.fd.SetWriteDeadline(time.Now().Add(discWriteTimeout))
		}
	})
	return p.ended
}

func (p *Peer) isClosing() bool {
	select {
	case <-p.closing:
		return true
	default:
		return false
	}
}

// run drives the connection until it ends: it starts the protocols and the
// ping timer, reads messages on the calling goroutine, and finally sends the
// disconnect reason, closes the connection and waits for the protocols.
func (p *Peer) run() (remoteRequested bool, err error) {
	p.auxWG.Add(len(p.running))
	for _, rw := range p.running {
		go p.runProtocol(rw)
	}
	p.aux.Lock()
	p.pingTimer = time.AfterFunc(pingInterval, p.ping)
	p.aux.Unlock()

	e := p.end(p.readLoop())
	// The read loop was the only sender: protocols now read EOF.
	for _, rw := range p.running {
		close(rw.in)
	}

	p.aux.Lock()
	p.aux.stopped = true
	p.pingTimer.Stop()
	p.aux.Unlock()
	p.closeConn(e)
	p.auxWG.Wait()
	return e.remote, e.err
}

func (p *Peer) runProtocol(rw *protoRW) {
	defer p.auxWG.Done()
	err := rw.Run(p, rw)
	if err == nil {
		err = errProtocolReturned
	}
	p.end(peerEnd{err: err, reason: discReasonFor(err), send: true})
}

// closeConn tells the remote why (if it should hear) and closes the socket.
func (p *Peer) closeConn(e peerEnd) {
	if e.send {
		// A write still in flight was given discWriteTimeout by end, so this
		// waits at most that long.
		p.wmu.lock <- struct{}{}
		if p.wmu.err == nil {
			p.fd.SetWriteDeadline(time.Now().Add(discWriteTimeout))
			p.conn.WriteMsg(discMsg, encodeDisconnect(e.reason))
			if f, ok := p.conn.(flusher); ok {
				f.Flush()
			}
		}
		<-p.wmu.lock
	}
	p.conn.Close()
}

// readLoop reads and dispatches messages until something fails. It returns
// how the connection should end from the reader's point of view; if end was
// already called, that earlier end wins.
func (p *Peer) readLoop() peerEnd {
	var armed time.Time
	now := time.Now()
	for {
		if now.Sub(armed) >= deadlineSlack {
			p.fd.SetReadDeadline(now.Add(frameReadTimeout))
			armed = now
		}
		// Checked after arming: end's deadline in the past may just have
		// been overwritten.
		if p.isClosing() {
			return peerEnd{err: ErrShuttingDown}
		}
		code, data, wireSize, err := p.conn.ReadMsg()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return peerEnd{err: fmt.Errorf("%w: no message for %v", DiscReadTimeout, frameReadTimeout), reason: DiscReadTimeout, send: true}
			}
			return peerEnd{err: err, reason: DiscNetworkError}
		}
		now = time.Now()
		if e, stop := p.handle(code, data, wireSize, now); stop {
			return e
		}
	}
}

// handle processes one message, reporting whether the connection must end.
func (p *Peer) handle(code uint64, data []byte, wireSize int, now time.Time) (peerEnd, bool) {
	if code < baseProtocolLength {
		if p.hooks != nil {
			p.hooks.metrics.Ingress(baseCap, code, wireSize)
		}
		switch code {
		case pingMsg:
			p.queuePong()
		case discMsg:
			// The remote is leaving; no reply is sent.
			r, _ := decodeDisconnect(data)
			return peerEnd{err: r, reason: r, remote: true}, true
		}
		// Hello again, pong, and the unused base protocol codes are ignored.
		return peerEnd{}, false
	}
	rw := p.protoFor(code)
	if rw == nil {
		err := fmt.Errorf("%w: %d", ErrInvalidMsgCode, code)
		return peerEnd{err: err, reason: DiscProtocolError, send: true}, true
	}
	if p.hooks != nil {
		p.hooks.metrics.Ingress(rw.Cap(), code-rw.offset, wireSize)
	}
	// The connection reuses data for the next message; the protocol may keep
	// this one longer.
	data = append([]byte(nil), data...)
	msg := Msg{Code: code - rw.offset, Size: uint32(len(data)), Payload: &payload{b: data}, ReceivedAt: now}
	select {
	case rw.in <- msg:
		return peerEnd{}, false
	case <-p.closing:
		return peerEnd{err: ErrShuttingDown}, true
	}
}

func (p *Peer) protoFor(code uint64) *protoRW {
	for _, rw := range p.running {
		if code >= rw.offset && code-rw.offset < rw.Length {
			return rw
		}
	}
	return nil
}

package p2p

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
)

// loop is the owner of the peer set. It runs posted closures until Stop, then
// disconnects every peer and keeps running closures until the last peer has
// been removed.
func (srv *Server) loop() {
	defer srv.loopWG.Done()
	quit := srv.quit
	for {
		select {
		case <-srv.inbox.wake:
			srv.inbox.run()
		case <-quit:
			quit = nil
			srv.state.Lock()
			srv.state.stopping = true
			peers := make([]*Peer, 0, len(srv.state.peers))
			for _, p := range srv.state.peers {
				peers = append(peers, p)
			}
			srv.state.Unlock()
			for _, p := range peers {
				p.Disconnect(DiscQuitting)
			}
			// Connections posted by setup goroutines before they exited
			// are refused now, with DiscQuitting.
			srv.inbox.run()
		}
		if quit == nil && srv.PeerCount() == 0 {
			// Everything posted before the last peer's removal has run;
			// setup goroutines are gone, so nothing else will be posted
			// except trust changes, which can be dropped.
			srv.peerWG.Wait()
			return
		}
	}
}

// handshakeDone is a connection that passed both handshakes, on its way to
// the loop.
type handshakeDone struct {
	fd     net.Conn
	conn   msgConn
	id     enode.ID
	node   *enode.Node // the dialed node; nil for inbound connections
	remote *crypto.PublicKey
	hello  *hello
	flags  connFlag
}

// addPeer runs on the loop: the final admission checks, then the peer starts.
func (srv *Server) addPeer(c *handshakeDone) {
	id := c.id
	srv.state.Lock()
	if srv.state.trusted[id] {
		c.flags |= trustedConn
	}
	err := srv.checkLocked(id, c.flags)
	var p *Peer
	var prevDrop <-chan struct{}
	if err == nil {
		p = newPeer(c.fd, c.conn, c.id, c.node, c.remote, c.hello, c.flags, srv.cfg.Protocols, srv.log, &srv.hooks)
		srv.state.peers[id] = p
		if c.flags&inboundConn != 0 {
			srv.state.inbound++
		} else {
			srv.state.dialed++
		}
		if prev := srv.state.dropping[id]; prev != nil {
			prevDrop = prev.doneCh()
		}
	}
	srv.state.Unlock()

	inbound := c.flags&inboundConn != 0
	srv.cfg.Metrics.ConnSetup(inbound, outcomeOf(err))
	if err != nil {
		srv.log.Debug("Rejected peer", "id", id.TerminalString(), "addr", c.fd.RemoteAddr(), "conn", c.flags, "err", err)
		srv.inboundDone(id, c.flags)
		srv.peerWG.Add(1)
		go func() {
			defer srv.peerWG.Done()
			closeWithReason(c.fd, c.conn, err.(DiscReason))
		}()
		return
	}
	if srv.debugEnabled() {
		srv.log.Debug("Adding p2p peer", "peercount", srv.PeerCount(), "id", id.TerminalString(), "conn", c.flags, "addr", c.fd.RemoteAddr(), "name", p.Name())
	}
	srv.cfg.Metrics.PeerAdded(inbound)
	if srv.dialer != nil {
		srv.dialer.peerAdded(id, c.flags)
	}
	srv.inboundDone(id, c.flags)
	srv.peerWG.Add(1)
	go srv.runPeer(p, prevDrop)
}

// checkLocked applies the peer limits. It runs twice per connection: early,
// right after the encryption handshake (from the setup goroutine, under the
// read lock), and finally on the loop, since the peer set may have changed
// during the Hello exchange.
func (srv *Server) checkLocked(id enode.ID, flags connFlag) error {
	trusted := flags&trustedConn != 0
	switch {
	case srv.state.stopping:
		return DiscQuitting
	case !trusted && len(srv.state.peers) >= srv.cfg.MaxPeers:
		return DiscTooManyPeers
	case !trusted && flags&inboundConn != 0 && srv.state.inbound >= srv.cfg.maxInboundConns():
		return DiscTooManyPeers
	case !trusted && flags&dynDialedConn != 0 && srv.state.dialed >= srv.cfg.maxDialedConns():
		// The dialer starts more dials than it needs, since many fail;
		// when too many succeed, the extra ones go.
		return DiscTooManyPeers
	case srv.state.peers[id] != nil:
		return DiscAlreadyConnected
	case id == srv.localnode.ID():
		return DiscSelf
	}
	return nil
}

// runPeer is the goroutine of a peer: it reads the connection until the peer
// ends, then removes the peer on the loop. prevDrop, if not nil, is closed
// when the drop event of an earlier connection to the same node is out.
//
// The work before and after run is in other functions, so that this frame,
// which stays on the stack under the read loop for the peer's lifetime, is
// small: a goroutine's stack keeps the size its deepest call needed.
func (srv *Server) runPeer(p *Peer, prevDrop <-chan struct{}) {
	defer srv.peerWG.Done()
	if prevDrop != nil {
		<-prevDrop
	}
	srv.sendPeerEvent(p, PeerEventTypeAdd, nil)
	remoteRequested, err := p.run()
	srv.peerEnded(p, remoteRequested, err)
}

// sendPeerEvent announces an added or dropped peer.
func (srv *Server) sendPeerEvent(p *Peer, typ PeerEventType, err error) {
	ev := &PeerEvent{
		Type:          typ,
		Peer:          p.ID(),
		LocalAddress:  p.LocalAddr().String(),
		RemoteAddress: p.RemoteAddr().String(),
	}
	if err != nil {
		ev.Error = err.Error()
	}
	srv.feed.Send(ev)
}

// peerEnded removes a peer whose run returned, then announces the drop.
func (srv *Server) peerEnded(p *Peer, remoteRequested bool, err error) {
	// Remove on the loop before announcing the drop, so that a subscriber
	// never finds a dropped peer in Peers().
	removed := make(chan struct{})
	srv.inbox.post(func() {
		srv.removePeer(p)
		close(removed)
	})
	<-removed
	if srv.dialer != nil && remoteRequested && errors.Is(err, DiscAlreadyConnected) && p.Lifetime() < collisionWindow {
		// Perhaps a simultaneous dial; see dialScheduler.collision.
		if flags := connFlag(p.flags.Load()); flags&(dynDialedConn|staticDialedConn) != 0 {
			srv.dialer.collided(p.Node(), flags)
		} else {
			srv.dialer.collidedInbound(p.ID())
		}
	}
	if srv.debugEnabled() {
		srv.log.Debug("Removing p2p peer", "peercount", srv.PeerCount(), "id", p.ID().TerminalString(), "duration", p.Lifetime(), "req", remoteRequested, "err", err)
	}
	srv.sendPeerEvent(p, PeerEventTypeDrop, err)
	p.markDone()
	srv.inbox.post(func() {
		srv.state.Lock()
		if srv.state.dropping[p.ID()] == p {
			delete(srv.state.dropping, p.ID())
		}
		srv.state.Unlock()
	})
}

// debugEnabled reports whether debug logging is on. The per-connection
// debug lines check it first: their arguments (a peer count under the
// state lock, interface conversions) cost time and allocations even when
// the handler drops the record.
func (srv *Server) debugEnabled() bool {
	return srv.log.Enabled(context.Background(), slog.LevelDebug)
}

// doneCh returns a channel that is closed once the server has removed the
// peer and announced its drop. It is made on first use, by RemovePeer or by
// a new connection of the same node waiting to announce itself: a peer that
// nobody waits for never holds one.
func (p *Peer) doneCh() <-chan struct{} {
	p.aux.Lock()
	defer p.aux.Unlock()
	if p.done == nil {
		p.done = make(chan struct{})
	}
	return p.done
}

// markDone closes the channel of doneCh, or makes doneCh return a closed one.
func (p *Peer) markDone() {
	p.aux.Lock()
	defer p.aux.Unlock()
	if p.done == nil {
		p.done = closedChan
		return
	}
	close(p.done)
}

var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (srv *Server) removePeer(p *Peer) {
	srv.state.Lock()
	delete(srv.state.peers, p.ID())
	if p.Inbound() {
		srv.state.inbound--
	} else {
		srv.state.dialed--
	}
	srv.state.dropping[p.ID()] = p
	srv.state.Unlock()
	srv.cfg.Metrics.PeerRemoved(p.Inbound())
	if srv.dialer != nil {
		srv.dialer.peerRemoved(p.ID(), connFlag(p.flags.Load()))
	}
}

// inboundDone tells the dialer an inbound connection from id is no longer
// pending (it became a peer or failed), so dialing id is allowed again.
func (srv *Server) inboundDone(id enode.ID, flags connFlag) {
	if flags&inboundConn != 0 && srv.dialer != nil {
		srv.dialer.inboundCompleted(id)
	}
}

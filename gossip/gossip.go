// Package gossip is a small devp2p subprotocol ("gossip", version 1) that
// floods short messages through the peer mesh, so that a network of nodes has
// something to say and its propagation can be measured.
//
// # Protocol
//
// One message code, 0: a message [origin, seq, time, payload] (see
// wireMessage). A node that publishes sends it to every peer. A node that
// receives a message whose ID it has not seen delivers it locally and sends it
// to every peer except the one it came from; a message it has seen is dropped.
// Each node thus sends a message at most once on each connection, and every
// node connected to the origin through peers receives it. Message IDs are
// derived from the content (see ID) and remembered in a bounded set (see
// DefaultSeenCapacity). A message that does not decode, or breaks a limit of
// message.go, ends the connection with DiscSubprotocolError.
//
// # Goroutines
//
// Protocol.Run runs per peer, on the goroutine the p2p server starts for it:
// it reads and handles that peer's messages and starts one writer goroutine that drains the
// peer's send queue, so a slow peer never holds up the others. A full queue
// drops the message for that peer (counted in Stats.QueueDrops). The peer set
// and the seen set are guarded by one mutex.
package gossip

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
)

// Protocol identity.
const (
	ProtocolName    = "gossip"
	ProtocolVersion = 1
	protocolLength  = 1 // message codes: 0 only

	msgCodeMessage = 0

	// peerQueueLen is how many messages wait for one peer's writer before
	// new ones are dropped for that peer.
	peerQueueLen = 256
)

// Delivery is a message received for the first time, handed to Config.Deliver.
type Delivery struct {
	Message
	From     enode.ID  // peer it came from
	Received time.Time // local clock when it was read
}

// Latency is the propagation time from origin to here, on the assumption
// that both clocks agree (they do within one process).
func (d Delivery) Latency() time.Duration { return d.Received.Sub(d.Sent) }

// Config configures a Gossip.
type Config struct {
	// Self is the local node ID, the origin of published messages.
	Self enode.ID
	// Deliver, if set, is called once per new message received from a peer
	// (not for messages published here). It runs on the receiving peer's
	// goroutine, so it should return quickly.
	Deliver func(Delivery)
	// SeenCapacity bounds the set of remembered message IDs. Zero means
	// DefaultSeenCapacity.
	SeenCapacity int
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives debug logs. Nil means discarded.
	Logger *slog.Logger
}

// Stats are the counters of a Gossip.
type Stats struct {
	Peers      int
	Published  uint64 // messages published here
	Received   uint64 // messages read from peers, duplicates included
	Delivered  uint64 // new messages from peers handed to Deliver
	Duplicates uint64 // messages read from peers that were seen before
	Sent       uint64 // messages queued to peers (publications and forwards)
	QueueDrops uint64 // messages not queued because a peer's queue was full
	Seen       int    // IDs in the seen set
}

// Gossip runs the gossip protocol for one node. Create it with New and add
// Protocol() to the p2p server's protocols.
type Gossip struct {
	cfg Config
	log *slog.Logger
	seq atomic.Uint64

	mu struct {
		sync.Mutex
		peers map[enode.ID]*gossipPeer
		seen  *seenSet
	}

	published, received, delivered, duplicates, sent, queueDrops atomic.Uint64
}

// gossipPeer is the send side of one connection.
type gossipPeer struct {
	id    enode.ID
	queue chan []byte // encoded messages, shared read-only between peers
}

// New returns a Gossip for the node cfg.Self.
func New(cfg Config) *Gossip {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &Gossip{cfg: cfg, log: cfg.Logger}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.mu.peers = make(map[enode.ID]*gossipPeer)
	g.mu.seen = newSeenSet(cfg.SeenCapacity)
	return g
}

// Protocol returns the p2p protocol to run with peers.
func (g *Gossip) Protocol() p2p.Protocol {
	return p2p.Protocol{
		Name:    ProtocolName,
		Version: ProtocolVersion,
		Length:  protocolLength,
		Run: func(p *p2p.Peer, rw p2p.MsgReadWriter) error {
			return g.RunPeer(p.ID(), rw)
		},
		NodeInfo: func() any { return g.Stats() },
	}
}

// Publish sends payload to every peer as a new message from this node and
// returns the message. It does not block on the network.
func (g *Gossip) Publish(payload []byte) (Message, error) {
	m, err := NewMessage(g.cfg.Self, g.seq.Add(1), g.cfg.Now(), append([]byte(nil), payload...))
	if err != nil {
		return Message{}, err
	}
	enc, err := EncodeMessage(m)
	if err != nil {
		return Message{}, err
	}
	g.mu.Lock()
	g.mu.seen.add(m.ID)
	targets := g.peersLocked(enode.ID{}, false)
	g.mu.Unlock()
	g.published.Add(1)
	g.send(targets, enc)
	return m, nil
}

// Stats returns the current counters.
func (g *Gossip) Stats() Stats {
	g.mu.Lock()
	peers, seen := len(g.mu.peers), g.mu.seen.len()
	g.mu.Unlock()
	return Stats{
		Peers:      peers,
		Published:  g.published.Load(),
		Received:   g.received.Load(),
		Delivered:  g.delivered.Load(),
		Duplicates: g.duplicates.Load(),
		Sent:       g.sent.Load(),
		QueueDrops: g.queueDrops.Load(),
		Seen:       seen,
	}
}

// RunPeer speaks the protocol with the peer id over rw until rw fails or the
// peer misbehaves. It is Protocol().Run without the *p2p.Peer, for running the
// protocol over other transports such as p2p.MsgPipe. A second RunPeer for an
// id already running fails with p2p.DiscAlreadyConnected.
func (g *Gossip) RunPeer(id enode.ID, rw p2p.MsgReadWriter) error {
	p := &gossipPeer{id: id, queue: make(chan []byte, peerQueueLen)}
	g.mu.Lock()
	if _, dup := g.mu.peers[id]; dup {
		g.mu.Unlock()
		return p2p.DiscAlreadyConnected
	}
	g.mu.peers[id] = p
	g.mu.Unlock()

	done := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		g.writeLoop(p, rw, done)
	}()
	err := g.readLoop(p, rw)

	g.mu.Lock()
	delete(g.mu.peers, id)
	g.mu.Unlock()
	close(done)
	<-writerDone
	return err
}

// writeLoop sends queued messages until done is closed or a write fails.
func (g *Gossip) writeLoop(p *gossipPeer, rw p2p.MsgWriter, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case enc := <-p.queue:
			if err := rw.WriteMsg(p2p.NewMsg(msgCodeMessage, enc)); err != nil {
				// The connection is going down; the read side sees it too.
				g.log.Debug("gossip write failed", "peer", p.id, "err", err)
				return
			}
		}
	}
}

func (g *Gossip) readLoop(p *gossipPeer, rw p2p.MsgReader) error {
	for {
		msg, err := rw.ReadMsg()
		if err != nil {
			return err
		}
		if err := g.handle(p, msg); err != nil {
			g.log.Debug("gossip peer misbehaved", "peer", p.id, "err", err)
			return err
		}
	}
}

// handle checks and processes one message from p. An error ends the
// connection (DiscSubprotocolError).
func (g *Gossip) handle(p *gossipPeer, msg p2p.Msg) error {
	if msg.Code != msgCodeMessage {
		msg.Discard()
		return fmt.Errorf("%w: %d", ErrInvalidCode, msg.Code)
	}
	if msg.Size > MaxMessageSize {
		msg.Discard()
		return fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLarge, msg.Size, MaxMessageSize)
	}
	buf := make([]byte, msg.Size)
	if _, err := io.ReadFull(msg.Payload, buf); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	m, err := DecodeMessage(buf)
	if err != nil {
		return err
	}
	received := msg.ReceivedAt
	if received.IsZero() {
		received = g.cfg.Now()
	}
	g.received.Add(1)

	g.mu.Lock()
	if !g.mu.seen.add(m.ID) {
		g.mu.Unlock()
		g.duplicates.Add(1)
		return nil
	}
	targets := g.peersLocked(p.id, true)
	g.mu.Unlock()

	// Forward in canonical form, without fields this version ignores.
	enc, err := EncodeMessage(m)
	if err != nil {
		return err // cannot happen: DecodeMessage checked the limits
	}
	g.send(targets, enc)
	g.delivered.Add(1)
	if g.cfg.Deliver != nil {
		g.cfg.Deliver(Delivery{Message: m, From: p.id, Received: received})
	}
	return nil
}

// peersLocked returns the peers, leaving out except if skip is set.
func (g *Gossip) peersLocked(except enode.ID, skip bool) []*gossipPeer {
	ps := make([]*gossipPeer, 0, len(g.mu.peers))
	for id, p := range g.mu.peers {
		if skip && id == except {
			continue
		}
		ps = append(ps, p)
	}
	return ps
}

// send queues enc to each peer without blocking.
func (g *Gossip) send(targets []*gossipPeer, enc []byte) {
	for _, p := range targets {
		select {
		case p.queue <- enc:
			g.sent.Add(1)
		default:
			g.queueDrops.Add(1)
		}
	}
}

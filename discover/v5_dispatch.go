package discover

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"net/netip"
	"time"

	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enode"
)

// v5dispatch is the state of the dispatch loop: the codec with its session
// cache, the calls in flight, the rate limiters. Only dispatchLoop touches
// it (the codec is not safe for concurrent use, and owns the cache).
type v5dispatch struct {
	t        *UDPv5
	codec    *v5wire.Codec
	sessions *v5wire.SessionCache

	queue   map[enode.ID][]*v5call // per node: the active call, then the queued ones
	byNonce map[v5wire.Nonce]*v5call

	packets     *ipLimiter   // datagrams per source IP
	challenges  *ipLimiter   // WHOAREYOUs sent per source IP
	handshakes  *ipLimiter   // handshake packets processed per source IP
	challengesT tokenBucket  // WHOAREYOUs sent in total
	mask        cipher.Block // unmasks headers of packets to us (isHandshakePacket)
}

func newV5Dispatch(t *UDPv5, hook func(*v5wire.Codec)) *v5dispatch {
	d := &v5dispatch{
		t:          t,
		sessions:   v5wire.NewSessionCache(sessionCacheSize, t.clock.Now),
		queue:      make(map[enode.ID][]*v5call),
		byNonce:    make(map[v5wire.Nonce]*v5call),
		packets:    newIPLimiter(v5PacketRate, v5PacketBurst, maxLimiterIPs),
		challenges: newIPLimiter(whoareyouRate, whoareyouBurst, maxLimiterIPs),
		handshakes: newIPLimiter(handshakeRate, handshakeBurst, maxLimiterIPs),
	}
	d.challengesT = tokenBucket{tokens: whoareyouTotalBurst, last: t.clock.Now()}
	self := t.ln.ID()
	d.mask, _ = aes.NewCipher(self[:16]) // a 16-byte key never fails
	d.codec = v5wire.NewCodec(t.ln, t.cfg.PrivateKey, d.sessions)
	if hook != nil {
		hook(d.codec)
	}
	return d
}

// readLoop reads datagrams and hands them to the dispatch loop. When the
// dispatch loop falls behind, datagrams are dropped, as a full socket
// buffer would.
func (t *UDPv5) readLoop() {
	defer t.wg.Done()
	buf := make([]byte, v5wire.MaxPacketSize+1)
	for {
		n, from, ok := t.readPacket(buf)
		if !ok {
			return
		}
		select {
		case t.packetIn <- ReadPacket{Data: append([]byte(nil), buf[:n]...), Addr: from}:
		case <-t.ctx.Done():
			return
		default:
			t.stats.drop()
		}
	}
}

// dispatchLoop owns v5dispatch. It keeps one timer, for the earliest
// response deadline.
func (t *UDPv5) dispatchLoop() {
	defer t.wg.Done()
	d := t.disp
	timer := t.clock.NewTimer(time.Hour)
	defer timer.Stop()
	var armed time.Time
	for {
		now := t.now()
		next := d.expireCalls(now)
		if !next.IsZero() && !next.Equal(armed) {
			timer.Reset(next.Sub(now))
			armed = next
		}
		select {
		case p := <-t.packetIn:
			if err := d.handlePacket(p.Addr, p.Data); err != nil {
				t.stats.drop()
				t.log.Debug("Dropped discv5 packet", "addr", p.Addr, "err", err)
			}
		case f := <-t.ops:
			f()
		case <-timer.C():
			armed = time.Time{}
		case <-t.ctx.Done():
			d.closeCalls()
			t.talk.wait()
			return
		}
	}
}

// closeCalls fails every call in flight or queued with ErrClosed.
func (d *v5dispatch) closeCalls() {
	for id, q := range d.queue {
		for _, c := range q {
			c.done <- v5result{c.responses, ErrClosed}
		}
		delete(d.queue, id)
	}
	clear(d.byNonce)
}

// send encodes p for the node id at addr, in a handshake answering
// challenge if that is set, and writes it. It returns the packet's nonce.
func (d *v5dispatch) send(id enode.ID, addr netip.AddrPort, p v5wire.Packet, challenge *v5wire.Whoareyou) (v5wire.Nonce, error) {
	as := addrString(addr)
	name := p.Name()
	switch {
	case challenge != nil:
		name = "HANDSHAKE/v5"
	case p.Kind() != v5wire.WhoareyouPacket && d.sessions.Session(id, as) == nil:
		name = "RANDOM/v5"
	}
	b, nonce, err := d.codec.Encode(id, as, p, challenge)
	if err != nil {
		return nonce, fmt.Errorf("encode %s: %w", p.Name(), err)
	}
	d.t.stats.out(name, len(b))
	if challenge != nil {
		d.t.stats.out(p.Name(), 0)
	}
	if _, err := d.t.conn.WriteToUDPAddrPort(b, addr); err != nil && d.t.ctx.Err() == nil {
		d.t.log.Debug("UDP write failed", "addr", addr, "err", err)
	}
	return nonce, nil
}

// handlePacket decodes a datagram and dispatches it. The checks run
// cheapest first: address filter, rate limit, then Decode (AES; for a
// handshake also ECDH and a signature check, rate-limited per IP).
func (d *v5dispatch) handlePacket(from netip.AddrPort, b []byte) error {
	t := d.t
	ip := from.Addr()
	if t.cfg.NetRestrict != nil && !t.cfg.NetRestrict.Contains(ip) {
		return errRestricted
	}
	now := t.now()
	if !d.packets.allow(ip, now) {
		return errRateLimited
	}
	if d.isHandshakePacket(b) && !d.handshakes.allow(ip, now) {
		return fmt.Errorf("handshake: %w", errRateLimited)
	}
	as := addrString(from)
	fromID, fromNode, p, err := d.codec.Decode(b, as)
	if err != nil {
		return err
	}
	if fromNode != nil {
		t.stats.countIn("HANDSHAKE/v5")
		d.handshakeDone(fromNode, from)
	}
	t.stats.countIn(p.Name())
	switch p := p.(type) {
	case *v5wire.Unknown:
		return d.handleUnknown(fromID, from, p, now)
	case *v5wire.Whoareyou:
		return d.handleWhoareyou(from, p)
	case *v5wire.Ping:
		return d.handlePing(fromID, from, p)
	case *v5wire.Findnode:
		return d.handleFindnode(fromID, from, p)
	case *v5wire.TalkRequest:
		return d.handleTalkRequest(fromID, from, p)
	case *v5wire.Pong, *v5wire.Nodes, *v5wire.TalkResponse:
		return d.handleResponse(fromID, from, p)
	}
	return nil
}

// handshakeDone adds a node that has just completed a handshake with us to
// the table, if its record's endpoint is the one it speaks from: the
// handshake proved both its identity and that it receives at that
// endpoint (it answered our WHOAREYOU). A node behind a NAT whose record
// says otherwise is still served, but not spread.
func (d *v5dispatch) handshakeDone(n *enode.Node, from netip.AddrPort) {
	addr, ok := n.UDPEndpoint()
	if !ok || netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()) != from {
		return
	}
	d.t.tab.addInboundNode(n, false)
}

// isHandshakePacket reports whether b looks like a discv5 handshake packet
// to us: its static header (discv5-wire.md "Protocol Header"), unmasked
// with our ID, has the protocol-id and flag 2. That costs one AES block.
// It only decides rate limiting, so a wrong answer for malformed input is
// harmless; Decode checks properly.
func (d *v5dispatch) isHandshakePacket(b []byte) bool {
	const (
		ivSize    = 16
		flagEnd   = ivSize + 6 + 2 + 1 // masking-iv || protocol-id || version || flag
		handshake = 2
	)
	if len(b) < v5wire.MinPacketSize {
		return false
	}
	var hdr [flagEnd - ivSize]byte
	cipher.NewCTR(d.mask, b[:ivSize]).XORKeyStream(hdr[:], b[ivSize:flagEnd])
	return string(hdr[:6]) == "discv5" && hdr[len(hdr)-1] == handshake
}

// handleUnknown answers a packet that does not decrypt with WHOAREYOU
// (discv5-theory.md "Handshake Steps", step 2). While a challenge to that
// node and endpoint is pending, the same challenge is sent again, so that
// the handshake answering whichever copy arrives is valid; the challenge
// cache and its expiry bound them. New challenges are rate-limited per IP
// and in total.
func (d *v5dispatch) handleUnknown(id enode.ID, from netip.AddrPort, p *v5wire.Unknown, now time.Time) error {
	as := addrString(from)
	if w := d.sessions.Challenge(id, as); w != nil {
		if !d.challenges.allow(from.Addr(), now) {
			return fmt.Errorf("WHOAREYOU: %w", errRateLimited)
		}
		_, err := d.send(id, from, w, nil)
		return err
	}
	if !d.challenges.allow(from.Addr(), now) || !d.challengesT.take(whoareyouTotalRate, whoareyouTotalBurst, now) {
		return fmt.Errorf("WHOAREYOU: %w", errRateLimited)
	}
	w := &v5wire.Whoareyou{Nonce: p.Nonce}
	// The record we hold for the node, if any, spares it sending its own.
	if c := d.active(id); c != nil {
		w.Node = c.node
	} else if n := d.t.tab.node(id); n != nil {
		w.Node = n
	}
	if w.Node != nil {
		w.RecordSeq = w.Node.Seq()
	}
	_, err := d.send(id, from, w, nil)
	return err
}

// take takes a token from a single bucket refilled at rate per second up
// to burst.
func (b *tokenBucket) take(rate, burst float64, now time.Time) bool {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(burst, b.tokens+elapsed.Seconds()*rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

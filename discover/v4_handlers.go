package discover

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/trellis-p2p/trellis/discover/v4wire"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/netutil"
)

// readState is what the read loop owns.
type readState struct {
	packets *ipLimiter // datagrams per source IP
	pings   *ipLimiter // Pings from unproven endpoints per source IP
}

// readLoop reads and handles packets until the socket is closed.
func (t *UDPv4) readLoop() {
	defer t.wg.Done()
	if t.cfg.Unhandled != nil {
		defer close(t.cfg.Unhandled)
	}
	rs := &readState{
		packets: newIPLimiter(packetRate, packetBurst, maxLimiterIPs),
		pings:   newIPLimiter(unprovenPingRate, unprovenPingBurst, maxLimiterIPs),
	}
	// One byte more than a packet may have, to tell an oversized datagram
	// from one that fits exactly.
	buf := make([]byte, v4wire.MaxPacketSize+1)
	for {
		n, from, ok := t.readPacket(buf)
		if !ok {
			return
		}
		if err := t.handlePacket(rs, from, buf[:n]); err != nil {
			t.stats.drop()
			t.log.Debug("Dropped discv4 packet", "addr", from, "err", err)
		}
	}
}

// handlePacket checks a datagram and dispatches it. The checks run cheapest
// first: address filter, size, rate limit, then Decode (hash, signature
// recovery), then expiration and endpoint proof. Whatever fails is dropped
// without reply.
func (t *UDPv4) handlePacket(rs *readState, from netip.AddrPort, buf []byte) error {
	ip := from.Addr()
	if t.cfg.NetRestrict != nil && !t.cfg.NetRestrict.Contains(ip) {
		return errRestricted
	}
	if len(buf) > v4wire.MaxPacketSize {
		return fmt.Errorf("%w: more than %d bytes", v4wire.ErrPacketTooBig, v4wire.MaxPacketSize)
	}
	now := t.now()
	if !rs.packets.allow(ip, now) {
		return errRateLimited
	}
	p, fromKey, hash, err := t.codec.decode(buf)
	if err != nil {
		if t.cfg.Unhandled != nil && (errors.Is(err, v4wire.ErrBadHash) || errors.Is(err, v4wire.ErrPacketTooSmall)) {
			// Not discv4: maybe the protocol sharing the socket knows it.
			select {
			case t.cfg.Unhandled <- ReadPacket{Data: bytes.Clone(buf), Addr: from}:
			default:
			}
			return nil
		}
		return err
	}
	fromID := fromKey.ID()
	t.stats.countIn(p.Name())
	switch p := p.(type) {
	case *v4wire.Ping:
		return t.handlePing(rs, from, fromID, fromKey, hash, p, now)
	case *v4wire.Pong:
		return t.handlePong(from, fromID, p, now)
	case *v4wire.FindNode:
		return t.handleFindNode(from, fromID, p, now)
	case *v4wire.Neighbors:
		return t.handleNeighbors(from, fromID, p, now)
	case *v4wire.ENRRequest:
		return t.handleENRRequest(from, fromID, hash, p, now)
	case *v4wire.ENRResponse:
		return t.handleENRResponse(from, fromID, p)
	}
	return nil
}

// bonded reports whether the node has proven its endpoint: it answered our
// ping from this IP recently (discv4.md "Endpoint Proof").
func (t *UDPv4) bonded(id enode.ID, ip netip.Addr, now time.Time) bool {
	return now.Sub(t.db.LastPongReceived(id, ip)) < bondAccepted
}

// handlePing answers with a Pong (discv4.md "Ping Packet"). A node without
// a recent endpoint proof is pinged back, and enters the table once it
// answers; a proven one enters at once and may tell us our endpoint.
//
// The Pong goes to the packet's source address even when unproven: that is
// how endpoint proofs start. It is about as large as a Ping, and Pings from
// unproven endpoints are rate-limited per IP, so spoofed Pings cannot turn
// us into an amplifier; the big replies (Neighbors, ENRResponse) need a
// proof.
func (t *UDPv4) handlePing(rs *readState, from netip.AddrPort, fromID enode.ID, fromKey v4wire.Pubkey, hash [v4wire.HashSize]byte, req *v4wire.Ping, now time.Time) error {
	if v4wire.Expired(req.Expiration, now) {
		return errExpired
	}
	key, err := v4wire.DecodePubkey(fromKey)
	if err != nil {
		return err
	}
	ip := from.Addr()
	proven := t.bonded(fromID, ip, now)
	if !proven && !rs.pings.allow(ip, now) {
		return errRateLimited
	}
	t.send(from, &v4wire.Pong{
		To:         v4wire.NewEndpoint(from, req.From.TCP),
		ReplyTok:   hash[:],
		Expiration: t.expiration(),
		ENRSeq:     t.ln.Node().Seq(),
	})
	// Wake an ensureBond waiting for this node to complete its proof; our
	// Pong is on its way.
	t.handleReply(fromID, ip, req)
	t.db.UpdateLastPingReceived(fromID, ip, now)

	n := enode.NewV4(key, ip, int(req.From.TCP), int(from.Port()))
	if proven {
		t.tab.addInboundNode(n, false)
		// Only proven nodes may tell us our endpoint: anyone can send a
		// Ping with any To.
		t.ln.UDPEndpointStatement(from, req.To.UDPAddr())
	} else {
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			if t.wait(t.ctx, t.sendPing(fromID, from)) == nil {
				t.tab.addInboundNode(n, true)
			}
		}()
	}
	if req.ENRSeq > 0 {
		t.tab.seqHint(fromID, req.ENRSeq)
	}
	return nil
}

func (t *UDPv4) handlePong(from netip.AddrPort, fromID enode.ID, req *v4wire.Pong, now time.Time) error {
	if v4wire.Expired(req.Expiration, now) {
		return errExpired
	}
	if !t.handleReply(fromID, from.Addr(), req) {
		return errUnsolicited
	}
	t.ln.UDPEndpointStatement(from, req.To.UDPAddr())
	t.db.UpdateLastPongReceived(fromID, from.Addr(), now)
	return nil
}

// handleFindNode answers with the closest nodes of the table, in Neighbors
// packets of at most v4wire.MaxNeighbors nodes (discv4.md "FindNode
// Packet"). Only proven endpoints are answered: Neighbors are ten times the
// size of a FindNode, and a spoofed source would make us flood a victim.
// Nodes the requester may not relay (loopback or LAN addresses for a
// requester outside) are left out.
func (t *UDPv4) handleFindNode(from netip.AddrPort, fromID enode.ID, req *v4wire.FindNode, now time.Time) error {
	if v4wire.Expired(req.Expiration, now) {
		return errExpired
	}
	if !t.bonded(fromID, from.Addr(), now) {
		return errUnknownNode
	}
	closest := t.tab.closest(req.Target.ID(), bucketSize, true)
	resp := v4wire.Neighbors{Expiration: t.expiration()}
	sent := false
	for _, n := range closest {
		if netutil.CheckRelayAddr(from.Addr(), n.IPAddr()) != nil {
			continue
		}
		resp.Nodes = append(resp.Nodes, nodeToWire(n))
		if len(resp.Nodes) == v4wire.MaxNeighbors {
			t.send(from, &resp)
			resp.Nodes = resp.Nodes[:0]
			sent = true
		}
	}
	if len(resp.Nodes) > 0 || !sent {
		t.send(from, &resp)
	}
	return nil
}

func (t *UDPv4) handleNeighbors(from netip.AddrPort, fromID enode.ID, req *v4wire.Neighbors, now time.Time) error {
	if v4wire.Expired(req.Expiration, now) {
		return errExpired
	}
	if !t.handleReply(fromID, from.Addr(), req) {
		return errUnsolicited
	}
	return nil
}

// handleENRRequest answers with the local record (EIP-868), to proven
// endpoints only: the response is several times the size of the request.
func (t *UDPv4) handleENRRequest(from netip.AddrPort, fromID enode.ID, hash [v4wire.HashSize]byte, req *v4wire.ENRRequest, now time.Time) error {
	if v4wire.Expired(req.Expiration, now) {
		return errExpired
	}
	if !t.bonded(fromID, from.Addr(), now) {
		return errUnknownNode
	}
	t.send(from, &v4wire.ENRResponse{ReplyTok: hash[:], Record: *t.ln.Node().Record()})
	return nil
}

func (t *UDPv4) handleENRResponse(from netip.AddrPort, fromID enode.ID, req *v4wire.ENRResponse) error {
	if !t.handleReply(fromID, from.Addr(), req) {
		return errUnsolicited
	}
	return nil
}

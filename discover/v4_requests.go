package discover

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/trellis-p2p/trellis/discover/v4wire"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/netutil"
)

// sendPing sends a Ping to the node and returns the request waiting for the
// Pong that carries the Ping's hash.
func (t *UDPv4) sendPing(id enode.ID, addr netip.AddrPort) *pendingReq {
	req := &v4wire.Ping{
		Version:    v4wire.Version,
		From:       t.ourEndpoint(),
		To:         v4wire.NewEndpoint(addr, 0),
		Expiration: t.expiration(),
		ENRSeq:     t.ln.Node().Seq(),
	}
	packet, hash, err := t.codec.encode(req)
	if err != nil {
		return failedReq(err)
	}
	p := t.pending(id, addr.Addr(), v4wire.PongPacket, func(r v4wire.Packet) (bool, bool) {
		ok := bytes.Equal(r.(*v4wire.Pong).ReplyTok, hash[:])
		return ok, ok
	})
	t.write(addr, req.Name(), packet)
	return p
}

// ourEndpoint is the From of our pings: the endpoint of the local record,
// empty while we do not know our address. Recipients use the packet's
// source address instead anyway.
func (t *UDPv4) ourEndpoint() v4wire.Endpoint {
	n := t.ln.Node()
	addr, ok := n.UDPEndpoint()
	if !ok {
		return v4wire.Endpoint{}
	}
	return v4wire.NewEndpoint(addr, uint16(n.TCP()))
}

// ensureBond makes sure n will answer our queries (discv4.md "Endpoint
// Proof", "Known Issues": "If no communication with the recipient has
// occurred within the last 12h, initiate the procedure by sending a ping.
// Wait for a ping from the other side, reply to it and then send
// FindNode."). A node that keeps failing our findnode requests may have
// forgotten us, so it is pinged again too. Failures are not errors here:
// the query that follows finds out.
//
// A node that answered one of our queries lately holds our proof as surely
// as one that pinged us, so that counts too. Without it, a node that had
// our pong before we first asked it never pings us, and every query to it
// would start with a ping and a wait.
func (t *UDPv4) ensureBond(ctx context.Context, id enode.ID, addr netip.AddrPort) {
	ip := addr.Addr()
	now := t.now()
	recent := now.Sub(t.db.LastPingReceived(id, ip)) <= bondAssumed || now.Sub(t.lastAnswer(id, ip)) <= bondAssumed
	if recent && t.db.FindFails(id, ip) <= maxFindnodeFailures {
		return
	}
	// Their ping can arrive before their pong, so wait for it from now.
	theirPing := t.pending(id, ip, v4wire.PingPacket, func(v4wire.Packet) (bool, bool) { return true, true })
	if err := t.wait(ctx, t.sendPing(id, addr)); err != nil {
		return
	}
	// A node that had our pong on file pings nothing back; the wait then
	// ends with the request's timeout.
	t.wait(ctx, theirPing)
}

// findnode asks n for the nodes closest to target and waits until it has
// sent bucketSize of them or stops sending.
func (t *UDPv4) findnode(ctx context.Context, n *enode.Node, target v4wire.Pubkey) ([]*enode.Node, error) {
	addr, ok := n.UDPEndpoint()
	if !ok {
		return nil, ErrNoUDPEndpoint
	}
	t.ensureBond(ctx, n.ID(), addr)

	// The match function runs on the pending loop: it only collects, and
	// the nodes are checked here afterwards. The request completes once
	// bucketSize entries have come, and keeps no more than that, which
	// bounds what a node flooding us with Neighbors can make us hold; later
	// packets are unsolicited.
	received := make([]v4wire.Node, 0, bucketSize)
	p := t.pending(n.ID(), addr.Addr(), v4wire.NeighborsPacket, func(r v4wire.Packet) (bool, bool) {
		nodes := r.(*v4wire.Neighbors).Nodes
		received = append(received, nodes[:min(len(nodes), bucketSize-len(received))]...)
		return true, len(received) >= bucketSize
	})
	t.send(addr, &v4wire.FindNode{Target: target, Expiration: t.expiration()})
	err := t.wait(ctx, p)
	if ctx.Err() != nil {
		return nil, ctx.Err() // the match function may still be running
	}
	nodes := make([]*enode.Node, 0, len(received))
	for _, rn := range received {
		n, err := t.nodeFromWire(addr, rn)
		if err != nil {
			t.log.Debug("Invalid node in Neighbors", "addr", addr, "ip", rn.IP, "port", rn.UDP, "err", err)
			continue
		}
		nodes = append(nodes, n)
	}
	t.recordFindnode(n.ID(), addr.Addr(), len(nodes) > 0)
	if p.replied {
		t.recordAnswer(n.ID(), addr.Addr())
	}
	return nodes, err
}

// recordAnswer notes that the node answered a query of ours.
func (t *UDPv4) recordAnswer(id enode.ID, ip netip.Addr) {
	now := t.now()
	t.answered.Lock()
	defer t.answered.Unlock()
	if t.answered.m == nil {
		t.answered.m = make(map[enode.ID]answeredAt)
	}
	if _, ok := t.answered.m[id]; !ok && len(t.answered.m) >= maxAnswered {
		// Forget the stale, then an eighth of the rest, so that this
		// scan runs at most once per maxAnswered/8 new nodes.
		for k, a := range t.answered.m {
			if now.Sub(a.t) > bondAssumed || len(t.answered.m) >= maxAnswered-maxAnswered/8 {
				delete(t.answered.m, k)
			}
		}
	}
	t.answered.m[id] = answeredAt{ip, now}
}

// lastAnswer returns when the node last answered a query of ours from ip,
// the zero time if it is not remembered.
func (t *UDPv4) lastAnswer(id enode.ID, ip netip.Addr) time.Time {
	t.answered.Lock()
	defer t.answered.Unlock()
	if a, ok := t.answered.m[id]; ok && a.ip == ip {
		return a.t
	}
	return time.Time{}
}

// recordFindnode counts consecutive findnode requests without result in the
// node database, for ensureBond.
func (t *UDPv4) recordFindnode(id enode.ID, ip netip.Addr, success bool) {
	fails := t.db.FindFails(id, ip)
	switch {
	case success && fails > 0:
		t.db.UpdateFindFails(id, ip, 0)
	case !success:
		t.db.UpdateFindFails(id, ip, fails+1)
	}
}

// requestENR implements transport and RequestENR.
func (t *UDPv4) requestENR(ctx context.Context, n *enode.Node) (*enode.Node, error) {
	addr, ok := n.UDPEndpoint()
	if !ok {
		return nil, ErrNoUDPEndpoint
	}
	t.ensureBond(ctx, n.ID(), addr)

	req := &v4wire.ENRRequest{Expiration: t.expiration()}
	packet, hash, err := t.codec.encode(req)
	if err != nil {
		return nil, err
	}
	p := t.pending(n.ID(), addr.Addr(), v4wire.ENRResponsePacket, func(r v4wire.Packet) (bool, bool) {
		ok := bytes.Equal(r.(*v4wire.ENRResponse).ReplyTok, hash[:])
		return ok, ok
	})
	t.write(addr, req.Name(), packet)
	if err := t.wait(ctx, p); err != nil {
		return nil, err
	}
	t.recordAnswer(n.ID(), addr.Addr())
	rec := p.reply.(*v4wire.ENRResponse).Record
	rn, err := enode.NewWithSchemes(t.cfg.ValidSchemes, &rec)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	if rn.ID() != n.ID() {
		return nil, fmt.Errorf("%w: ID %v, want %v", ErrInvalidRecord, rn.ID(), n.ID())
	}
	if rn.Seq() < n.Seq() {
		return n, nil
	}
	if err := netutil.CheckRelayAddr(addr.Addr(), rn.IPAddr()); err != nil {
		return nil, fmt.Errorf("%w: IP %v: %w", ErrInvalidRecord, rn.IPAddr(), err)
	}
	return rn, nil
}

// nodeFromWire checks a Neighbors entry received from sender and converts
// it. Entries are refused if their UDP port is 1024 or lower (as in
// go-ethereum: no discovery node listens there, and such ports would let
// the network be used to send packets to well-known services), if the
// sender may not relay their address (netutil.CheckRelayAddr: no loopback
// or LAN addresses from outside), if NetRestrict excludes them, or if the
// key is not a curve point.
func (t *UDPv4) nodeFromWire(sender netip.AddrPort, rn v4wire.Node) (*enode.Node, error) {
	if rn.UDP <= 1024 {
		return nil, errLowPort
	}
	if err := netutil.CheckRelayAddr(sender.Addr(), rn.IP); err != nil {
		return nil, err
	}
	if t.cfg.NetRestrict != nil && !t.cfg.NetRestrict.Contains(rn.IP) {
		return nil, errRestricted
	}
	key, err := v4wire.DecodePubkey(rn.ID)
	if err != nil {
		return nil, err
	}
	// The checks above leave a valid IP, a UDP port and a key on the curve:
	// all that ValidateComplete would check, at the cost of decompressing
	// the key again.
	return enode.NewV4(key, rn.IP, int(rn.TCP), int(rn.UDP)), nil
}

// nodeToWire converts a table node for a Neighbors packet.
func nodeToWire(n *enode.Node) v4wire.Node {
	w := v4wire.Node{IP: n.IPAddr(), UDP: uint16(n.UDP()), TCP: uint16(n.TCP())}
	if k := n.Pubkey(); k != nil {
		w.ID = v4wire.EncodePubkey(k)
	}
	return w
}

// send encodes and sends a packet that expects no reply.
func (t *UDPv4) send(addr netip.AddrPort, p v4wire.Packet) {
	packet, _, err := t.codec.encode(p)
	if err != nil {
		t.log.Warn("Can't encode packet", "packet", p.Name(), "err", err)
		return
	}
	t.write(addr, p.Name(), packet)
}

func (t *UDPv4) write(addr netip.AddrPort, name string, packet []byte) {
	t.stats.out(name, len(packet))
	if _, err := t.conn.WriteToUDPAddrPort(packet, addr); err != nil && t.ctx.Err() == nil {
		t.log.Debug("UDP write failed", "addr", addr, "err", err)
	}
}

package discover

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/netutil"
)

// Reasons for dropping records of a NODES answer.
var (
	errWrongDistance = errors.New("record not at a requested distance")
	errDuplicate     = errors.New("duplicate record")
)

// handlePing answers with PONG, which tells the sender its endpoint as we
// see it (discv5-wire.md "PONG Response"). A higher enr-seq than the
// record in our table makes the table fetch the new record.
func (d *v5dispatch) handlePing(id enode.ID, from netip.AddrPort, p *v5wire.Ping) error {
	pong := &v5wire.Pong{ReqID: p.ReqID, ENRSeq: d.t.ln.Node().Seq(), ToIP: from.Addr(), ToPort: from.Port()}
	if _, err := d.send(id, from, pong, nil); err != nil {
		return err
	}
	if p.ENRSeq > 0 {
		d.t.tab.seqHint(id, p.ENRSeq)
	}
	return nil
}

// handleFindnode answers with the records at the requested distances
// (discv5-wire.md "FINDNODE Request"): distance 0 is our own record. Every
// distinct distance up to 256 is served, in the order asked, as go-ethereum
// does and its conformance suite expects (its FindnodeResults test asks for
// up to five); distances above 256 are ignored. The datagram size bounds
// how many a request can carry. At most findnodeResultLimit records go out,
// split into NODES
// messages by v5wire.SplitNodes. Records the requester may not relay
// (loopback or LAN addresses for a requester outside) are left out.
//
// The request arrived in a session, so the requester has proven its
// endpoint in the handshake: no amplification towards a spoofed address.
func (d *v5dispatch) handleFindnode(id enode.ID, from netip.AddrPort, p *v5wire.Findnode) error {
	var records []*enr.Record
	var served [257]bool
	for _, dist := range p.Distances {
		if len(records) >= findnodeResultLimit {
			break
		}
		if dist > 256 || served[dist] {
			continue
		}
		served[dist] = true
		if dist == 0 {
			records = append(records, d.t.ln.Node().Record())
			continue
		}
		for _, n := range d.t.tab.nodesAtDistance(int(dist), true) {
			if len(records) >= findnodeResultLimit {
				break
			}
			if netutil.CheckRelayAddr(from.Addr(), n.IPAddr()) != nil {
				continue
			}
			records = append(records, n.Record())
		}
	}
	msgs, err := v5wire.SplitNodes(p.ReqID, records)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if _, err := d.send(id, from, m, nil); err != nil {
			return err
		}
	}
	return nil
}

// Findnode asks n for the records at the given log distances from its ID
// (discv5-wire.md "FINDNODE Request"; distance 0 asks for n's own record)
// and waits for every NODES packet of the answer, up to maxNodesResponses.
// Records are kept only if they verify under Config.ValidSchemes, lie at
// one of the distances asked, have a UDP port above 1024 and an address n
// may relay and NetRestrict allows, and are not duplicates; the rest are
// dropped (and logged at debug level). Lookups ask for at most
// v5wire.MaxFindnodeDistances distances; more is allowed. On timeout, the
// records that did arrive are returned with ErrTimeout.
func (t *UDPv5) Findnode(ctx context.Context, n *enode.Node, distances []uint) ([]*enode.Node, error) {
	resp, err := t.call(ctx, n, &v5wire.Findnode{Distances: slices.Clone(distances)}, v5wire.NodesMsg)
	addr, _ := n.UDPEndpoint()
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	var nodes []*enode.Node
	seen := make(map[enode.ID]bool)
	for _, p := range resp {
		for _, r := range p.(*v5wire.Nodes).Records {
			rn, rerr := t.checkNodesRecord(n.ID(), addr.Addr(), r, distances, seen)
			if rerr != nil {
				t.stats.drop()
				t.log.Debug("Invalid record in NODES", "from", n.ID(), "addr", addr, "err", rerr)
				continue
			}
			nodes = append(nodes, rn)
		}
	}
	return nodes, err
}

// checkNodesRecord checks a record that sender at ip returned for the
// given distances.
func (t *UDPv5) checkNodesRecord(sender enode.ID, ip netip.Addr, r *enr.Record, distances []uint, seen map[enode.ID]bool) (*enode.Node, error) {
	n, err := t.records.node(t.cfg.ValidSchemes, r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	if !slices.Contains(distances, uint(enode.LogDist(sender, n.ID()))) {
		return nil, errWrongDistance
	}
	if seen[n.ID()] {
		return nil, errDuplicate
	}
	seen[n.ID()] = true
	addr, ok := n.UDPEndpoint()
	if !ok {
		return nil, ErrNoUDPEndpoint
	}
	if addr.Port() <= 1024 {
		return nil, errLowPort
	}
	if err := netutil.CheckRelayAddr(ip, addr.Addr()); err != nil {
		return nil, err
	}
	if t.cfg.NetRestrict != nil && !t.cfg.NetRestrict.Contains(addr.Addr()) {
		return nil, errRestricted
	}
	return n, nil
}

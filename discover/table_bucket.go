package discover

import (
	"net/netip"
	"slices"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/netutil"
)

// addKind says where a node added to the table comes from, which decides
// how far it is trusted.
type addKind int

const (
	// addFound: another node told us about it (Neighbors, seeds, bootnodes).
	// It may be stale or made up; only a newer record updates an entry.
	addFound addKind = iota
	// addInbound: the node contacted us itself, from its endpoint. Refused
	// until the first refresh is done, so that a flood of pings cannot fill
	// a table that has nothing else yet.
	addInbound
	// addVerified: like addInbound, and it has also answered our ping at
	// that endpoint, so it enters as live.
	addVerified
)

// add puts n into its bucket if there is room, else into the replacement
// list. A node already in the bucket gets its record updated. Runs on the
// loop.
func (tab *table) add(n *enode.Node, how addKind) {
	if n.ID() == tab.selfID || !tab.acceptable(n) {
		return
	}
	if how != addFound && !tab.initialized() {
		return
	}
	b := tab.bucket(n.ID())
	if e := b.find(n.ID()); e != nil {
		tab.updateRecord(b, e, n, how != addFound)
		if how == addVerified && sameEndpoint(e.Node, n) && !e.live {
			e.live = true
			e.checks++
		}
		return
	}
	if len(b.entries) >= bucketSize {
		tab.addReplacement(b, n)
		return
	}
	// A replacement moving up keeps its IP slot.
	if i := slices.IndexFunc(b.replacements, func(r *tableNode) bool { return r.ID() == n.ID() }); i >= 0 {
		tab.removeIP(b, b.replacements[i].IPAddr())
		b.replacements = slices.Delete(b.replacements, i, i+1)
	}
	if !tab.addIP(b, n.IPAddr()) {
		return
	}
	now := tab.cfg.Clock.Now()
	e := &tableNode{Node: n, addedToTable: now, addedToBucket: now}
	if how == addVerified {
		e.live, e.checks = true, 1
	}
	b.entries = append(b.entries, e)
	tab.entryAdded(b, e)
}

// acceptable reports whether n can be contacted and is allowed by
// NetRestrict.
func (tab *table) acceptable(n *enode.Node) bool {
	addr, ok := n.UDPEndpoint()
	if !ok {
		return false
	}
	return tab.cfg.NetRestrict == nil || tab.cfg.NetRestrict.Contains(addr.Addr())
}

func (tab *table) initialized() bool {
	select {
	case <-tab.initDone:
		return true
	default:
		return false
	}
}

func (tab *table) entryAdded(b *bucket, e *tableNode) {
	if e.live {
		tab.reval.slow.push(e, tab.cfg.Clock.Now(), tab.rand)
	} else {
		tab.reval.fast.push(e, tab.cfg.Clock.Now(), tab.rand)
	}
	tab.log.Debug("Node added to table", "b", b.index, "id", e.ID(), "addr", endpointOf(e.Node), "live", e.live)
	tab.notifySizeWaiters()
}

// addReplacement puts n at the front of b's replacement list.
func (tab *table) addReplacement(b *bucket, n *enode.Node) {
	if containsID(b.replacements, n.ID()) {
		return
	}
	if !tab.addIP(b, n.IPAddr()) {
		return
	}
	r := &tableNode{Node: n, addedToTable: tab.cfg.Clock.Now()}
	b.replacements = slices.Insert(b.replacements, 0, r)
	if len(b.replacements) > maxReplacements {
		last := b.replacements[maxReplacements]
		tab.removeIP(b, last.IPAddr())
		b.replacements = b.replacements[:maxReplacements]
	}
}

// deleteEntry removes e from its bucket and promotes a random replacement.
func (tab *table) deleteEntry(b *bucket, e *tableNode) {
	i := slices.Index(b.entries, e)
	if i < 0 {
		return
	}
	b.entries = slices.Delete(b.entries, i, i+1)
	tab.removeIP(b, e.IPAddr())
	if e.revalList != nil {
		e.revalList.remove(e)
	}
	if len(b.replacements) == 0 {
		tab.log.Debug("Removed dead node", "b", b.index, "id", e.ID())
		return
	}
	ri := tab.rand.IntN(len(b.replacements))
	r := b.replacements[ri]
	b.replacements = slices.Delete(b.replacements, ri, ri+1)
	r.addedToBucket = tab.cfg.Clock.Now()
	b.entries = append(b.entries, r)
	tab.log.Debug("Replaced dead node", "b", b.index, "id", e.ID(), "r", r.ID())
	tab.entryAdded(b, r)
}

// updateRecord replaces e's record with n if n is newer. fromNode says that
// n comes from the node itself (it pinged us from that endpoint, or sent
// the record): then a changed endpoint is believed even without a newer
// record, as an inbound contact proves where the node is now. A third party
// cannot move a node without a newer record. A changed endpoint must be
// proven again, so the entry loses its live status until revalidated.
func (tab *table) updateRecord(b *bucket, e *tableNode, n *enode.Node, fromNode bool) {
	if sameEndpoint(e.Node, n) {
		if n.Seq() > e.Seq() {
			e.Node = n
		}
		return
	}
	if !fromNode && n.Seq() <= e.Seq() {
		return
	}
	if n.IPAddr() != e.IPAddr() {
		tab.removeIP(b, e.IPAddr())
		if !tab.addIP(b, n.IPAddr()) {
			tab.addIP(b, e.IPAddr())
			return
		}
	}
	tab.log.Debug("Node endpoint changed", "id", e.ID(), "old", endpointOf(e.Node), "new", endpointOf(n))
	e.Node = n
	e.live = false
	tab.reval.moveTo(&tab.reval.fast, e, tab.cfg.Clock.Now(), tab.rand)
}

func (tab *table) addIP(b *bucket, ip netip.Addr) bool {
	if !ip.IsValid() || ip.IsUnspecified() {
		return false
	}
	if netutil.IsLAN(ip) {
		return true
	}
	if !tab.ips.Add(ip) {
		tab.log.Debug("IP exceeds table limit", "ip", ip)
		return false
	}
	if !b.ips.Add(ip) {
		tab.log.Debug("IP exceeds bucket limit", "ip", ip, "b", b.index)
		tab.ips.Remove(ip)
		return false
	}
	return true
}

func (tab *table) removeIP(b *bucket, ip netip.Addr) {
	if !ip.IsValid() || netutil.IsLAN(ip) {
		return
	}
	tab.ips.Remove(ip)
	b.ips.Remove(ip)
}

func sameEndpoint(a, b *enode.Node) bool {
	return a.IPAddr() == b.IPAddr() && a.UDP() == b.UDP()
}

func endpointOf(n *enode.Node) string {
	addr, _ := n.UDPEndpoint()
	return addr.String()
}

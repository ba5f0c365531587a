package enode

import (
	"bytes"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enr"
)

// SeqStore persists the local record's sequence number, so that a restarted
// node keeps publishing records with increasing numbers (enr.md: nodes
// should increase seq whenever the record changes). The node database
// implements it; enode does not depend on the database package.
//
// LocalNode calls both methods with its lock held: implementations must not
// call back into the LocalNode.
type SeqStore interface {
	// LocalSeq returns the stored sequence number for id, 0 if none.
	LocalSeq(id ID) uint64
	// StoreLocalSeq records the sequence number of a newly signed record.
	StoreLocalSeq(id ID, seq uint64)
}

// LocalNode builds the record of the node running in this process. Entries
// are set by the components that own them (p2p server: tcp; discovery: udp,
// endpoint statements; protocols: their own keys). The record is signed
// lazily: the first call to Node after a change signs a new version with the
// sequence number incremented once, however many changes came before.
//
// LocalNode is safe for concurrent use. Its state is guarded by mu; the
// latest signed node is published through cur so that Node does not lock
// while nothing changes.
type LocalNode struct {
	id  ID
	key *crypto.PrivateKey
	db  SeqStore             // nil: sequence numbers start from the clock
	cur atomic.Pointer[Node] // signed node for the current content; nil after a change

	mu struct {
		sync.Mutex
		seq       uint64     // of the last signed record
		rec       enr.Record // unsigned current content
		signed    *Node      // last signed node, reused if rec comes back to its content
		endpoint4 lnEndpoint
		endpoint6 lnEndpoint
	}
}

// lnEndpoint is what decides one address family's ip and udp entries.
// Precedence: static IP, then the predicted endpoint, then the fallbacks.
type lnEndpoint struct {
	track       ipTracker
	staticIP    netip.Addr
	fallbackIP  netip.Addr
	fallbackUDP uint16
}

// NewLocalNode creates the local node for key. The initial sequence number
// comes from db; with db nil, or nothing stored, it is the current Unix
// time in milliseconds, so that a node restarted without its database still
// publishes higher numbers than before (as long as it did not change its
// record more than once per millisecond on average).
func NewLocalNode(db SeqStore, key *crypto.PrivateKey) *LocalNode {
	ln := &LocalNode{
		id:  PubkeyToIDV4(key.PubKey()),
		key: key,
		db:  db,
	}
	var seq uint64
	if db != nil {
		seq = db.LocalSeq(ln.id)
	}
	if seq == 0 {
		seq = uint64(time.Now().UnixMilli())
	}
	ln.mu.seq = seq
	// SignV4 adds these; having them from the start lets sameContent compare
	// the content with a signed record.
	ln.mu.rec.Set(enr.IDv4)
	ln.mu.rec.Set(enr.Secp256k1(*key.PubKey()))
	return ln
}

// ID returns the local node ID.
func (ln *LocalNode) ID() ID { return ln.id }

// Seq returns the sequence number of the last signed record (the initial
// number before the first call to Node).
func (ln *LocalNode) Seq() uint64 {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	return ln.mu.seq
}

// Node returns the current signed node, signing a new version of the record
// if anything changed since the last call. It panics if the entries do not
// fit in enr.SizeLimit once signed: the set of entries is chosen by the
// program, not by the network, so that is a programming error.
func (ln *LocalNode) Node() *Node {
	if n := ln.cur.Load(); n != nil {
		return n
	}
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if n := ln.cur.Load(); n != nil {
		return n // signed by another caller while we waited
	}
	if last := ln.mu.signed; last != nil && sameContent(&last.r, &ln.mu.rec) {
		// Changes since the last signing cancelled out.
		ln.cur.Store(last)
		return last
	}
	r := ln.mu.rec
	r.SetSeq(ln.mu.seq + 1)
	if err := enr.SignV4(&r, ln.key); err != nil {
		panic(fmt.Sprintf("enode: can't sign local record (keys %q): %v", r.Keys(), err))
	}
	ln.mu.seq++
	if ln.db != nil {
		ln.db.StoreLocalSeq(ln.id, ln.mu.seq)
	}
	n := newNode(&r, ln.id, ln.key.PubKey())
	ln.mu.signed = n
	ln.cur.Store(n)
	return n
}

// sameContent reports whether two records hold the same key/value pairs.
func sameContent(a, b *enr.Record) bool {
	if a.Len() != b.Len() {
		return false
	}
	for _, k := range a.Keys() {
		va, _ := a.RawValue(k)
		vb, ok := b.RawValue(k)
		if !ok || !bytes.Equal(va, vb) {
			return false
		}
	}
	return true
}

// Set puts e into the record, replacing any entry with its key. Setting an
// entry to the value it already has is not a change. The ip, ip6, udp and
// udp6 entries are managed by the endpoint methods (SetStaticIP,
// SetFallbackIP, SetFallbackUDP, UDPEndpointStatement) and get overwritten
// by them. Set panics if e cannot be encoded (see enr.Record.Set).
func (ln *LocalNode) Set(e enr.Entry) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.setLocked(e)
}

func (ln *LocalNode) setLocked(e enr.Entry) {
	old, had := ln.mu.rec.RawValue(e.ENRKey())
	ln.mu.rec.Set(e)
	if v, _ := ln.mu.rec.RawValue(e.ENRKey()); !had || !bytes.Equal(old, v) {
		ln.cur.Store(nil)
	}
}

// Delete removes the entry with e's key.
func (ln *LocalNode) Delete(e enr.Entry) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.deleteLocked(e.ENRKey())
}

func (ln *LocalNode) deleteLocked(key string) {
	if ln.mu.rec.Has(key) {
		ln.mu.rec.Delete(key)
		ln.cur.Store(nil)
	}
}

func (ln *LocalNode) endpointLocked(ip netip.Addr) *lnEndpoint {
	if ip.Is4() || ip.Is4In6() {
		return &ln.mu.endpoint4
	}
	return &ln.mu.endpoint6
}

// SetStaticIP publishes ip unconditionally for its address family, which
// disables endpoint prediction of the IP (the predicted port is not used
// either; set it with SetFallbackUDP). An invalid ip is ignored.
func (ln *LocalNode) SetStaticIP(ip netip.Addr) {
	if !ip.IsValid() {
		return
	}
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.endpointLocked(ip).staticIP = ip.Unmap().WithZone("")
	ln.updateEndpointsLocked(time.Now())
}

// SetFallbackIP sets the IP published for its address family while there is
// no static IP and no prediction. An invalid ip is ignored.
func (ln *LocalNode) SetFallbackIP(ip netip.Addr) {
	if !ip.IsValid() {
		return
	}
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.endpointLocked(ip).fallbackIP = ip.Unmap().WithZone("")
	ln.updateEndpointsLocked(time.Now())
}

// SetFallbackUDP sets the UDP port published (for both address families)
// while there is no prediction, usually the port discovery listens on. It
// panics if port is outside 0..65535.
func (ln *LocalNode) SetFallbackUDP(port int) {
	p := checkPort(port)
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.mu.endpoint4.fallbackUDP = p
	ln.mu.endpoint6.fallbackUDP = p
	ln.updateEndpointsLocked(time.Now())
}

// UDPEndpointStatement records that the host at fromaddr saw this node's
// packets come from endpoint. Discovery calls it for every such report
// (discv4 Pong "to", discv5 PONG recipient address); the published ip/udp
// entries follow the endpoint most recent reporters agree on (see
// ipTracker). Statements with an unusable endpoint are ignored.
func (ln *LocalNode) UDPEndpointStatement(fromaddr, endpoint netip.AddrPort) {
	ep := netip.AddrPortFrom(endpoint.Addr().Unmap().WithZone(""), endpoint.Port())
	if !fromaddr.Addr().IsValid() || !usableIP(ep.Addr()) || ep.Addr().IsUnspecified() || ep.Port() == 0 {
		return
	}
	now := time.Now()
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.endpointLocked(ep.Addr()).track.add(fromaddr.Addr().Unmap(), ep, now)
	ln.updateEndpointsLocked(now)
}

// updateEndpointsLocked writes the ip, ip6, udp and udp6 entries from the
// endpoint state. udp6 is only published with an ip6 and when it differs
// from udp (enr.md: udp applies to both addresses otherwise).
func (ln *LocalNode) updateEndpointsLocked(now time.Time) {
	ip4, udp4 := ln.mu.endpoint4.get(now)
	ip6, udp6 := ln.mu.endpoint6.get(now)
	if ip4.IsValid() && !ip4.IsUnspecified() {
		ln.setLocked(enr.IPv4(ip4))
	} else {
		ln.deleteLocked(enr.IPv4{}.ENRKey())
	}
	has6 := ip6.IsValid() && !ip6.IsUnspecified()
	if has6 {
		ln.setLocked(enr.IPv6(ip6))
	} else {
		ln.deleteLocked(enr.IPv6{}.ENRKey())
	}
	if udp4 != 0 {
		ln.setLocked(enr.UDP(udp4))
	} else {
		ln.deleteLocked(enr.UDP(0).ENRKey())
	}
	if has6 && udp6 != 0 && udp6 != udp4 {
		ln.setLocked(enr.UDP6(udp6))
	} else {
		ln.deleteLocked(enr.UDP6(0).ENRKey())
	}
}

// get returns the IP and UDP port to publish.
func (e *lnEndpoint) get(now time.Time) (netip.Addr, uint16) {
	ip, port := e.fallbackIP, e.fallbackUDP
	if e.staticIP.IsValid() {
		return e.staticIP, port
	}
	if p := e.track.predict(now); p.IsValid() {
		return p.Addr(), p.Port()
	}
	return ip, port
}

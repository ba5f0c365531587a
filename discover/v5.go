package discover

import (
	"context"
	"crypto/rand"
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enode"
)

// Deviations from the API contract (briefs/v5api.md): none in the
// signatures. Additions: ErrTooManyChallenges, ErrInvalidResponse and
// ErrTalkBusy; Stats counts a handshake packet under "HANDSHAKE/v5" and
// the message inside it under its own name as well, and the packet that
// opens a handshake (random content, no session yet) under "RANDOM/v5".

// Protocol timing and limits of discv5 (devp2p discv5/discv5-wire.md,
// discv5-theory.md). Every count a remote controls is bounded here or in
// v5wire.
const (
	// respTimeoutV5 is how long a request waits for the next packet of its
	// answer. discv5-wire.md "UDP Communication" suggests 500ms for a
	// request and 1s for a handshake; go-ethereum waits 700ms, and so do we,
	// restarting the wait when the request is re-sent in a handshake and
	// on every NODES packet of a multi-packet answer.
	respTimeoutV5 = 700 * time.Millisecond

	// maxNodesResponses caps the NODES packets one FINDNODE answer may span
	// (the total field, discv5-wire.md "NODES Response"): an honest node
	// answers with at most findnodeResultLimit records, which fit in far
	// fewer. Packets beyond the cap are unsolicited. go-ethereum uses 5.
	maxNodesResponses = 5
	// maxNodesRecords caps the records taken from one FINDNODE answer:
	// bucketSize per distance asked (v5wire.MaxFindnodeDistances). Records
	// beyond it are dropped unread.
	maxNodesRecords = bucketSize * v5wire.MaxFindnodeDistances
	// findnodeResultLimit is how many records we serve per FINDNODE, over
	// all its distances, as go-ethereum does: a lookup uses no more.
	findnodeResultLimit = bucketSize

	// maxQueuedCalls bounds the requests queued behind the active one to a
	// node: discv5-theory.md asks for one request in flight per node.
	maxQueuedCalls = 32

	// maxTalkHandlers bounds the TALKREQ handlers running at once. A
	// request arriving when all are busy is dropped without answer.
	maxTalkHandlers = 64

	// WHOAREYOU challenges sent (discv5-theory.md "Handshake Steps"), per
	// source IP and in total. A challenge costs little to send, but a flood
	// of packets from spoofed node IDs would otherwise fill the challenge
	// cache and make us send as many packets as we receive. Loopback is
	// exempt from the per-IP limit, as in ratelimit.go.
	whoareyouRate, whoareyouBurst           = 10, 20
	whoareyouTotalRate, whoareyouTotalBurst = 500, 1000
	handshakeRate, handshakeBurst           = 10, 20 // handshakes processed per IP: each costs ECDH and a signature check
	sessionCacheSize                        = v5wire.DefaultSessionCacheSize
	v5PacketRate, v5PacketBurst             = packetRate, packetBurst
	v5ReadQueue                             = 256 // datagrams between read loop and dispatch loop
	sharedUnhandledQueue                    = 256 // datagrams from the v4 read loop to v5 on a shared socket
)

// Errors of discv5 requests besides ErrClosed, ErrTimeout, ErrNoUDPEndpoint,
// ErrTooManyPending and ErrInvalidRecord.
var (
	// ErrTooManyChallenges: the node answered a request with WHOAREYOU
	// again after our handshake.
	ErrTooManyChallenges = errors.New("discover: repeated WHOAREYOU for one request")
	// ErrInvalidResponse: the answer does not fit the request (RequestENR
	// got no record, or several).
	ErrInvalidResponse = errors.New("discover: invalid response")
)

// UDPv5 is a Node Discovery Protocol v5.1 listener (devp2p discv5): it
// answers other nodes, keeps its own Kademlia table and walks the network.
//
// Goroutines: readLoop reads datagrams and hands them to dispatchLoop,
// which owns the codec, the sessions and challenges, the rate limiters and
// all requests in flight (see v5_calls.go); other goroutines post closures
// to it. TALKREQ handlers run on goroutines of their own (v5_talk.go), and
// the table has its loop. Requests block their caller. Close stops them all.
type UDPv5 struct {
	listener

	packetIn chan ReadPacket
	ops      chan func()

	disp    *v5dispatch // owned by dispatchLoop
	talk    talkRegistry
	records recordCache // shared by request goroutines
}

// ListenV5 starts a discv5.1 listener on c for the local node ln. Config is
// as for ListenV4; Unhandled is not used. As with ListenV4, the caller
// publishes ln's endpoint and closes c on error.
func ListenV5(c UDPConn, ln *enode.LocalNode, cfg Config) (*UDPv5, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return listenV5(c, ln, cfg, nil)
}

// listenV5 is ListenV5 with an optional codec hook: simulations pass one
// that makes the handshake cheap (sim_v5_test.go).
func listenV5(c UDPConn, ln *enode.LocalNode, cfg Config, hook func(*v5wire.Codec)) (*UDPv5, error) {
	t := &UDPv5{
		packetIn: make(chan ReadPacket, v5ReadQueue),
		ops:      make(chan func()),
	}
	t.talk.init()
	if err := t.init(t, c, ln, cfg); err != nil {
		return nil, err
	}
	t.disp = newV5Dispatch(t, hook)
	t.wg.Add(2)
	go t.dispatchLoop()
	go t.readLoop()
	t.tab.start()
	return t, nil
}

// Ping sends PING to n and waits for the PONG (discv5-wire.md "PING
// Request").
func (t *UDPv5) Ping(ctx context.Context, n *enode.Node) (*v5wire.Pong, error) {
	req := &v5wire.Ping{ENRSeq: t.ln.Node().Seq()}
	resp, err := t.call(ctx, n, req, v5wire.PongMsg)
	if err != nil {
		return nil, err
	}
	pong := resp[0].(*v5wire.Pong)
	// The PONG says where n sees us: a vote for our endpoint, which the
	// LocalNode counts per sender.
	if addr, ok := n.UDPEndpoint(); ok && pong.ToIP.IsValid() {
		t.ln.UDPEndpointStatement(addr, netip.AddrPortFrom(pong.ToIP, pong.ToPort))
	}
	return pong, nil
}

// ping implements transport.
func (t *UDPv5) ping(ctx context.Context, n *enode.Node) (uint64, error) {
	pong, err := t.Ping(ctx, n)
	if err != nil {
		return 0, err
	}
	return pong.ENRSeq, nil
}

// RequestENR asks n for its current record with FINDNODE at distance 0
// (discv5-wire.md "FINDNODE Request": "distance 0 ... the recipient's own
// ENR"). The record must be valid under Config.ValidSchemes and belong to
// n's ID; if it is older than n's, n is returned.
func (t *UDPv5) RequestENR(ctx context.Context, n *enode.Node) (*enode.Node, error) {
	nodes, err := t.Findnode(ctx, n, []uint{0})
	if err != nil && len(nodes) == 0 {
		return nil, err
	}
	if len(nodes) != 1 {
		return nil, ErrInvalidResponse
	}
	if nodes[0].Seq() < n.Seq() {
		return n, nil
	}
	return nodes[0], nil
}

func (t *UDPv5) requestENR(ctx context.Context, n *enode.Node) (*enode.Node, error) {
	return t.RequestENR(ctx, n)
}

// Resolve returns the most recent record of n it can find: by asking n, by
// asking the node the table knows under n's ID, and finally through a
// lookup for n's ID. It returns n if all fail.
func (t *UDPv5) Resolve(ctx context.Context, n *enode.Node) *enode.Node {
	if rn, err := t.RequestENR(ctx, n); err == nil {
		return rn
	}
	if tn := t.tab.node(n.ID()); tn != nil && tn.Seq() > n.Seq() {
		n = tn
		if rn, err := t.RequestENR(ctx, n); err == nil {
			return rn
		}
	}
	for _, rn := range t.Lookup(ctx, n.ID()) {
		if rn.ID() == n.ID() && rn.Seq() >= n.Seq() {
			if rn2, err := t.RequestENR(ctx, rn); err == nil {
				return rn2
			}
			return rn
		}
	}
	return n
}

// Lookup finds the nodes closest to target (discv5-theory.md "Lookup"). It
// waits for a refresh first if the table is empty.
func (t *UDPv5) Lookup(ctx context.Context, target enode.ID) []*enode.Node {
	if t.tab.len() == 0 {
		select {
		case <-t.tab.refresh():
		case <-ctx.Done():
			return nil
		}
	}
	return t.newLookup(ctx, target).run()
}

// RandomNodes returns an iterator over the nodes found by lookups of random
// targets, one after another, without end: what a dialer reads. It is
// closed by its Close or when the listener closes.
func (t *UDPv5) RandomNodes() enode.Iterator {
	return newLookupIterator(t.ctx, t.tab, t.newRandomLookup)
}

// lookupNear implements transport.
func (t *UDPv5) lookupNear(ctx context.Context, n *enode.Node) []*enode.Node {
	return t.newLookup(ctx, n.ID()).run()
}

// lookupAt implements transport: discv5 targets are IDs, so any distance
// can be aimed at directly.
func (t *UDPv5) lookupAt(ctx context.Context, d int) []*enode.Node {
	return t.newLookup(ctx, enode.RandomID(t.Self().ID(), d)).run()
}

// lookupRandom implements transport.
func (t *UDPv5) lookupRandom(ctx context.Context) []*enode.Node {
	return t.newRandomLookup(ctx).run()
}

func (t *UDPv5) newRandomLookup(ctx context.Context) *lookup {
	var target enode.ID
	rand.Read(target[:])
	return t.newLookup(ctx, target)
}

// newLookup creates a lookup for target that asks each node for the
// buckets nearest the target (lookupDistances), and the closest node
// found for the boundary bucket (lookup.askBoundary).
func (t *UDPv5) newLookup(ctx context.Context, target enode.ID) *lookup {
	l := newLookup(ctx, t.tab, target, func(ctx context.Context, n *enode.Node) ([]*enode.Node, error) {
		nodes, err := t.Findnode(ctx, n, lookupDistances(target, n.ID()))
		// Keep the bucketSize closest to the target: a node may send up
		// to three buckets' worth.
		res := nodesByDistance{target: target}
		for _, fn := range nodes {
			res.push(fn, bucketSize)
		}
		return res.entries, err
	})
	l.boundary = func(ctx context.Context, n *enode.Node, dist uint) ([]*enode.Node, error) {
		return t.Findnode(ctx, n, []uint{dist})
	}
	return l
}

// lookupDistances returns the distances a lookup asks dest for: the log
// distances of the set bits of target XOR dest, from the highest, at most
// v5wire.MaxFindnodeDistances of them.
//
// dest's bucket at the highest set bit d holds the nodes closer to target
// than dest. Its other nodes are all at log distance d from target, and
// among them the closest are those that agree with target where dest does
// not: the bucket at the next set bit below d, then the one after. A
// bucket at a bit where dest and target agree holds nodes that differ
// from target there, farther than any of those. So these distances fetch
// dest's table entries nearest the target first (discv5-theory.md
// "Lookup" leaves the choice open; go-ethereum asks d, d+1, d-1, and
// d+1 is always farther than dest itself). When the XOR has fewer set
// bits than distances allowed (a target within a few bits of dest), the
// rest are the distances just above d, then below it.
func lookupDistances(target, dest enode.ID) []uint {
	dists := make([]uint, 0, v5wire.MaxFindnodeDistances)
	for i := 0; i < len(target) && len(dists) < v5wire.MaxFindnodeDistances; i++ {
		x := target[i] ^ dest[i]
		for b := 7; b >= 0 && len(dists) < v5wire.MaxFindnodeDistances; b-- {
			if x&(1<<b) != 0 {
				dists = append(dists, uint(8*(len(target)-i-1)+b+1))
			}
		}
	}
	if len(dists) == 0 {
		return []uint{0} // dest is the target: its own record
	}
	for d := dists[0] + 1; d <= 256 && len(dists) < v5wire.MaxFindnodeDistances; d++ {
		dists = append(dists, d)
	}
	for d := dists[0] - 1; d > 0 && len(dists) < v5wire.MaxFindnodeDistances; d-- {
		if !slices.Contains(dists, d) {
			dists = append(dists, d)
		}
	}
	return dists
}

func (t *UDPv5) now() time.Time { return t.clock.Now() }

// addrString is the session key of an endpoint.
func addrString(a netip.AddrPort) string { return a.String() }

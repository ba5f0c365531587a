package discover

import (
	"context"
	"crypto/rand"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover/v4wire"
	"github.com/trellis-p2p/trellis/enode"
)

// Protocol timing (discv4.md; values as in go-ethereum).
const (
	// respTimeout is how long a request waits for its reply.
	respTimeout = 500 * time.Millisecond
	// expiration is how far in the future our packets expire: the window
	// in which a recipient accepts them despite delay and clock skew.
	expiration = 20 * time.Second
	// bondAccepted is how long a pong from a node lets it query us.
	// discv4.md says 12 hours; go-ethereum accepts 24, and most of the
	// network is go-ethereum, whose nodes expect to be answered that long.
	bondAccepted = 24 * time.Hour
	// bondAssumed is how long after a ping from a node we assume it holds
	// our pong and will answer our queries without a new endpoint proof:
	// the 12 hours of discv4.md, so that nodes following the spec to the
	// letter still answer.
	bondAssumed = 12 * time.Hour
	// maxAnswered bounds the nodes remembered as having answered a query.
	maxAnswered = 8192
	// maxPendingReplies bounds the requests waiting for replies, so that a
	// flood of pings from fresh addresses, each answered with a ping of our
	// own, cannot grow memory without bound.
	maxPendingReplies = 4096
)

// Errors returned by requests. Failures wrap one of them; test with
// errors.Is.
var (
	ErrClosed         = errors.New("discover: listener closed")
	ErrTimeout        = errors.New("discover: request timed out")
	ErrNoUDPEndpoint  = errors.New("discover: node has no UDP endpoint")
	ErrTooManyPending = errors.New("discover: too many pending requests")
	// ErrInvalidRecord: an ENR response whose record does not verify,
	// belongs to another node, or has an address its sender may not relay.
	ErrInvalidRecord = errors.New("discover: invalid record in ENR response")
)

// Reasons for dropping a received packet, logged at debug level.
var (
	errExpired     = errors.New("packet expired")
	errUnsolicited = errors.New("unsolicited reply")
	errUnknownNode = errors.New("unknown node (no endpoint proof)")
	errLowPort     = errors.New("low port")
	errRestricted  = errors.New("address not in NetRestrict")
	errRateLimited = errors.New("rate limit exceeded")
)

// codec encodes and decodes packets with the listener's identity: v4wire's
// secp256k1 signatures on a real network, its null scheme in simulations.
type codec interface {
	encode(p v4wire.Packet) ([]byte, [v4wire.HashSize]byte, error)
	decode(b []byte) (v4wire.Packet, v4wire.Pubkey, [v4wire.HashSize]byte, error)
}

type v4Codec struct{ key *crypto.PrivateKey }

func (c v4Codec) encode(p v4wire.Packet) ([]byte, [v4wire.HashSize]byte, error) {
	return v4wire.Encode(c.key, p)
}

func (v4Codec) decode(b []byte) (v4wire.Packet, v4wire.Pubkey, [v4wire.HashSize]byte, error) {
	return v4wire.Decode(b)
}

// UDPv4 is a Node Discovery Protocol v4 listener (devp2p discv4.md, EIP-8,
// EIP-868): it answers other nodes, keeps a table of the network around
// its own ID and walks the network on request.
//
// Goroutines: readLoop reads and handles packets (it owns the rate
// limiters); pendingLoop owns the requests waiting for replies; the table
// has its own loop. Requests block the calling goroutine. Close stops them
// all.
type UDPv4 struct {
	listener
	codec codec

	addPending chan *pendingReq
	gotReply   chan reply

	// answered remembers which nodes answered a query of ours lately, for
	// ensureBond. Guarded by its mutex; request goroutines share it.
	answered struct {
		sync.Mutex
		m map[enode.ID]answeredAt
	}
}

type answeredAt struct {
	ip netip.Addr
	t  time.Time
}

// ListenV4 starts a discv4 listener on c for the local node ln. It sets
// nothing in ln: publishing the UDP port and a fallback IP (SetFallbackUDP,
// SetFallbackIP) is up to the caller, as is closing c on error. The
// listener updates ln's endpoint from what other nodes report in Pong.
func ListenV4(c UDPConn, ln *enode.LocalNode, cfg Config) (*UDPv4, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return listenV4(c, ln, cfg, v4Codec{cfg.PrivateKey})
}

// listenV4 is ListenV4 with a given codec; simulations pass the null one.
func listenV4(c UDPConn, ln *enode.LocalNode, cfg Config, cd codec) (*UDPv4, error) {
	t := &UDPv4{
		codec:      cd,
		addPending: make(chan *pendingReq),
		gotReply:   make(chan reply),
	}
	if err := t.init(t, c, ln, cfg); err != nil {
		return nil, err
	}
	t.wg.Add(2)
	go t.pendingLoop()
	go t.readLoop()
	t.tab.start()
	return t, nil
}

// Ping sends a Ping to n and waits for the Pong.
func (t *UDPv4) Ping(ctx context.Context, n *enode.Node) (*v4wire.Pong, error) {
	addr, ok := n.UDPEndpoint()
	if !ok {
		return nil, ErrNoUDPEndpoint
	}
	p := t.sendPing(n.ID(), addr)
	if err := t.wait(ctx, p); err != nil {
		return nil, err
	}
	return p.reply.(*v4wire.Pong), nil
}

// ping implements transport.
func (t *UDPv4) ping(ctx context.Context, n *enode.Node) (uint64, error) {
	pong, err := t.Ping(ctx, n)
	if err != nil {
		return 0, err
	}
	return pong.ENRSeq, nil
}

// RequestENR asks n for its current record (EIP-868) and returns the node
// with it. The record must be valid under Config.ValidSchemes, belong to
// n's ID, and have an address n's endpoint may relay. If it is older than
// the record n already has, n is returned.
func (t *UDPv4) RequestENR(ctx context.Context, n *enode.Node) (*enode.Node, error) {
	return t.requestENR(ctx, n)
}

// LookupPubkey finds the nodes closest to the given public key's ID. It
// waits for a refresh first if the table is empty.
func (t *UDPv4) LookupPubkey(ctx context.Context, key *crypto.PublicKey) []*enode.Node {
	if t.tab.len() == 0 {
		select {
		case <-t.tab.refresh():
		case <-ctx.Done():
			return nil
		}
	}
	return t.newLookup(ctx, v4wire.EncodePubkey(key)).run()
}

// RandomNodes returns an iterator over the nodes found by lookups of random
// targets, one after another, without end. It is what a dialer reads. The
// iterator is closed by Close or when the listener closes.
func (t *UDPv4) RandomNodes() enode.Iterator {
	return newLookupIterator(t.ctx, t.tab, t.newRandomLookup)
}

// Resolve returns the most recent record of n it can find: by asking n, by
// asking the node the table knows under n's ID, and finally through a
// lookup for n's ID. It returns n if all fail.
func (t *UDPv4) Resolve(ctx context.Context, n *enode.Node) *enode.Node {
	if rn, err := t.requestENR(ctx, n); err == nil {
		return rn
	}
	if tn := t.tab.node(n.ID()); tn != nil && tn.Seq() > n.Seq() {
		n = tn
		if rn, err := t.requestENR(ctx, n); err == nil {
			return rn
		}
	}
	key := n.Pubkey()
	if key == nil {
		return n
	}
	for _, rn := range t.LookupPubkey(ctx, key) {
		if rn.ID() == n.ID() {
			if rn, err := t.requestENR(ctx, rn); err == nil {
				return rn
			}
		}
	}
	return n
}

// lookupNear implements transport: the target is n's public key.
func (t *UDPv4) lookupNear(ctx context.Context, n *enode.Node) []*enode.Node {
	key := n.Pubkey()
	if key == nil {
		return t.lookupRandom(ctx)
	}
	return t.newLookup(ctx, v4wire.EncodePubkey(key)).run()
}

// maxTargetTries bounds the search for a discv4 lookup target at a given
// distance. One in 2^(257-d) targets lies at distance d, so 16384 tries
// (Keccak hashes, about 10 ms at most) miss distance 246 or farther less
// than once in a thousand searches; nearer buckets, which few nodes can
// fill anyway, often get a random target instead.
const maxTargetTries = 1 << 14

// lookupAt implements transport. A discv4 target is a 64-byte public key
// and the distance is measured to its hash, so random targets are drawn
// until one lies at distance d; if none does, the lookup goes to the last.
func (t *UDPv4) lookupAt(ctx context.Context, d int) []*enode.Node {
	target, _ := v4TargetAt(t.Self().ID(), d)
	return t.newLookup(ctx, target).run()
}

// v4TargetAt draws random FINDNODE targets until one hashes to log
// distance d from self, for at most maxTargetTries; ok is false if the last
// one drawn, which it returns, is not at d.
func v4TargetAt(self enode.ID, d int) (target v4wire.Pubkey, ok bool) {
	for range maxTargetTries {
		rand.Read(target[:])
		if enode.LogDist(self, target.ID()) == d {
			return target, true
		}
	}
	return target, false
}

// lookupRandom implements transport.
func (t *UDPv4) lookupRandom(ctx context.Context) []*enode.Node {
	return t.newRandomLookup(ctx).run()
}

func (t *UDPv4) newRandomLookup(ctx context.Context) *lookup {
	var target v4wire.Pubkey
	rand.Read(target[:])
	return t.newLookup(ctx, target)
}

// newLookup creates a lookup for a FindNode target: a public key, whose
// hash is the ID distances are measured to.
func (t *UDPv4) newLookup(ctx context.Context, target v4wire.Pubkey) *lookup {
	return newLookup(ctx, t.tab, target.ID(), func(ctx context.Context, n *enode.Node) ([]*enode.Node, error) {
		return t.findnode(ctx, n, target)
	})
}

func (t *UDPv4) now() time.Time { return t.clock.Now() }

func (t *UDPv4) expiration() uint64 {
	return uint64(t.now().Add(expiration).Unix())
}

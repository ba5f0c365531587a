package discv5interop

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	glog "github.com/ethereum/go-ethereum/log"
	gdiscover "github.com/ethereum/go-ethereum/p2p/discover"
	genode "github.com/ethereum/go-ethereum/p2p/enode"
	genr "github.com/ethereum/go-ethereum/p2p/enr"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// member is one node of a mixed network, Trellis or go-ethereum.
type member struct {
	kind   string // "trellis" or "geth"
	id     enode.ID
	addr   netip.AddrPort // UDP endpoint
	record string         // text form of the record at start, "enr:..."

	t *discover.UDPv5
	g *gdiscover.UDPv5
}

func newKey(t testing.TB) (*crypto.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	g, err := gcrypto.ToECDSA(crypto.FromPrivateKey(k))
	if err != nil {
		t.Fatal(err)
	}
	return k, g
}

func listenUDP(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startTrellis starts a Trellis discv5 node with the given bootnode records.
func startTrellis(t testing.TB, boot []string) *member {
	t.Helper()
	key, _ := newKey(t)
	conn := listenUDP(t)
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	ln := enode.NewLocalNode(nil, key)
	ln.SetFallbackIP(addr.Addr())
	ln.SetFallbackUDP(int(addr.Port()))
	cfg := discover.Config{PrivateKey: key}
	for _, b := range boot {
		cfg.Bootnodes = append(cfg.Bootnodes, enode.MustParse(b))
	}
	l, err := discover.ListenV5(conn, ln, cfg)
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	self := l.Self()
	return &member{kind: "trellis", id: self.ID(), addr: addr, record: self.String(), t: l}
}

// startGeth starts a go-ethereum discv5 node with the given bootnode records.
func startGeth(t testing.TB, boot []string) *member {
	t.Helper()
	_, key := newKey(t)
	return startGethKey(t, key, boot)
}

// startGethKey is startGeth with the node key given.
func startGethKey(t testing.TB, key *ecdsa.PrivateKey, boot []string) *member {
	t.Helper()
	conn := listenUDP(t)
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	db, err := genode.OpenDB("")
	if err != nil {
		t.Fatal(err)
	}
	ln := genode.NewLocalNode(db, key)
	ln.SetFallbackIP(net.IPv4(127, 0, 0, 1))
	ln.SetFallbackUDP(int(addr.Port()))
	cfg := gdiscover.Config{PrivateKey: key, Log: glog.NewLogger(glog.DiscardHandler())}
	for _, b := range boot {
		cfg.Bootnodes = append(cfg.Bootnodes, genode.MustParse(b))
	}
	l, err := gdiscover.ListenV5(conn, ln, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); db.Close() })
	self := l.Self()
	return &member{kind: "geth", id: enode.ID(self.ID()), addr: addr, record: self.String(), g: l}
}

// lookupRandom runs one lookup for a random target.
func (m *member) lookupRandom() []enode.ID {
	var target enode.ID
	rand.Read(target[:])
	return m.lookup(target)
}

// lookup runs one lookup for target and returns the IDs found, closest
// first.
func (m *member) lookup(target enode.ID) []enode.ID {
	var ids []enode.ID
	if m.t != nil {
		for _, n := range m.t.Lookup(context.Background(), target) {
			ids = append(ids, n.ID())
		}
		return ids
	}
	for _, n := range m.g.Lookup(genode.ID(target)) {
		ids = append(ids, enode.ID(n.ID()))
	}
	return ids
}

// requestENR asks the node with record rec for its record.
func (m *member) requestENR(ctx context.Context, rec string) (string, error) {
	if m.t != nil {
		n, err := m.t.RequestENR(ctx, enode.MustParse(rec))
		if err != nil {
			return "", err
		}
		return n.String(), nil
	}
	n, err := m.g.RequestENR(genode.MustParse(rec))
	if err != nil {
		return "", err
	}
	return n.String(), nil
}

// ping sends a PING to the node with record rec and returns what the PONG
// says: the record's sequence number and the address it saw us at.
func (m *member) ping(ctx context.Context, rec string) (uint64, netip.AddrPort, error) {
	if m.t != nil {
		pong, err := m.t.Ping(ctx, enode.MustParse(rec))
		if err != nil {
			return 0, netip.AddrPort{}, err
		}
		return pong.ENRSeq, netip.AddrPortFrom(pong.ToIP, pong.ToPort), nil
	}
	pong, err := m.g.Ping(genode.MustParse(rec))
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	ip, _ := netip.AddrFromSlice(pong.ToIP)
	return pong.ENRSeq, netip.AddrPortFrom(ip.Unmap(), pong.ToPort), nil
}

// talk sends a TALKREQ to the node with record rec.
func (m *member) talk(ctx context.Context, rec, protocol string, req []byte) ([]byte, error) {
	if m.t != nil {
		return m.t.TalkRequest(ctx, enode.MustParse(rec), protocol, req)
	}
	return m.g.TalkRequest(genode.MustParse(rec), protocol, req)
}

// talkCall is one TALKREQ as a handler saw it.
type talkCall struct {
	from enode.ID
	addr netip.AddrPort
	req  string
}

// registerEcho registers a handler of protocol that answers kind + ":" +
// request and records every call.
func (m *member) registerEcho(protocol string, calls chan<- talkCall) {
	if m.t != nil {
		m.t.RegisterTalkHandler(protocol, func(id enode.ID, addr netip.AddrPort, req []byte) []byte {
			calls <- talkCall{id, addr, string(req)}
			return append([]byte(m.kind+":"), req...)
		})
		return
	}
	m.g.RegisterTalkHandler(protocol, func(n *genode.Node, addr *net.UDPAddr, req []byte) []byte {
		calls <- talkCall{enode.ID(n.ID()), addr.AddrPort(), string(req)}
		return append([]byte(m.kind+":"), req...)
	})
}

// TestMixedNetwork starts 3 Trellis and 3 go-ethereum nodes on loopback
// with one bootnode, once with each kind as the bootnode. Every node's
// lookups must find nodes of both kinds, and a lookup of any node of the
// other kind must find that node.
func TestMixedNetwork(t *testing.T) {
	for _, bootKind := range []string{"geth", "trellis"} {
		t.Run("bootnode="+bootKind, func(t *testing.T) { testMixedNetwork(t, bootKind, 3) })
	}
}

// TestMixedNetworkLarge is TestMixedNetwork with 10 nodes of each kind,
// enough that no node's single answer holds every other node.
func TestMixedNetworkLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("20 nodes: skipped under -short")
	}
	for _, bootKind := range []string{"geth", "trellis"} {
		t.Run("bootnode="+bootKind, func(t *testing.T) { testMixedNetwork(t, bootKind, 10) })
	}
}

func testMixedNetwork(t *testing.T, bootKind string, perKind int) {
	var boot *member
	if bootKind == "geth" {
		boot = startGeth(t, nil)
	} else {
		boot = startTrellis(t, nil)
	}
	// A table refuses nodes that contact it before its first refresh is
	// done (both implementations), and the others contact the bootnode at
	// once. A lookup on an empty table waits for that refresh.
	boot.lookupRandom()
	members := []*member{boot}
	for i := 0; len(members) < 2*perKind; i++ {
		if (i%2 == 0) == (bootKind == "geth") {
			members = append(members, startTrellis(t, []string{boot.record}))
		} else {
			members = append(members, startGeth(t, []string{boot.record}))
		}
	}
	kinds := make(map[enode.ID]string)
	for _, m := range members {
		kinds[m.id] = m.kind
	}

	// Every node looks up random targets until its results have held nodes
	// of both kinds (other than itself), for at most 30 seconds.
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	errs := make([]error, len(members))
	lookups := make([]int, len(members))
	for i, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := map[string]int{}
			for time.Now().Before(deadline) {
				lookups[i]++
				for _, id := range m.lookupRandom() {
					if k, ok := kinds[id]; ok && id != m.id {
						seen[k]++
					} else if !ok {
						errs[i] = fmt.Errorf("lookup returned unknown node %v", id)
						return
					}
				}
				if seen["trellis"] > 0 && seen["geth"] > 0 {
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
			errs[i] = fmt.Errorf("after %d lookups found %v", lookups[i], seen)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s node %d (%v): %v", members[i].kind, i, members[i].id.TerminalString(), err)
		}
	}
	t.Logf("lookups needed per node: %v", lookups)
	if t.Failed() {
		return
	}

	var targeted, retries atomic.Int32
	// Targeted lookups: every node looks up each node of the other kind,
	// which must come first in the result, as the node at distance 0. The
	// random lookups above have spread most records; a node some table
	// does not hold yet as live may take another try.
	for i, a := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range members {
				if a.kind == b.kind {
					continue
				}
				var got []enode.ID
				targeted.Add(1)
				for try := 0; try < 5; try++ {
					if got = a.lookup(b.id); len(got) > 0 && got[0] == b.id {
						break
					}
					retries.Add(1)
					time.Sleep(500 * time.Millisecond)
				}
				if len(got) == 0 || got[0] != b.id {
					errs[i] = fmt.Errorf("lookup of %s node %v returned %d nodes, not it first", b.kind, b.id.TerminalString(), len(got))
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s node %d (%v): %v", members[i].kind, i, members[i].id.TerminalString(), err)
		}
	}
	t.Logf("%d targeted lookups across implementations, %d retried", targeted.Load(), retries.Load())
}

// direction is a request's sender and recipient.
type direction struct{ from, to *member }

// directions returns Trellis -> go-ethereum and go-ethereum -> Trellis, each
// between two new nodes that have never spoken: the first request of each
// direction opens the session, so its handshake is the one that carries
// the request, and each implementation is tested as the initiator.
func directions(t *testing.T) []direction {
	return []direction{
		{startTrellis(t, nil), startGeth(t, nil)},
		{startGeth(t, nil), startTrellis(t, nil)},
	}
}

// TestPingBothWays: each side's PING gets a PONG carrying the other's
// record sequence number and the address the PING came from.
func TestPingBothWays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range directions(t) {
		seq, seen, err := c.from.ping(ctx, c.to.record)
		if err != nil {
			t.Errorf("%s -> %s PING: %v", c.from.kind, c.to.kind, err)
			continue
		}
		if want := enode.MustParse(c.to.record).Seq(); seq != want {
			t.Errorf("%s -> %s PONG enr-seq %d, want %d", c.from.kind, c.to.kind, seq, want)
		}
		if seen != c.from.addr {
			t.Errorf("%s -> %s PONG says we are at %v, want %v", c.from.kind, c.to.kind, seen, c.from.addr)
		}
	}
}

// TestRequestENRBothWays: each side asks the other for its record
// (FINDNODE distance 0) and gets the record the other started with.
func TestRequestENRBothWays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range directions(t) {
		start := time.Now()
		got, err := c.from.requestENR(ctx, c.to.record)
		t.Logf("%s -> %s RequestENR took %v", c.from.kind, c.to.kind, time.Since(start))
		if err != nil {
			t.Errorf("%s -> %s RequestENR: %v", c.from.kind, c.to.kind, err)
		} else if got != c.to.record {
			t.Errorf("%s -> %s RequestENR:\n got %s\nwant %s", c.from.kind, c.to.kind, got, c.to.record)
		}
	}
}

// TestTalkBothWays: a TALKREQ of a registered protocol reaches the handler,
// with the sender's ID and address, and its answer comes back; a TALKREQ of
// a protocol nobody registered gets an empty TALKRESP, not an error.
func TestTalkBothWays(t *testing.T) {
	const proto = "interop-echo"
	calls := make(chan talkCall, 4)
	dirs := directions(t)
	for _, c := range dirs {
		c.from.registerEcho(proto, calls)
		c.to.registerEcho(proto, calls)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range dirs {
		req := "hello from " + c.from.kind
		resp, err := c.from.talk(ctx, c.to.record, proto, []byte(req))
		if err != nil {
			t.Errorf("%s -> %s TALKREQ: %v", c.from.kind, c.to.kind, err)
			continue
		}
		if want := c.to.kind + ":" + req; string(resp) != want {
			t.Errorf("%s -> %s TALKRESP %q, want %q", c.from.kind, c.to.kind, resp, want)
		}
		select {
		case call := <-calls:
			if call != (talkCall{c.from.id, c.from.addr, req}) {
				t.Errorf("%s handler saw %+v, want from %v at %v", c.to.kind, call, c.from.id, c.from.addr)
			}
		default:
			t.Errorf("%s handler was not called", c.to.kind)
		}

		resp, err = c.from.talk(ctx, c.to.record, "no-such-protocol", []byte("x"))
		if err != nil || len(resp) != 0 {
			t.Errorf("%s -> %s TALKREQ of an unknown protocol: %q, %v; want empty", c.from.kind, c.to.kind, resp, err)
		}
	}
	// A 1000-byte request and its answer each fill most of a 1280-byte
	// packet.
	big := bytes.Repeat([]byte{0xab}, 1000)
	for _, c := range dirs {
		resp, err := c.from.talk(ctx, c.to.record, proto, big)
		if err != nil || !bytes.Equal(resp, append([]byte(c.to.kind+":"), big...)) {
			t.Errorf("%s -> %s 1000-byte TALKREQ: %d bytes, %v", c.from.kind, c.to.kind, len(resp), err)
		}
		<-calls
	}
}

// TestRecordUpdateBothWays: after a node changes its record, the other
// implementation sees the new sequence number in the PONG and Resolve
// returns the new record.
func TestRecordUpdateBothWays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range directions(t) {
		// A first exchange, so that the new record has to travel in an
		// existing session rather than in a handshake.
		if _, _, err := c.from.ping(ctx, c.to.record); err != nil {
			t.Fatalf("%s -> %s PING: %v", c.from.kind, c.to.kind, err)
		}
		old := c.to.record
		now := c.to.setTCP(30303)
		if enode.MustParse(now).Seq() <= enode.MustParse(old).Seq() {
			t.Fatalf("%s record did not change: %s", c.to.kind, now)
		}
		seq, _, err := c.from.ping(ctx, old)
		if err != nil || seq != enode.MustParse(now).Seq() {
			t.Errorf("%s -> %s PING after the update: enr-seq %d, %v; want %d", c.from.kind, c.to.kind, seq, err, enode.MustParse(now).Seq())
		}
		if got := c.from.resolve(ctx, old); got != now {
			t.Errorf("%s -> %s Resolve of the old record:\n got %s\nwant %s", c.from.kind, c.to.kind, got, now)
		}
	}
}

// setTCP adds a TCP port to m's record and returns the new record.
func (m *member) setTCP(port int) string {
	if m.t != nil {
		m.t.LocalNode().Set(enr.TCP(port))
		return m.t.Self().String()
	}
	m.g.LocalNode().Set(genr.TCP(port))
	return m.g.Self().String()
}

// resolve returns the newest record of the node with record rec that m can
// find.
func (m *member) resolve(ctx context.Context, rec string) string {
	if m.t != nil {
		return m.t.Resolve(ctx, enode.MustParse(rec)).String()
	}
	return m.g.Resolve(genode.MustParse(rec)).String()
}

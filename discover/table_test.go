package discover

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enode/nodedb"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/netutil"
)

// fakeTransport answers the table's requests from maps, to test the table
// without a wire protocol.
type fakeTransport struct {
	self *enode.Node

	mu          sync.Mutex
	dead        map[enode.ID]bool
	seqs        map[enode.ID]uint64      // record seq announced in pongs
	records     map[enode.ID]*enode.Node // answers to requestENR
	pings       map[enode.ID]int
	enrReqs     map[enode.ID]int
	lookups     []string // "near <id>" or "random", in order
	lookupTimes []time.Time
	onLookup    func() // called by lookups, without mu held
}

func newFakeTransport(self *enode.Node) *fakeTransport {
	return &fakeTransport{
		self:    self,
		dead:    make(map[enode.ID]bool),
		seqs:    make(map[enode.ID]uint64),
		records: make(map[enode.ID]*enode.Node),
		pings:   make(map[enode.ID]int),
		enrReqs: make(map[enode.ID]int),
	}
}

func (f *fakeTransport) Self() *enode.Node { return f.self }

func (f *fakeTransport) ping(ctx context.Context, n *enode.Node) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pings[n.ID()]++
	if f.dead[n.ID()] {
		return 0, ErrTimeout
	}
	return f.seqs[n.ID()], nil
}

func (f *fakeTransport) requestENR(ctx context.Context, n *enode.Node) (*enode.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.enrReqs[n.ID()]++
	if r := f.records[n.ID()]; r != nil && !f.dead[n.ID()] {
		return r, nil
	}
	return nil, ErrTimeout
}

func (f *fakeTransport) lookupNear(ctx context.Context, n *enode.Node) []*enode.Node {
	f.recordLookup("near " + n.ID().TerminalString())
	return nil
}

func (f *fakeTransport) lookupAt(ctx context.Context, d int) []*enode.Node {
	f.recordLookup(fmt.Sprintf("at %d", d))
	return nil
}

func (f *fakeTransport) lookupRandom(ctx context.Context) []*enode.Node {
	f.recordLookup("random")
	return nil
}

func (f *fakeTransport) recordLookup(what string) {
	f.mu.Lock()
	f.lookups = append(f.lookups, what)
	f.lookupTimes = append(f.lookupTimes, time.Now())
	hook := f.onLookup
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
}

func (f *fakeTransport) setDead(id enode.ID, dead bool) {
	f.mu.Lock()
	f.dead[id] = dead
	f.mu.Unlock()
}

var tableSelf = enode.HexID("0000000000000000000000000000000000000000000000000000000000000001")

// nullNode returns a node of the null identity scheme with the given ID and
// UDP endpoint.
func nullNode(id enode.ID, ip string, seq uint64) *enode.Node {
	var r enr.Record
	r.Set(enr.IPv4(netip.MustParseAddr(ip)))
	r.Set(enr.UDP(30303))
	r.SetSeq(seq)
	return enode.SignNull(&r, id)
}

// publicIP returns a distinct public address in /24 number i.
func publicIP(i int) string { return fmt.Sprintf("11.%d.%d.1", i/256, i%256) }

func testDB(t testing.TB) *nodedb.DB {
	db, err := nodedb.Open("", nodedb.WithIdentitySchemes(enode.TestSchemes()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newTestTable starts a table with a fake transport and waits for its first
// refresh, so that it accepts inbound nodes.
func newTestTable(t *testing.T, cfg Config) (*table, *fakeTransport) {
	t.Helper()
	tr := newFakeTransport(nullNode(tableSelf, "11.255.255.1", 1))
	if cfg.DB == nil {
		cfg.DB = testDB(t)
	}
	cfg.PrivateKey = cachedKey(1)
	cfg, _ = cfg.withDefaults()
	tab, err := newTable(tr, cfg.DB, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tab.start()
	t.Cleanup(tab.close)
	if err := tab.waitInit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tab, tr
}

// addNodes adds nodes as found, waiting until the table has taken them.
func addNodes(tab *table, nodes ...*enode.Node) {
	tab.call(func() {
		for _, n := range nodes {
			tab.add(n, addFound)
		}
	})
}

func TestBucketOfDistance(t *testing.T) {
	tab := &table{selfID: tableSelf}
	for i := range tab.buckets {
		tab.buckets[i] = &bucket{index: i}
	}
	for d, want := range map[int]int{1: 0, 200: 0, 239: 0, 240: 0, 241: 1, 255: 15, 256: 16} {
		if got := tab.bucket(enode.RandomID(tableSelf, d)).index; got != want {
			t.Errorf("distance %d: bucket %d, want %d", d, got, want)
		}
	}
}

// A bucket holds 16 nodes; the next ones become replacements, of which the
// 10 most recent are kept.
func TestBucketCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab, _ := newTestTable(t, Config{PingInterval: time.Hour})
		var nodes []*enode.Node
		for i := range 30 {
			nodes = append(nodes, nullNode(enode.RandomID(tableSelf, 256), publicIP(i), 1))
		}
		addNodes(tab, nodes...)
		tab.call(func() {
			b := tab.buckets[nBuckets-1]
			if len(b.entries) != bucketSize || len(b.replacements) != maxReplacements {
				t.Fatalf("%d entries, %d replacements", len(b.entries), len(b.replacements))
			}
			if b.replacements[0].ID() != nodes[29].ID() || b.replacements[9].ID() != nodes[20].ID() {
				t.Fatal("replacements are not the most recent, newest first")
			}
		})
		// The IP slots of dropped replacements are free again.
		tab.call(func() {
			if n := tab.ips.Len(); n != bucketSize+maxReplacements {
				t.Fatalf("table counts %d IPs, want %d", n, bucketSize+maxReplacements)
			}
		})
	})
}

func TestIPLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab, _ := newTestTable(t, Config{PingInterval: time.Hour})
		// Bucket limit: 2 per /24.
		addNodes(tab,
			nullNode(enode.RandomID(tableSelf, 256), "11.1.1.1", 1),
			nullNode(enode.RandomID(tableSelf, 256), "11.1.1.2", 1),
			nullNode(enode.RandomID(tableSelf, 256), "11.1.1.3", 1))
		if n := len(tab.snapshot()[nBuckets-1]); n != 2 {
			t.Fatalf("bucket holds %d nodes of one /24, want 2", n)
		}
		// Table limit: 10 per /24, spread over buckets.
		for d := 241; d <= 255; d++ {
			addNodes(tab, nullNode(enode.RandomID(tableSelf, d), fmt.Sprintf("11.2.2.%d", d-200), 1))
		}
		if n := tab.len(); n != 2+tableIPLimit {
			t.Fatalf("table holds %d nodes, want %d", n, 2+tableIPLimit)
		}
		// LAN addresses are exempt.
		for i := range 5 {
			addNodes(tab, nullNode(enode.RandomID(tableSelf, 254), fmt.Sprintf("10.0.0.%d", i+1), 1))
		}
		if n := len(tab.snapshot()[nBuckets-3]); n < 5 {
			t.Fatalf("LAN nodes limited: bucket holds %d", n)
		}
	})
}

func TestNetRestrict(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nl := netutil.MustParseNetlist("11.0.0.0/8")
		boot := enode.NewV4(cachedKey(5).PubKey(), netip.MustParseAddr("12.0.0.1"), 0, 30303)
		tab, _ := newTestTable(t, Config{NetRestrict: nl, Bootnodes: []*enode.Node{boot}})
		if tab.node(boot.ID()) != nil {
			t.Fatal("bootnode outside NetRestrict was added")
		}
		inside := nullNode(enode.RandomID(tableSelf, 256), "11.0.0.1", 1)
		outside := nullNode(enode.RandomID(tableSelf, 256), "12.0.0.2", 1)
		addNodes(tab, inside, outside)
		if tab.node(inside.ID()) == nil || tab.node(outside.ID()) != nil {
			t.Fatal("NetRestrict not applied to found nodes")
		}
	})
}

func TestBadBootnode(t *testing.T) {
	var r enr.Record
	r.Set(enr.UDP(30303))
	noIP := enode.SignNull(&r, enode.RandomID(tableSelf, 256))
	cfg, _ := Config{PrivateKey: cachedKey(1), Bootnodes: []*enode.Node{noIP}}.withDefaults()
	_, err := newTable(newFakeTransport(nullNode(tableSelf, "11.0.0.1", 1)), nil, cfg)
	if !errors.Is(err, enode.ErrMissingIP) {
		t.Fatalf("err %v, want ErrMissingIP", err)
	}
}

// Nodes that contact us are only added once the first refresh is done, so
// that pings cannot fill an empty table.
func TestInboundBeforeInit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newFakeTransport(nullNode(tableSelf, "11.0.0.1", 1))
		cfg, _ := Config{PrivateKey: cachedKey(1)}.withDefaults()
		tab, err := newTable(tr, testDB(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		// Not started: the loop is not running, so run the add directly.
		n := nullNode(enode.RandomID(tableSelf, 256), "11.0.0.2", 1)
		tab.add(n, addInbound)
		tab.add(n, addVerified)
		if tab.lenLocked() != 0 {
			t.Fatal("inbound node added before init")
		}
		tab.add(n, addFound)
		if tab.lenLocked() != 1 {
			t.Fatal("found node not added")
		}
		tab.cancel()
	})
}

// A new node that does not answer its first check is removed and a
// replacement takes its place; one that answers moves to the slow list;
// a proven node survives single failures.
func TestRevalidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab, tr := newTestTable(t, Config{})
		var nodes []*enode.Node
		for i := range bucketSize + 1 {
			nodes = append(nodes, nullNode(enode.RandomID(tableSelf, 256), publicIP(i), 1))
		}
		dead, repl := nodes[0], nodes[bucketSize]
		tr.setDead(dead.ID(), true)
		addNodes(tab, nodes...)
		time.Sleep(time.Minute)
		synctest.Wait()
		if tab.node(dead.ID()) != nil {
			t.Fatal("dead node still in table")
		}
		if tab.node(repl.ID()) == nil {
			t.Fatal("replacement not promoted")
		}
		for _, bn := range tab.snapshot()[nBuckets-1] {
			if !bn.Live || bn.Checks == 0 {
				t.Fatalf("node %v not validated: %+v", bn.Node.ID().TerminalString(), bn)
			}
		}
		tab.call(func() {
			if len(tab.reval.fast.nodes) != 0 || len(tab.reval.slow.nodes) != bucketSize {
				t.Fatalf("fast %d slow %d", len(tab.reval.fast.nodes), len(tab.reval.slow.nodes))
			}
		})

		// A node proven many times survives one failed check but is no
		// longer live, and goes back to the fast list.
		proven := nodes[1]
		synctest.Wait() // no check in flight: the next one sees checks = 9
		tab.call(func() { tab.bucket(proven.ID()).find(proven.ID()).checks = 9 })
		tr.setDead(proven.ID(), true)
		waitPings(tr, proven.ID(), tr.pingCount(proven.ID())+1)
		synctest.Wait()
		var e BucketNode
		for _, bn := range tab.snapshot()[nBuckets-1] {
			if bn.Node.ID() == proven.ID() {
				e = bn
			}
		}
		if e.Node == nil || e.Live || e.Checks != 3 {
			t.Fatalf("proven node after one failure: %+v", e)
		}
	})
}

func (f *fakeTransport) pingCount(id enode.ID) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pings[id]
}

func (f *fakeTransport) enrCount(id enode.ID) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.enrReqs[id]
}

// waitPings advances fake time in small steps until id has been pinged n
// times; small, so that a test sees the state right after the n-th check,
// before a next one comes.
func waitPings(f *fakeTransport, id enode.ID, n int) {
	for f.pingCount(id) < n {
		time.Sleep(time.Millisecond)
	}
}

// A pong announcing a newer record (EIP-868) makes the check fetch it; a
// ping announcing one (seqHint) does too.
func TestRecordUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab, tr := newTestTable(t, Config{})
		id := enode.RandomID(tableSelf, 256)
		addNodes(tab, nullNode(id, "11.0.0.1", 1))
		tr.mu.Lock()
		tr.seqs[id] = 2
		tr.records[id] = nullNode(id, "11.0.0.1", 2)
		tr.mu.Unlock()
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := tab.node(id); n == nil || n.Seq() != 2 {
			t.Fatalf("record not updated: %v", n)
		}

		// A newer record with a new endpoint must be proven again.
		tr.mu.Lock()
		tr.records[id] = nullNode(id, "11.0.0.7", 3)
		tr.mu.Unlock()
		tab.seqHint(id, 3)
		synctest.Wait()
		n := tab.node(id)
		if n == nil || n.Seq() != 3 || n.IPAddr() != netip.MustParseAddr("11.0.0.7") {
			t.Fatalf("record not updated from seq hint: %v", n)
		}
		tab.call(func() {
			if e := tab.bucket(id).find(id); e.live || e.revalList != &tab.reval.fast {
				t.Fatal("moved node still counts as live")
			}
		})
		// An older or equal seq changes nothing.
		before := tr.enrCount(id)
		tab.seqHint(id, 3)
		synctest.Wait()
		if tr.enrCount(id) != before {
			t.Fatal("seq hint without newer seq requested the record")
		}
	})
}

// A node whose findnode requests keep returning nothing is dropped after
// maxFindnodeFailures, unless its bucket is nearly empty.
func TestFindnodeFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab, _ := newTestTable(t, Config{PingInterval: time.Hour})
		var full []*enode.Node
		for i := range 4 {
			full = append(full, nullNode(enode.RandomID(tableSelf, 256), publicIP(i), 1))
		}
		lonely := nullNode(enode.RandomID(tableSelf, 250), publicIP(10), 1)
		addNodes(tab, append(full, lonely)...)
		for i := range maxFindnodeFailures {
			tab.trackFindnode(full[0], true, nil)
			tab.trackFindnode(lonely, true, nil)
			synctest.Wait()
			if i < maxFindnodeFailures-1 && tab.node(full[0].ID()) == nil {
				t.Fatalf("dropped after %d failures", i+1)
			}
		}
		if tab.node(full[0].ID()) != nil {
			t.Fatal("not dropped after maxFindnodeFailures")
		}
		if tab.node(lonely.ID()) == nil {
			t.Fatal("only node of its bucket dropped")
		}
		// Success resets the count; answering proves liveness.
		for range maxFindnodeFailures - 1 {
			tab.trackFindnode(full[1], false, nil)
		}
		tab.trackFindnode(full[1], true, []*enode.Node{nullNode(enode.RandomID(tableSelf, 255), publicIP(20), 1)})
		tab.trackFindnode(full[1], false, nil)
		synctest.Wait()
		if tab.node(full[1].ID()) == nil || tab.len() != 5 {
			t.Fatalf("failure count not reset or found node not added (len %d)", tab.len())
		}
	})
}

// Nodes proven live are stored; a new table seeds itself from them.
func TestSeedsFromDB(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := testDB(t)
		var nodes []*enode.Node
		for i := range 5 {
			nodes = append(nodes, nullNode(enode.RandomID(tableSelf, 256), publicIP(i), 1))
		}
		func() {
			tab, _ := newTestTable(t, Config{DB: db})
			addNodes(tab, nodes...)
			time.Sleep(time.Minute) // every node checked
			synctest.Wait()
			for _, n := range nodes {
				if db.Node(n.ID()) == nil {
					t.Fatalf("live node %v not stored", n.ID().TerminalString())
				}
				// The v4 transport records pongs; seeds need them.
				db.UpdateLastPongReceived(n.ID(), n.IPAddr(), time.Now())
			}
			tab.close()
		}()
		tab, _ := newTestTable(t, Config{DB: db, PingInterval: time.Hour})
		if n := tab.len(); n != len(nodes) {
			t.Fatalf("seeded %d nodes, want %d", n, len(nodes))
		}
	})
}

// Refresh: at start a self lookup, lookups at the distances of the two
// farthest (empty) buckets and a random one; then every 15 to 30 minutes,
// or after 10s, 20s, ... while refreshes keep adding nodes, with lookups
// towards nodes of buckets that are not full.
func TestRefreshSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		tab, tr := newTestTable(t, Config{PingInterval: time.Hour})
		selfLookup := "near " + tableSelf.TerminalString()
		tr.mu.Lock()
		if want := []string{selfLookup, "at 256", "at 255", "random"}; fmt.Sprint(tr.lookups) != fmt.Sprint(want) {
			t.Fatalf("first refresh lookups %v, want %v", tr.lookups, want)
		}
		// From now on every lookup finds a new node.
		i := 0
		tr.onLookup = func() {
			i++
			addNodes(tab, nullNode(enode.RandomID(tableSelf, 256), publicIP(i), 1))
		}
		tr.mu.Unlock()

		time.Sleep(time.Hour)
		tr.mu.Lock()
		defer tr.mu.Unlock()
		var refreshes []time.Duration
		for j, l := range tr.lookups {
			if l != selfLookup {
				continue
			}
			refreshes = append(refreshes, tr.lookupTimes[j].Sub(start))
			// The bucket of the new nodes is not full until the fifth.
			if (len(refreshes) == 3 || len(refreshes) == 4) && !strings.HasPrefix(tr.lookups[j+1], "near ") {
				t.Errorf("refresh %d did not look towards the non-full bucket: %v", len(refreshes), tr.lookups[j:j+4])
			}
		}
		if len(refreshes) < 4 {
			t.Fatalf("refreshes at %v", refreshes)
		}
		if refreshes[1] < 15*time.Minute || refreshes[1] > 30*time.Minute {
			t.Errorf("second refresh after %v, want 15-30 min", refreshes[1])
		}
		if gap := refreshes[2] - refreshes[1]; gap != firstGrowingRefresh {
			t.Errorf("refresh after growth came %v later, want %v", gap, firstGrowingRefresh)
		}
		if gap := refreshes[3] - refreshes[2]; gap != 2*firstGrowingRefresh {
			t.Errorf("second refresh after growth came %v later, want %v", gap, 2*firstGrowingRefresh)
		}
	})
}

func TestNodesAtDistance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab, _ := newTestTable(t, Config{PingInterval: time.Hour})
		addNodes(tab,
			nullNode(enode.RandomID(tableSelf, 240), publicIP(1), 1),
			nullNode(enode.RandomID(tableSelf, 239), publicIP(2), 1),
			nullNode(enode.RandomID(tableSelf, 256), publicIP(3), 1))
		for d, want := range map[int]int{239: 1, 240: 1, 256: 1, 255: 0, 0: 0, 257: 0} {
			if got := len(tab.nodesAtDistance(d, false)); got != want {
				t.Errorf("distance %d: %d nodes, want %d", d, got, want)
			}
		}
		if got := len(tab.nodesAtDistance(256, true)); got != 0 {
			t.Errorf("unchecked node returned as live")
		}
	})
}

// closest prefers live nodes, falling back to all.
func TestClosestPrefersLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab, _ := newTestTable(t, Config{PingInterval: time.Hour})
		a := nullNode(enode.RandomID(tableSelf, 256), publicIP(1), 1)
		b := nullNode(enode.RandomID(tableSelf, 255), publicIP(2), 1)
		addNodes(tab, a, b)
		if got := tab.closest(tableSelf, 16, true); len(got) != 2 {
			t.Fatalf("no live nodes: want all, got %d", len(got))
		}
		tab.trackFindnode(a, true, nil) // answering proves liveness
		synctest.Wait()
		if got := tab.closest(tableSelf, 16, true); len(got) != 1 || got[0].ID() != a.ID() {
			t.Fatalf("want only the live node, got %v", got)
		}
		if got := tab.closest(tableSelf, 1, false); len(got) != 1 || got[0].ID() != b.ID() {
			t.Fatalf("closest to self should be the node at distance 255")
		}
	})
}

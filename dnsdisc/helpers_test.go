package dnsdisc

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// testKey returns a deterministic private key for index i.
func testKey(t testing.TB, i uint64) *crypto.PrivateKey {
	t.Helper()
	var seed [32]byte
	binary.BigEndian.PutUint64(seed[:], i)
	k, err := crypto.GenerateKeyFrom(rand.NewChaCha8(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testNodes returns n signed nodes with distinct keys, starting at key index
// first, each on 10.x.y.z:30303.
func testNodes(t testing.TB, first, n int) []*enode.Node {
	t.Helper()
	nodes := make([]*enode.Node, n)
	for i := range nodes {
		idx := first + i
		var r enr.Record
		r.Set(enr.IPv4(netip.AddrFrom4([4]byte{10, byte(idx >> 16), byte(idx >> 8), byte(idx)})))
		r.Set(enr.TCP(30303))
		r.Set(enr.UDP(30303))
		if err := enr.SignV4(&r, testKey(t, uint64(1000+idx))); err != nil {
			t.Fatal(err)
		}
		nd, err := enode.New(&r)
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = nd
	}
	return nodes
}

// signedTree builds and signs a tree at domain with the tree key of index k.
func signedTree(t testing.TB, k uint64, domain string, seq uint64, nodes []*enode.Node, links []string) (*Tree, string) {
	t.Helper()
	tree, err := MakeTree(seq, nodes, links)
	if err != nil {
		t.Fatal(err)
	}
	url, err := tree.Sign(testKey(t, k), domain)
	if err != nil {
		t.Fatal(err)
	}
	return tree, url
}

// gethTree is testdata/gethtree.json: a tree made by go-ethereum.
type gethTree struct {
	URL     string            `json:"url"`
	Nodes   int               `json:"nodes"`
	Records map[string]string `json:"records"`
}

func loadGethTree(t testing.TB) gethTree {
	t.Helper()
	var g gethTree
	data, err := os.ReadFile("testdata/gethtree.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// fastConfig is a client configuration for tests over MapResolver: no rate
// limit, so that nothing waits.
func fastConfig(r Resolver) Config {
	return Config{Resolver: r, RateLimit: -1}
}

// countingResolver counts lookups per name.
type countingResolver struct {
	r  Resolver
	mu sync.Mutex
	n  map[string]int
}

func newCountingResolver(r Resolver) *countingResolver {
	return &countingResolver{r: r, n: make(map[string]int)}
}

func (c *countingResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	c.mu.Lock()
	c.n[name]++
	c.mu.Unlock()
	return c.r.LookupTXT(ctx, name)
}

func (c *countingResolver) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

func (c *countingResolver) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

// fakeClock is a Clock moved by Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c        *fakeClock
	deadline time.Time
	ch       chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, deadline: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
	} else {
		c.timers = append(c.timers, t)
	}
	return t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool {
		if t.deadline.After(c.now) {
			return false
		}
		t.ch <- c.now
		return true
	})
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.c.timers = slices.DeleteFunc(t.c.timers, func(x *fakeTimer) bool { return x == t })
}

// nodeIDs returns the sorted IDs of nodes, for comparisons.
func nodeIDs(nodes []*enode.Node) []string {
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID().String()
	}
	slices.Sort(ids)
	return ids
}

// merge returns the union of TXT record maps; later ones win.
func merge(ms ...map[string]string) map[string]string {
	out := make(map[string]string)
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

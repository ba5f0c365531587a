package dnsdisc

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

// swapResolver serves a record map that the test may replace.
type swapResolver struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *swapResolver) set(m map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = m
}

func (s *swapResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	s.mu.Lock()
	m := s.m
	s.mu.Unlock()
	return MapResolver(m).LookupTXT(ctx, name)
}

// readUntil calls Next until every node of want was seen, at most max times,
// and returns the IDs seen.
func readUntil(t *testing.T, it enode.Iterator, want []*enode.Node, max int) map[enode.ID]int {
	t.Helper()
	seen := make(map[enode.ID]int)
	missing := make(map[enode.ID]bool)
	for _, n := range want {
		missing[n.ID()] = true
	}
	for i := 0; i < max && len(missing) > 0; i++ {
		if !it.Next() {
			t.Fatal("iterator ended")
		}
		id := it.Node().ID()
		seen[id]++
		delete(missing, id)
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d nodes not seen in %d steps", len(missing), len(want), max)
	}
	return seen
}

func idSet(nodes ...[]*enode.Node) map[enode.ID]bool {
	s := make(map[enode.ID]bool)
	for _, ns := range nodes {
		for _, n := range ns {
			s[n.ID()] = true
		}
	}
	return s
}

func TestIteratorYieldsTree(t *testing.T) {
	const domain = "nodes.example.org"
	nodes := testNodes(t, 0, 30)
	tree, url := signedTree(t, 1, domain, 1, nodes, nil)
	c := NewClient(fastConfig(MapResolver(tree.ToTXT(domain))))
	it, err := c.NewIterator(url)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var iter enode.SourceIterator = it
	seen := readUntil(t, iter, nodes, 2000)
	member := idSet(nodes)
	for id := range seen {
		if !member[id] {
			t.Fatalf("node %v is not in the tree", id)
		}
	}
	if iter.NodeSource() != "dns" {
		t.Errorf("NodeSource %q", iter.NodeSource())
	}
	// A pass visits each node once: none repeats before all were seen.
	for id, n := range seen {
		if n != 1 {
			t.Errorf("node %v seen %d times in the first pass", id, n)
		}
	}
}

// Links are followed, through a loop back to the first tree, and a tree's
// link to itself is ignored.
func TestIteratorFollowsLinks(t *testing.T) {
	a, b, c := testNodes(t, 0, 5), testNodes(t, 5, 5), testNodes(t, 10, 5)
	urlOf := func(k uint64, domain string) string { return NewURL(domain, testKey(t, k).PubKey()).String() }
	ta, urlA := signedTree(t, 1, "a.example.org", 1, a, []string{urlOf(2, "b.example.org"), urlOf(1, "a.example.org")})
	tb, _ := signedTree(t, 2, "b.example.org", 1, b, []string{urlOf(3, "c.example.org")})
	tc, _ := signedTree(t, 3, "c.example.org", 1, c, []string{urlA})
	txt := merge(ta.ToTXT("a.example.org"), tb.ToTXT("b.example.org"), tc.ToTXT("c.example.org"))
	cl := NewClient(fastConfig(MapResolver(txt)))
	it, err := cl.NewIterator(urlA)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	all := slices.Concat(a, b, c)
	seen := readUntil(t, it, all, 3000)
	if len(seen) != len(all) {
		t.Fatalf("saw %d distinct nodes, want %d", len(seen), len(all))
	}
	if len(it.trees) != 3 {
		t.Fatalf("iterator follows %d trees, want 3", len(it.trees))
	}
}

func TestIteratorMaxTrees(t *testing.T) {
	var links []string
	var txt []map[string]string
	for i := range 10 {
		domain := string(rune('a'+i)) + ".links.example.org"
		tr, u := signedTree(t, uint64(10+i), domain, 1, testNodes(t, 100+i, 1), nil)
		links = append(links, u)
		txt = append(txt, tr.ToTXT(domain))
	}
	top, url := signedTree(t, 1, "top.example.org", 1, testNodes(t, 0, 1), links)
	txt = append(txt, top.ToTXT("top.example.org"))
	c := NewClient(Config{Resolver: MapResolver(merge(txt...)), RateLimit: -1, MaxTrees: 3})
	it, err := c.NewIterator(url)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for range 200 {
		if !it.Next() {
			t.Fatal("iterator ended")
		}
	}
	if len(it.trees) != 1+3 {
		t.Fatalf("iterator follows %d trees, want the given one and 3 linked", len(it.trees))
	}
}

// The root is looked at again every RecheckInterval of the injected clock:
// a new tree replaces the old one, a root with a lower seq does not, and a
// dropped link drops the linked tree.
func TestIteratorRecheck(t *testing.T) {
	const domain = "nodes.example.org"
	v1, v2 := testNodes(t, 0, 8), testNodes(t, 8, 8)
	linked := testNodes(t, 16, 4)
	tl, linkURL := signedTree(t, 5, "linked.example.org", 1, linked, nil)
	t1, url := signedTree(t, 1, domain, 1, v1, []string{linkURL})
	t2, _ := signedTree(t, 1, domain, 2, v2, nil)
	t0, _ := signedTree(t, 1, domain, 1, v1, nil)

	clock := newFakeClock()
	res := &swapResolver{}
	res.set(merge(t1.ToTXT(domain), tl.ToTXT("linked.example.org")))
	counted := newCountingResolver(res)
	c := NewClient(Config{Resolver: counted, RateLimit: -1, Clock: clock, RecheckInterval: 30 * time.Minute})
	it, err := c.NewIterator(url)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	readUntil(t, it, slices.Concat(v1, linked), 2000)

	// The tree changes; until the interval has passed, the old one is used.
	res.set(merge(t1.ToTXT(domain), t2.ToTXT(domain), tl.ToTXT("linked.example.org")))
	clock.Advance(29 * time.Minute)
	old := idSet(v1, linked)
	for range 100 {
		if !it.Next() || !old[it.Node().ID()] {
			t.Fatal("new tree used before the recheck interval")
		}
	}
	if n := counted.count(domain); n != 1 {
		t.Fatalf("root looked up %d times before the interval", n)
	}

	clock.Advance(time.Minute)
	readUntil(t, it, v2, 2000)
	if n := counted.count(domain); n != 2 {
		t.Fatalf("root looked up %d times, want 2", n)
	}
	// v2 has no links: once its empty link subtree is read, the linked
	// tree is dropped and only v2 remains.
	for range 50 {
		it.Next()
	}
	now := idSet(v2)
	for range 200 {
		if !it.Next() || !now[it.Node().ID()] {
			t.Fatalf("node %v of an old or unlinked tree after the update", it.Node().ID())
		}
	}
	if len(it.trees) != 1 {
		t.Fatalf("iterator still follows %d trees", len(it.trees))
	}

	// A root with a lower seq is refused; the iterator keeps v2.
	res.set(t0.ToTXT(domain))
	clock.Advance(31 * time.Minute)
	for range 100 {
		if !it.Next() || !now[it.Node().ID()] {
			t.Fatal("iterator went back to a lower seq")
		}
	}
	if n := counted.count(domain); n != 3 {
		t.Fatalf("root looked up %d times, want 3", n)
	}
}

// An empty tree leaves Next waiting for the next root check; Close ends
// the wait.
func TestIteratorWaitAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const domain = "nodes.example.org"
		empty, url := signedTree(t, 1, domain, 1, nil, nil)
		full, _ := signedTree(t, 1, domain, 2, testNodes(t, 0, 3), nil)
		res := &swapResolver{}
		res.set(empty.ToTXT(domain))
		c := NewClient(Config{Resolver: res})
		it, err := c.NewIterator(url)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan bool)
		go func() { got <- it.Next() }()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("Next returned for an empty tree")
		default:
		}
		res.set(full.ToTXT(domain))
		time.Sleep(DefaultRecheckInterval)
		if !<-got || it.Node() == nil {
			t.Fatal("no node after the tree filled up")
		}

		// Close ends a Next that waits.
		res.set(empty.ToTXT(domain))
		it2, _ := NewClient(Config{Resolver: res}).NewIterator(url)
		go func() { got <- it2.Next() }()
		synctest.Wait()
		it2.Close()
		if <-got {
			t.Fatal("Next returned true after Close")
		}
		if it2.Next() {
			t.Fatal("Next after Close")
		}
		it2.Close()
		it.Close()
	})
}

// A server that never answers costs bounded lookups over time, and Close
// ends the iteration.
func TestIteratorDeadServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, url := signedTree(t, 1, "nodes.example.org", 1, nil, nil)
		silent := newCountingResolver(ResolverFunc(func(ctx context.Context, name string) ([]string, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}))
		it, err := NewClient(Config{Resolver: silent}).NewIterator(url)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan bool)
		go func() { done <- it.Next() }()
		time.Sleep(time.Hour)
		t.Logf("%d root lookups in an hour of a silent server", silent.total())
		// Each try waits for the 5 s timeout, then a backoff doubling
		// from 1 s to 5 min: 9 tries in the first 10 min, then one
		// every 305 s.
		if n := silent.total(); n < 15 || n > 25 {
			t.Fatalf("%d lookups in an hour", n)
		}
		it.Close()
		if <-done {
			t.Fatal("Next returned true")
		}
	})
}

// The iterator works as a source of an enode.FairMix, as p2p uses it.
func TestIteratorInFairMix(t *testing.T) {
	const domain = "nodes.example.org"
	nodes := testNodes(t, 0, 5)
	tree, url := signedTree(t, 1, domain, 1, nodes, nil)
	it, err := NewClient(fastConfig(MapResolver(tree.ToTXT(domain)))).NewIterator(url)
	if err != nil {
		t.Fatal(err)
	}
	mix := enode.NewFairMix(time.Second)
	mix.AddSource(it)
	defer mix.Close()
	readUntil(t, mix, nodes, 500)
	if mix.NodeSource() != "dns" {
		t.Fatalf("source %q", mix.NodeSource())
	}
}

func TestNewIteratorBadURL(t *testing.T) {
	if _, err := NewClient(Config{}).NewIterator("enrtree://nope@x.org"); err == nil {
		t.Fatal("bad URL accepted")
	}
	it, err := NewClient(Config{}).NewIterator()
	if err != nil {
		t.Fatal(err)
	}
	if it.Next() {
		t.Fatal("iterator without trees yielded a node")
	}
}

// A tree that keeps failing the same way is reported once at warning level
// (a forged or broken tree deserves a line at the default verbosity), then
// at debug level on every retry.
func TestIteratorReportsTreeErrorOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, url := signedTree(t, 1, "nodes.example.org", 1, nil, nil)
		garbage := ResolverFunc(func(ctx context.Context, name string) ([]string, error) {
			return []string{"enrtree-root:v1 e=garbage"}, nil
		})
		logs := &levelCounter{}
		it, err := NewClient(Config{Resolver: garbage, Log: slog.New(logs)}).NewIterator(url)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan bool)
		go func() { done <- it.Next() }()
		time.Sleep(time.Hour)
		it.Close()
		if <-done {
			t.Fatal("Next returned true")
		}
		warn, debug := logs.count(slog.LevelWarn), logs.count(slog.LevelDebug)
		if warn != 1 || debug < 5 {
			t.Fatalf("%d warnings and %d debug lines for the same error repeated, want 1 and many", warn, debug)
		}
	})
}

// levelCounter is a slog.Handler that counts records by level.
type levelCounter struct {
	mu sync.Mutex
	n  map[slog.Level]int
}

func (h *levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelCounter) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *levelCounter) WithGroup(string) slog.Handler            { return h }
func (h *levelCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil {
		h.n = make(map[slog.Level]int)
	}
	h.n[r.Level]++
	return nil
}

func (h *levelCounter) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[l]
}

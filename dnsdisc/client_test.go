package dnsdisc

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
)

// handTree builds trees entry by entry, including ones MakeTree would never
// make.
type handTree struct {
	t       testing.TB
	domain  string
	key     *crypto.PrivateKey
	records map[string]string
}

func newHandTree(t testing.TB, domain string) *handTree {
	return &handTree{t: t, domain: domain, key: testKey(t, 1), records: make(map[string]string)}
}

// add publishes text under its hash and returns the hash.
func (h *handTree) add(text string) string {
	hash := EntryHash(text)
	h.records[subdomain(hash, h.domain)] = text
	return hash
}

// root signs and publishes a root; it returns the tree URL.
func (h *handTree) root(eroot, lroot string, seq uint64) string {
	r := &RootEntry{ENRRoot: eroot, LinkRoot: lroot, Seq: seq}
	d := r.SigHash()
	sig, err := crypto.Sign(d[:], h.key)
	if err != nil {
		h.t.Fatal(err)
	}
	r.Sig = sig
	h.records[h.domain] = r.String()
	return NewURL(h.domain, h.key.PubKey()).String()
}

func TestSyncGethTree(t *testing.T) {
	g := loadGethTree(t)
	c := NewClient(fastConfig(MapResolver(g.Records)))
	tree, err := c.SyncTree(context.Background(), g.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Nodes()) != g.Nodes || len(tree.Links()) != 0 {
		t.Fatalf("found %d nodes and %d links, want %d and 0", len(tree.Nodes()), len(tree.Links()), g.Nodes)
	}
	for _, n := range tree.Nodes() {
		if _, ok := n.TCPEndpoint(); !ok {
			t.Errorf("node %v has no TCP endpoint", n.ID())
		}
	}
}

// TestSyncTreeErrors serves broken trees and checks each sync fails with
// the error that names the fault.
func TestSyncTreeErrors(t *testing.T) {
	const domain = "nodes.example.org"
	nodes := testNodes(t, 0, 20)
	good, url := signedTree(t, 1, domain, 1, nodes, nil)
	goodTXT := good.ToTXT(domain)
	root := good.Root()
	leafName := subdomain(EntryHash(nodes[3].String()), domain)

	type scenario struct {
		name    string
		records map[string]string
		url     string // default: url
		want    error
	}
	var scenarios []scenario
	add := func(name string, want error, records map[string]string, u ...string) {
		s := scenario{name: name, records: records, url: url, want: want}
		if len(u) > 0 {
			s.url = u[0]
		}
		scenarios = append(scenarios, s)
	}

	add("no root record", ErrNoRoot, merge(goodTXT, map[string]string{domain: "v=spf1 -all"}))
	add("root syntax", ErrRootSyntax, merge(goodTXT, map[string]string{domain: strings.Replace(goodTXT[domain], " l=", "  l=", 1)}))
	add("root of unknown version", ErrRootSyntax, merge(goodTXT, map[string]string{domain: strings.Replace(goodTXT[domain], ":v1", ":v2", 1)}))
	add("root too long", ErrEntryTooLong, merge(goodTXT, map[string]string{domain: goodTXT[domain] + strings.Repeat("A", MaxEntryLength)}))
	add("root bad base64", ErrBadBase64, merge(goodTXT, map[string]string{domain: goodTXT[domain][:len(goodTXT[domain])-3] + "+/A"}))
	add("root signed by another key", ErrBadSignature, goodTXT, NewURL(domain, testKey(t, 2).PubKey()).String())
	forged := root
	forged.Seq = 2 // the signature of seq 1 does not cover seq 2
	add("root with changed seq", ErrBadSignature, merge(goodTXT, map[string]string{domain: forged.String()}))

	add("leaf replaced", ErrHashMismatch, merge(goodTXT, map[string]string{leafName: nodes[4].String()}))
	add("leaf of unknown type", ErrUnknownEntry, merge(goodTXT, map[string]string{leafName: "hello"}))
	add("leaf too long", ErrEntryTooLong, merge(goodTXT, map[string]string{leafName: "enr:" + strings.Repeat("A", 600)}))
	add("branch garbage", ErrHashMismatch, merge(goodTXT, map[string]string{subdomain(root.ENRRoot, domain): "enrtree-branch:AAAA"}))

	// Entries whose hashes are right but whose content is wrong.
	{
		h := newHandTree(t, domain)
		leaf := h.add(nodes[0].String())
		bad := h.add("enrtree-branch:" + leaf + ",2xs2367yhaxjfglzhvawlqd4zy")
		add("branch with a bad child hash", ErrBadBase32, h.records, h.root(bad, h.add("enrtree-branch:"), 1))
	}
	{
		h := newHandTree(t, domain)
		enrLeaf := h.add(nodes[0].String())
		add("ENR leaf in the link subtree", ErrENRInLinkTree, h.records, h.root(h.add("enrtree-branch:"), enrLeaf, 1))
	}
	{
		h := newHandTree(t, domain)
		link := h.add(NewURL("other.example.org", testKey(t, 5).PubKey()).String())
		add("link leaf in the ENR subtree", ErrLinkInENRTree, h.records, h.root(link, h.add("enrtree-branch:"), 1))
	}
	{
		h := newHandTree(t, domain)
		self := h.add(NewURL(domain, h.key.PubKey()).String())
		add("tree links to itself", ErrLinkLoop, h.records, h.root(h.add("enrtree-branch:"), self, 1))
	}
	{
		h := newHandTree(t, domain)
		self := h.add(NewURL("NODES.example.org.", testKey(t, 6).PubKey()).String())
		add("tree links to its own name", ErrLinkLoop, h.records, h.root(h.add("enrtree-branch:"), self, 1))
	}
	{
		// A chain of branches, one child each, deeper than DefaultMaxDepth.
		h := newHandTree(t, domain)
		top := h.add(nodes[0].String())
		for range DefaultMaxDepth + 5 {
			top = h.add("enrtree-branch:" + top)
		}
		add("tree too deep", ErrTooDeep, h.records, h.root(top, h.add("enrtree-branch:"), 1))
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			c := NewClient(fastConfig(MapResolver(s.records)))
			tree, err := c.SyncTree(context.Background(), s.url)
			if !errors.Is(err, s.want) {
				t.Fatalf("SyncTree = %v, %v; want %v", tree, err, s.want)
			}
			var ne *NameError
			if !errors.As(err, &ne) {
				t.Fatalf("error %v does not name the DNS name", err)
			}
			t.Log(err)
		})
	}
}

func TestSyncLimitsConfigurable(t *testing.T) {
	const domain = "nodes.example.org"
	_, url := signedTree(t, 1, domain, 1, testNodes(t, 0, 200), nil)
	tree, _ := signedTree(t, 1, domain, 1, testNodes(t, 0, 200), nil)
	txt := MapResolver(tree.ToTXT(domain))
	ctx := context.Background()
	for _, tc := range []struct {
		cfg  Config
		want error
	}{
		{Config{MaxWidth: 12}, ErrTooWide},
		{Config{MaxDepth: 2}, ErrTooDeep},
		{Config{MaxEntries: 100}, ErrTooManyEntries},
		{Config{MaxDepth: 4, MaxWidth: 13, MaxEntries: 220}, nil},
	} {
		cfg := tc.cfg
		cfg.Resolver, cfg.RateLimit = txt, -1
		_, err := NewClient(cfg).SyncTree(ctx, url)
		if !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.cfg, err, tc.want)
		}
	}
}

// A branch listing a hash twice, and subtrees shared by several branches,
// cost one lookup per distinct entry.
func TestSyncSharedEntries(t *testing.T) {
	const domain = "nodes.example.org"
	nodes := testNodes(t, 0, 2)
	h := newHandTree(t, domain)
	a, b := h.add(nodes[0].String()), h.add(nodes[1].String())
	top := h.add("enrtree-branch:" + a + "," + a + "," + b)
	// 30 levels of branches that each list the level below 13 times: a
	// walk that did not deduplicate would make 13^30 lookups.
	for range 30 {
		top = h.add("enrtree-branch:" + strings.Repeat(top+",", 12) + top)
	}
	url := h.root(top, h.add("enrtree-branch:"), 1)
	res := newCountingResolver(MapResolver(h.records))
	c := NewClient(Config{Resolver: res, RateLimit: -1, MaxDepth: 40})
	tree, err := c.SyncTree(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Nodes()) != 2 {
		t.Fatalf("found %d nodes", len(tree.Nodes()))
	}
	if got, want := res.total(), len(h.records); got != want {
		t.Fatalf("%d lookups, want %d (one per record)", got, want)
	}
}

func TestSeqRollback(t *testing.T) {
	const domain = "nodes.example.org"
	nodes := testNodes(t, 0, 3)
	t5, url := signedTree(t, 1, domain, 5, nodes, nil)
	t4, _ := signedTree(t, 1, domain, 4, nodes[:2], nil)
	t5b, _ := signedTree(t, 1, domain, 5, nodes[:1], nil)
	serving := t5.ToTXT(domain)
	c := NewClient(fastConfig(ResolverFunc(func(ctx context.Context, name string) ([]string, error) {
		return MapResolver(serving).LookupTXT(ctx, name)
	})))
	ctx := context.Background()
	if _, err := c.SyncTree(ctx, url); err != nil {
		t.Fatal(err)
	}
	serving = t4.ToTXT(domain)
	_, err := c.SyncTree(ctx, url)
	var se *SeqError
	if !errors.Is(err, ErrSeqRollback) || !errors.As(err, &se) || se.Seen != 5 || se.Got != 4 {
		t.Fatalf("older root: %v", err)
	}
	// The same seq is accepted (dnsdisc.md: "larger than or equal").
	serving = t5b.ToTXT(domain)
	tree, err := c.SyncTree(ctx, url)
	if err != nil || len(tree.Nodes()) != 1 {
		t.Fatalf("equal seq: %v", err)
	}
	// Another client has not seen seq 5.
	c2 := NewClient(fastConfig(MapResolver(t4.ToTXT(domain))))
	if _, err := c2.SyncTree(ctx, url); err != nil {
		t.Fatal(err)
	}
}

// TestGarbageResolver feeds random TXT records and random errors: no sync
// panics, and one that succeeds (the real records were among the garbage
// every time) has the real nodes.
func TestGarbageResolver(t *testing.T) {
	g := loadGethTree(t)
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := func() string {
		prefixes := []string{"", "enr:", "enrtree-branch:", "enrtree://", "enrtree-root:v1 ", "enrtree-root:v1 e=RVWSTJ2NFKBWBLQFMS3JN2P5EU l="}
		b := make([]byte, rng.IntN(700))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return prefixes[rng.IntN(len(prefixes))] + string(b)
	}
	res := ResolverFunc(func(ctx context.Context, name string) ([]string, error) {
		switch rng.IntN(4) {
		case 0:
			return nil, errors.New("garbage error")
		case 1:
			return nil, nil
		case 2:
			// The real record with garbage around it.
			if txt, ok := g.Records[name]; ok {
				return []string{garbage(), txt, garbage()}, nil
			}
		}
		out := make([]string, rng.IntN(40))
		for i := range out {
			out[i] = garbage()
		}
		return out, nil
	})
	const rounds = 500
	failed := 0
	for range rounds {
		c := NewClient(fastConfig(res))
		tree, err := c.SyncTree(context.Background(), g.URL)
		if err != nil {
			failed++
			continue
		}
		if len(tree.Nodes()) != g.Nodes {
			t.Fatalf("sync over garbage found %d nodes", len(tree.Nodes()))
		}
	}
	if failed < rounds-5 {
		t.Fatalf("only %d of %d syncs over garbage failed", failed, rounds)
	}
}

// A server that never answers: each lookup ends at Config.Timeout, and the
// caller's context ends the whole.
func TestResolverTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		silent := ResolverFunc(func(ctx context.Context, name string) ([]string, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
		g := loadGethTree(t)
		c := NewClient(Config{Resolver: silent, Timeout: 2 * time.Second})
		start := time.Now()
		_, err := c.SyncTree(context.Background(), g.URL)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 2*time.Second {
			t.Fatalf("SyncTree = %v after %v, want a deadline error after 2s", err, time.Since(start))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start = time.Now()
		_, err = c.SyncTree(ctx, g.URL)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 500*time.Millisecond {
			t.Fatalf("SyncTree = %v after %v, want the caller's deadline", err, time.Since(start))
		}
	})
}

// The rate limit paces lookups: a burst, then RateLimit per second.
func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const domain = "nodes.example.org"
		tree, url := signedTree(t, 1, domain, 1, testNodes(t, 0, 40), nil)
		txt := tree.ToTXT(domain)
		res := newCountingResolver(MapResolver(txt))
		c := NewClient(Config{Resolver: res, RateLimit: 10, RateBurst: 5})
		start := time.Now()
		if _, err := c.SyncTree(context.Background(), url); err != nil {
			t.Fatal(err)
		}
		lookups := len(txt) // every record once
		if res.total() != lookups {
			t.Fatalf("%d lookups, want %d", res.total(), lookups)
		}
		want := time.Duration(float64(lookups-5) / 10 * float64(time.Second))
		if got := time.Since(start); got < want-time.Millisecond || got > want+time.Millisecond {
			t.Fatalf("%d lookups took %v, want %v", lookups, got, want)
		}
		// Cached entries are paced too, but cost no lookups.
		start = time.Now()
		if _, err := c.SyncTree(context.Background(), url); err != nil {
			t.Fatal(err)
		}
		if res.total() != lookups+1 {
			t.Fatalf("second sync made %d lookups, want only the root", res.total()-lookups)
		}
		if got := time.Since(start); got < time.Duration(lookups-1)*100*time.Millisecond {
			t.Fatalf("cached sync took %v: not paced", got)
		}
	})
}

func TestCacheLimit(t *testing.T) {
	const domain = "nodes.example.org"
	tree, url := signedTree(t, 1, domain, 1, testNodes(t, 0, 60), nil)
	txt := tree.ToTXT(domain)
	ctx := context.Background()
	for _, tc := range []struct {
		limit, wantSecond int
	}{
		{1000, 1},         // everything cached: only the root again
		{10, len(txt)},    // a walk cycles through more than the cache holds
		{len(txt) - 1, 1}, // the root is not cached, every entry fits
	} {
		res := newCountingResolver(MapResolver(txt))
		c := NewClient(Config{Resolver: res, RateLimit: -1, CacheLimit: tc.limit})
		for range 2 {
			if _, err := c.SyncTree(ctx, url); err != nil {
				t.Fatal(err)
			}
		}
		if got := res.total() - len(txt); got != tc.wantSecond {
			t.Errorf("cache limit %d: second sync made %d lookups, want %d", tc.limit, got, tc.wantSecond)
		}
		c.mu.Lock()
		if n := c.mu.cache.len(); n > tc.limit {
			t.Errorf("cache holds %d entries, limit %d", n, tc.limit)
		}
		c.mu.Unlock()
	}
}

// Concurrent requests for one entry share one lookup.
func TestInflightShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := loadGethTree(t)
		release := make(chan struct{})
		res := newCountingResolver(ResolverFunc(func(ctx context.Context, name string) ([]string, error) {
			<-release
			return MapResolver(g.Records).LookupTXT(ctx, name)
		}))
		c := NewClient(Config{Resolver: res, RateLimit: -1})
		const hash = "RVWSTJ2NFKBWBLQFMS3JN2P5EU"
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Go(func() { _, errs[i] = c.resolveEntry(context.Background(), "nodes.example.org", hash) })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := res.total(); n != 1 {
			t.Fatalf("%d lookups for one entry", n)
		}
	})
}

func TestNetResolverRootsNames(t *testing.T) {
	// Names go to the server fully qualified, so no search domain is tried.
	var got []string
	r := NetResolver{&net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, errors.New("no network in this test")
	}}}
	_, err := r.LookupTXT(context.Background(), "nodes.example.org")
	if err == nil {
		t.Fatal("lookup without network succeeded")
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		got = append(got, de.Name)
	}
	if len(got) != 1 || got[0] != "nodes.example.org." {
		t.Fatalf("looked up %v, want the rooted name", got)
	}
	if _, err := NewServerResolver("127.0.0.1"); err == nil {
		t.Fatal("server address without port accepted")
	}
}

// Other TXT records at an entry's name do not hide it; without it, the
// error is about the first candidate.
func TestEntryAmongOtherRecords(t *testing.T) {
	const domain = "nodes.example.org"
	nodes := testNodes(t, 0, 2)
	hash := EntryHash(nodes[0].String())
	name := subdomain(hash, domain)
	for _, tc := range []struct {
		records []string
		want    error
	}{
		{[]string{"v=spf1 -all", "enr:garbage", nodes[1].String(), nodes[0].String()}, nil},
		{[]string{nodes[0].String(), "enr:garbage"}, nil},
		{[]string{"v=spf1 -all", "enr:garbage", nodes[1].String()}, ErrHashMismatch},
		{[]string{"v=spf1 -all", "hello"}, ErrUnknownEntry},
		{[]string{"hello", "enr:" + strings.Repeat("A", MaxEntryLength)}, ErrEntryTooLong},
		{nil, ErrNoEntry},
	} {
		res := ResolverFunc(func(_ context.Context, n string) ([]string, error) {
			if n != name {
				return nil, errors.New("unexpected name " + n)
			}
			return tc.records, nil
		})
		e, err := NewClient(fastConfig(res)).resolveEntry(context.Background(), domain, hash)
		if tc.want == nil {
			if err != nil || e.String() != nodes[0].String() {
				t.Errorf("%q: %v, %v", tc.records, e, err)
			}
		} else if !errors.Is(err, tc.want) {
			t.Errorf("%q: %v, want %v", tc.records, err, tc.want)
		}
	}
}

// The seq floor is per tree, whatever the case of its name.
func TestSeqPerTree(t *testing.T) {
	nodes := testNodes(t, 0, 1)
	t5, url := signedTree(t, 1, "nodes.example.org", 5, nodes, nil)
	t4, _ := signedTree(t, 1, "nodes.example.org", 4, nodes, nil)
	u, _ := ParseURL(url)
	upper := NewURL("NODES.example.org.", u.Pubkey).String()
	serving := t5.ToTXT("nodes.example.org")
	// DNS names are case-insensitive.
	res := ResolverFunc(func(ctx context.Context, name string) ([]string, error) {
		for k, v := range serving {
			if strings.EqualFold(k, strings.TrimSuffix(name, ".")) {
				return []string{v}, nil
			}
		}
		return nil, errors.New("not found")
	})
	c := NewClient(fastConfig(res))
	if _, err := c.SyncTree(context.Background(), url); err != nil {
		t.Fatal(err)
	}
	serving = t4.ToTXT("nodes.example.org")
	if _, err := c.SyncTree(context.Background(), upper); !errors.Is(err, ErrSeqRollback) {
		t.Fatalf("older root under another spelling of the name: %v", err)
	}
}

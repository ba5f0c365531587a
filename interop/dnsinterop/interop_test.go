package dnsinterop

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	gdnsdisc "github.com/ethereum/go-ethereum/p2p/dnsdisc"
	genode "github.com/ethereum/go-ethereum/p2p/enode"
	genr "github.com/ethereum/go-ethereum/p2p/enr"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/dnsdisc"
	"github.com/trellis-p2p/trellis/dnsdisc/dnsbed"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// key is one private key in both libraries' types.
type key struct {
	t *crypto.PrivateKey
	g *ecdsa.PrivateKey
}

func newKey(t testing.TB, rng *rand.Rand) key {
	t.Helper()
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(rng.Uint32())
	}
	k, err := crypto.GenerateKeyFrom(rand.NewChaCha8(seed))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gcrypto.ToECDSA(crypto.FromPrivateKey(k))
	if err != nil {
		t.Fatal(err)
	}
	return key{k, g}
}

// nodeSet is a list of nodes in both libraries' types, signed by Trellis
// (even indexes) and by go-ethereum (odd ones).
type nodeSet struct {
	t []*enode.Node
	g []*genode.Node
}

func makeNodes(t testing.TB, rng *rand.Rand, n int) nodeSet {
	t.Helper()
	var ns nodeSet
	for i := range n {
		k := newKey(t, rng)
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		var text string
		if i%2 == 0 {
			var r enr.Record
			r.Set(enr.IPv4(ip))
			r.Set(enr.TCP(30303))
			r.Set(enr.UDP(30301))
			if err := enr.SignV4(&r, k.t); err != nil {
				t.Fatal(err)
			}
			text = r.String()
		} else {
			var r genr.Record
			r.Set(genr.IP(ip.AsSlice()))
			r.Set(genr.TCP(30303))
			r.Set(genr.UDP(30301))
			if err := genode.SignV4(&r, k.g); err != nil {
				t.Fatal(err)
			}
			gn, err := genode.New(genode.ValidSchemes, &r)
			if err != nil {
				t.Fatal(err)
			}
			text = gn.String()
		}
		tn, err := enode.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		gn, err := genode.Parse(genode.ValidSchemes, text)
		if err != nil {
			t.Fatal(err)
		}
		ns.t = append(ns.t, tn)
		ns.g = append(ns.g, gn)
	}
	return ns
}

func trellisTexts(nodes []*enode.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.String()
	}
	slices.Sort(out)
	return out
}

func gethTexts(nodes []*genode.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.String()
	}
	slices.Sort(out)
	return out
}

func makeLinks(t testing.TB, rng *rand.Rand, n int) []string {
	var links []string
	for i := range n {
		links = append(links, dnsdisc.NewURL(string(rune('a'+i%26))+"-link.example.org", newKey(t, rng).t.PubKey()).String())
	}
	return links
}

// TestSameTXT builds trees from the same nodes, links, seq and key with
// both libraries: the records, signature included (both sign with RFC 6979
// nonces), are identical.
func TestSameTXT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1459, 1))
	all := makeNodes(t, rng, 300)
	for _, tc := range []struct{ nodes, links int }{
		{0, 0}, {1, 0}, {0, 1}, {13, 0}, {14, 13}, {27, 14}, {169, 1}, {170, 40}, {300, 0},
	} {
		k := newKey(t, rng)
		links := makeLinks(t, rng, tc.links)
		const domain = "nodes.example.org"
		tt, err := dnsdisc.MakeTree(uint64(tc.nodes), all.t[:tc.nodes], links)
		if err != nil {
			t.Fatal(err)
		}
		turl, err := tt.Sign(k.t, domain)
		if err != nil {
			t.Fatal(err)
		}
		gt, err := gdnsdisc.MakeTree(uint(tc.nodes), all.g[:tc.nodes], links)
		if err != nil {
			t.Fatal(err)
		}
		gurl, err := gt.Sign(k.g, domain)
		if err != nil {
			t.Fatal(err)
		}
		if turl != gurl {
			t.Fatalf("URLs differ: %s vs %s", turl, gurl)
		}
		if got, want := tt.ToTXT(domain), gt.ToTXT(domain); !maps.Equal(got, want) {
			t.Fatalf("%d nodes, %d links: records differ\ntrellis %v\ngeth    %v", tc.nodes, tc.links, got, want)
		}
	}
}

// serve returns resolvers for records: from memory always, and from a
// real DNS server where one can run.
func serve(t *testing.T, records map[string]string) map[string]dnsdisc.Resolver {
	t.Helper()
	out := map[string]dnsdisc.Resolver{"memory": dnsdisc.MapResolver(records)}
	if err := dnsbed.Available(t); err != nil {
		t.Logf("from memory only: %v", err)
		return out
	}
	r, err := dnsdisc.NewServerResolver(dnsbed.Start(t, records))
	if err != nil {
		t.Fatal(err)
	}
	out["dnsmasq"] = r
	return out
}

// checkBothSync syncs url with both clients and checks they find want
// (record texts) and links, and that both random iterators, which follow
// the links, reach every node of reach.
func checkBothSync(t *testing.T, res dnsdisc.Resolver, url string, want, links, reach []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	tc := dnsdisc.NewClient(dnsdisc.Config{Resolver: res, RateLimit: 500, RateBurst: 100})
	tt, err := tc.SyncTree(ctx, url)
	if err != nil {
		t.Fatalf("Trellis sync: %v", err)
	}
	if got := trellisTexts(tt.Nodes()); !slices.Equal(got, want) {
		t.Fatalf("Trellis found %d nodes, want %d", len(got), len(want))
	}
	if got := tt.Links(); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(links))) {
		t.Fatalf("Trellis found links %v, want %v", got, links)
	}

	gc := gdnsdisc.NewClient(gdnsdisc.Config{Resolver: res, RateLimit: 500})
	gt, err := gc.SyncTree(url)
	if err != nil {
		t.Fatalf("go-ethereum sync: %v", err)
	}
	if got := gethTexts(gt.Nodes()); !slices.Equal(got, want) {
		t.Fatalf("go-ethereum found %d nodes, want %d", len(got), len(want))
	}
	if got := gt.Links(); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(links))) {
		t.Fatalf("go-ethereum found links %v, want %v", got, links)
	}

	// Both random iterators reach every node.
	tit, err := tc.NewIterator(url)
	if err != nil {
		t.Fatal(err)
	}
	defer tit.Close()
	git, err := gc.NewIterator(url)
	if err != nil {
		t.Fatal(err)
	}
	defer git.Close()
	// A stuck iterator fails the test instead of hanging it.
	stop := time.AfterFunc(30*time.Second, func() { tit.Close(); git.Close() })
	defer stop.Stop()
	wantSet := make(map[string]bool)
	for _, w := range reach {
		wantSet[w] = true
	}
	for name, next := range map[string]func() string{
		"Trellis": func() string {
			if !tit.Next() {
				t.Fatal("Trellis iterator ended")
			}
			return tit.Node().String()
		},
		"go-ethereum": func() string {
			if !git.Next() {
				t.Fatal("go-ethereum iterator ended")
			}
			return git.Node().String()
		},
	} {
		seen := make(map[string]bool)
		for i := 0; i < 20*len(reach) && len(seen) < len(reach); i++ {
			n := next()
			if !wantSet[n] {
				t.Fatalf("%s iterator yielded a node not in the tree: %s", name, n)
			}
			seen[n] = true
		}
		if len(seen) != len(reach) {
			t.Fatalf("%s iterator reached %d of %d nodes", name, len(seen), len(reach))
		}
	}
}

// linkedTrees publishes two small trees, one signed by each library, and
// returns their records, URLs and nodes.
func linkedTrees(t *testing.T, rng *rand.Rand) (map[string]string, []string, []string) {
	t.Helper()
	a, b := makeNodes(t, rng, 5), makeNodes(t, rng, 7)
	ta, err := dnsdisc.MakeTree(1, a.t, nil)
	if err != nil {
		t.Fatal(err)
	}
	urlA, err := ta.Sign(newKey(t, rng).t, "linked-a.example.org")
	if err != nil {
		t.Fatal(err)
	}
	tb, err := gdnsdisc.MakeTree(1, b.g, nil)
	if err != nil {
		t.Fatal(err)
	}
	urlB, err := tb.Sign(newKey(t, rng).g, "linked-b.example.org")
	if err != nil {
		t.Fatal(err)
	}
	records := ta.ToTXT("linked-a.example.org")
	maps.Copy(records, tb.ToTXT("linked-b.example.org"))
	return records, []string{urlA, urlB}, append(trellisTexts(a.t), trellisTexts(b.t)...)
}

// A tree signed by Trellis, linking to two others, synced by both.
func TestTrellisTree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1459, 2))
	nodes := makeNodes(t, rng, 60)
	records, links, linkedNodes := linkedTrees(t, rng)
	tree, err := dnsdisc.MakeTree(9, nodes.t, links)
	if err != nil {
		t.Fatal(err)
	}
	url, err := tree.Sign(newKey(t, rng).t, "trellis.example.org")
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(records, tree.ToTXT("trellis.example.org"))
	want := trellisTexts(nodes.t)
	for name, res := range serve(t, records) {
		t.Run(name, func(t *testing.T) { checkBothSync(t, res, url, want, links, append(want, linkedNodes...)) })
	}
}

// A tree signed by go-ethereum, linking to two others, synced by both.
func TestGethTree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1459, 3))
	nodes := makeNodes(t, rng, 60)
	records, links, linkedNodes := linkedTrees(t, rng)
	tree, err := gdnsdisc.MakeTree(4, nodes.g, links)
	if err != nil {
		t.Fatal(err)
	}
	url, err := tree.Sign(newKey(t, rng).g, "geth.example.org")
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(records, tree.ToTXT("geth.example.org"))
	want := gethTexts(nodes.g)
	for name, res := range serve(t, records) {
		t.Run(name, func(t *testing.T) { checkBothSync(t, res, url, want, links, append(want, linkedNodes...)) })
	}
}

// The go-ethereum tree of the DNS testbed (dnsdisc/testdata/gethtree.json):
// 5 nodes for both clients.
func TestTestbedTree(t *testing.T) {
	var g struct {
		URL     string            `json:"url"`
		Nodes   int               `json:"nodes"`
		Records map[string]string `json:"records"`
	}
	data, err := os.ReadFile("../../dnsdisc/testdata/gethtree.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, txt := range g.Records {
		if strings.HasPrefix(txt, "enr:") {
			want = append(want, txt)
		}
	}
	slices.Sort(want)
	if len(want) != g.Nodes {
		t.Fatalf("testdata has %d records, says %d", len(want), g.Nodes)
	}
	for name, res := range serve(t, g.Records) {
		t.Run(name, func(t *testing.T) { checkBothSync(t, res, g.URL, want, nil, want) })
	}
}

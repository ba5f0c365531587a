package dnsdisc

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// MakeTree lays out go-ethereum's example tree identically: same entries,
// same hashes, so the same root text and signature.
func TestMakeTreeMatchesGeth(t *testing.T) {
	g := loadGethTree(t)
	root, err := ParseRoot(g.Records["nodes.example.org"])
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*enode.Node
	for _, text := range g.Records {
		if strings.HasPrefix(text, "enr:") {
			nodes = append(nodes, enode.MustParse(text))
		}
	}
	tree, err := MakeTree(root.Seq, nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ParseURL(g.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.SetSignature(u.Pubkey, b64.EncodeToString(root.Sig)); err != nil {
		t.Fatalf("go-ethereum's signature does not fit the tree MakeTree built: %v", err)
	}
	if got := tree.ToTXT(u.Domain); !maps.Equal(got, g.Records) {
		t.Fatalf("ToTXT differs from go-ethereum's records:\n got %v\nwant %v", got, g.Records)
	}
}

func TestMakeTreeShape(t *testing.T) {
	nodes := testNodes(t, 0, 200)
	var links []string
	for i := range 20 {
		links = append(links, NewURL("l"+strings.Repeat("x", i)+".example.org", testKey(t, uint64(50+i)).PubKey()).String())
	}
	tree, url := signedTree(t, 1, "nodes.example.org", 3, nodes, links)
	if !strings.HasPrefix(url, "enrtree://") || !strings.HasSuffix(url, "@nodes.example.org") {
		t.Fatalf("URL %s", url)
	}
	txt := tree.ToTXT("nodes.example.org")
	// 200 leaves in branches of 13: 16 branches, which make 2 branches
	// under a root branch; 20 links: 2 branches under a root branch; and
	// the root.
	if want := 200 + 16 + 2 + 1 + 20 + 2 + 1 + 1; len(txt) != want {
		t.Errorf("%d records, want %d", len(txt), want)
	}
	for name, text := range txt {
		if len(text) > MaxEntryLength {
			t.Errorf("%s: %d bytes", name, len(text))
		}
		if name == "nodes.example.org" {
			continue
		}
		if h, _, _ := strings.Cut(name, "."); EntryHash(text) != h {
			t.Errorf("%s does not hash to its name", name)
		}
		if b, ok := strings.CutPrefix(text, branchPrefix); ok && strings.Count(b, ",") >= buildWidth {
			t.Errorf("branch %s is wider than %d", name, buildWidth)
		}
	}
	if !slices.Equal(tree.Links(), links) {
		t.Error("Links() lost the order")
	}
	if got := nodeIDs(tree.Nodes()); !slices.Equal(got, nodeIDs(nodes)) {
		t.Error("Nodes() differ")
	}
	// The sync of the published records gives the same tree, the links in
	// their original order.
	c := NewClient(fastConfig(MapResolver(txt)))
	synced, err := c.SyncTree(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(synced.Links(), links) || !slices.Equal(nodeIDs(synced.Nodes()), nodeIDs(nodes)) || synced.Seq() != 3 {
		t.Fatalf("synced tree differs: %d nodes, links %v", len(synced.Nodes()), synced.Links())
	}
	if !maps.Equal(synced.ToTXT("nodes.example.org"), txt) {
		t.Fatal("synced tree publishes different records")
	}
}

func TestMakeTreeSmall(t *testing.T) {
	// No nodes and no links: two empty branches.
	tree, err := MakeTree(0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	txt := tree.ToTXT("")
	if len(txt) != 2 || txt[EntryHash("enrtree-branch:")] != "enrtree-branch:" {
		t.Fatalf("empty tree: %v", txt)
	}
	// One node is its own subtree root.
	n := testNodes(t, 0, 1)[0]
	tree, err = MakeTree(1, []*enode.Node{n}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := tree.Root(); r.ENRRoot != EntryHash(n.String()) {
		t.Fatalf("single-node tree root %s", r.ENRRoot)
	}
}

func TestMakeTreeErrors(t *testing.T) {
	nodes := testNodes(t, 0, 2)
	unsigned := enode.NewV4(testKey(t, 9).PubKey(), netip.MustParseAddr("10.0.0.1"), 30303, 30303)
	var badPort enr.Record
	badPort.Set(enr.RawEntry{Key: "tcp", Value: []byte{0x83, 1, 2, 3}}) // 3-byte port
	if err := enr.SignV4(&badPort, testKey(t, 10)); err != nil {
		t.Fatal(err)
	}
	badPortNode, err := enode.New(&badPort)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		nodes []*enode.Node
		links []string
	}{
		{"unsigned node", []*enode.Node{unsigned}, nil},
		{"bad port", []*enode.Node{badPortNode}, nil},
		{"duplicate node", []*enode.Node{nodes[0], nodes[1], nodes[0]}, nil},
		{"bad link", nodes, []string{"enrtree://bad@x.org"}},
		{"link is not a URL", nodes, []string{"x.org"}},
	} {
		if _, err := MakeTree(1, tc.nodes, tc.links); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}

	tree, err := MakeTree(1, nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.Sign(testKey(t, 1), "bad domain"); !errors.Is(err, ErrBadURL) {
		t.Errorf("Sign with a bad domain: %v", err)
	}
	if err := tree.SetSignature(testKey(t, 1).PubKey(), "!!"); !errors.Is(err, ErrBadBase64) {
		t.Errorf("SetSignature of bad base64: %v", err)
	}
	if _, err := tree.Sign(testKey(t, 1), "x.org"); err != nil {
		t.Fatal(err)
	}
	sig := tree.Signature()
	if err := tree.SetSignature(testKey(t, 2).PubKey(), sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("SetSignature under another key: %v", err)
	}
	if err := tree.SetSignature(testKey(t, 1).PubKey(), sig); err != nil {
		t.Errorf("SetSignature of the tree's own signature: %v", err)
	}
}

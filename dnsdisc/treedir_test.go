package dnsdisc

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testdata/gethdir is a directory in go-ethereum's layout (nodes.json with
// the crawler's fields, enrtree-info.json signed by go-ethereum) for the
// tree of testdata/gethtree.json.
func TestReadGethDir(t *testing.T) {
	d, err := ReadTreeDir("testdata/gethdir")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Nodes) != 5 || d.Meta.Seq != 1 || len(d.Meta.Links) != 0 {
		t.Fatalf("read %d nodes, seq %d, links %v", len(d.Nodes), d.Meta.Seq, d.Meta.Links)
	}
	domain, tree, err := d.SignedTree()
	if err != nil {
		t.Fatal(err)
	}
	if g := loadGethTree(t); domain != "nodes.example.org" || !maps.Equal(tree.ToTXT(domain), g.Records) {
		t.Fatal("the directory does not give go-ethereum's records")
	}
	// The crawler's fields survive a rewrite.
	dir := t.TempDir()
	if err := WriteNodeSet(dir, d.Nodes); err != nil {
		t.Fatal(err)
	}
	again, err := ReadTreeDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(again.Nodes)
	b, _ := json.Marshal(d.Nodes)
	if string(a) != string(b) || !strings.Contains(string(a), `"lastResponse":"2024-05-01T10:00:00Z"`) {
		t.Fatal("nodes.json changed in a round trip")
	}
	if again.Meta.Seq != 0 || again.Meta.Links == nil {
		t.Fatalf("a directory without enrtree-info.json reads as %+v", again.Meta)
	}
}

func TestTreeDirRoundTrip(t *testing.T) {
	dir := t.TempDir()
	nodes := testNodes(t, 0, 30)
	links := []string{NewURL("b.example.org", testKey(t, 2).PubKey()).String(), NewURL("a.example.org", testKey(t, 3).PubKey()).String()}
	if err := WriteNodeSet(dir, NewNodeSet(nodes)); err != nil {
		t.Fatal(err)
	}
	if err := WriteTreeMeta(dir, TreeMeta{Seq: 4, Links: links}); err != nil {
		t.Fatal(err)
	}
	d, err := ReadTreeDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := d.Tree()
	if err != nil {
		t.Fatal(err)
	}
	url, err := tree.Sign(testKey(t, 1), "nodes.example.org")
	if err != nil {
		t.Fatal(err)
	}
	modified := time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := WriteTreeMeta(dir, TreeMetaOf(url, tree, modified)); err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"url": "` + url + `"`, `"seq": 4`, `"signature": "`, `"lastModified": "2025-02-03T04:05:06Z"`, `"links": [`} {
		if !strings.Contains(string(meta), want) {
			t.Errorf("%s lacks %s:\n%s", MetaFile, want, meta)
		}
	}
	d, err = ReadTreeDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Meta.Links, links) {
		t.Fatalf("links reordered: %v", d.Meta.Links)
	}
	domain, signed, err := d.SignedTree()
	if err != nil {
		t.Fatal(err)
	}
	if domain != "nodes.example.org" || !maps.Equal(signed.ToTXT(domain), tree.ToTXT(domain)) {
		t.Fatal("the signed directory does not give the signed tree")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Fatalf("directory holds %d files, want 2 (no temporary files left)", len(entries))
	}
}

func TestTreeDirErrors(t *testing.T) {
	n := testNodes(t, 0, 2)
	id0, id1 := n[0].ID().String(), n[1].ID().String()
	for _, tc := range []struct {
		name, nodes, meta, want string
	}{
		{"no nodes.json", "", "", "no such file"},
		{"nodes.json not JSON", "{", "", "unexpected end"},
		{"record under another ID", `{"` + id1 + `": {"seq": 1, "record": "` + n[0].String() + `"}}`, "", "record has ID"},
		{"seq mismatch", `{"` + id0 + `": {"seq": 9, "record": "` + n[0].String() + `"}}`, "", "'seq' is 9"},
		{"bad record", `{"` + id0 + `": {"seq": 1, "record": "enr:xyz"}}`, "", "enr"},
		{"missing record", `{"` + id0 + `": {"seq": 1}}`, "", "no record"},
		{"bad link", `{}`, `{"seq": 1, "links": ["enrtree://x@y.org"]}`, "link"},
		{"bad url", `{}`, `{"seq": 1, "url": "https://example.org", "links": []}`, "'url'"},
		{"meta not JSON", `{}`, `[1]`, "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.nodes != "" {
				os.WriteFile(filepath.Join(dir, NodesFile), []byte(tc.nodes), 0o644)
			}
			if tc.meta != "" {
				os.WriteFile(filepath.Join(dir, MetaFile), []byte(tc.meta), 0o644)
			}
			_, err := ReadTreeDir(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadTreeDir: %v, want an error containing %q", err, tc.want)
			}
		})
	}

	// A signature that does not match the tree (a node was added after
	// signing) is refused by SignedTree.
	d, err := ReadTreeDir("testdata/gethdir")
	if err != nil {
		t.Fatal(err)
	}
	d.Nodes[n[0].ID()] = NodeJSON{Seq: n[0].Seq(), Record: n[0]}
	if _, _, err := d.SignedTree(); err == nil || !strings.Contains(err.Error(), "sign it again") {
		t.Fatalf("changed tree: %v", err)
	}
	d.Meta.Sig = ""
	if _, _, err := d.SignedTree(); err == nil || !strings.Contains(err.Error(), "sign the tree first") {
		t.Fatalf("unsigned tree: %v", err)
	}
}

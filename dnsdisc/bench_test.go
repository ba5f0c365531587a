package dnsdisc

import (
	"context"
	"testing"
)

func BenchmarkParseEntry(b *testing.B) {
	for _, bc := range []struct{ name, text string }{
		{"enr", exampleENR},
		{"branch", exampleBranch},
		{"link", exampleLink},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseEntry(bc.text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("root+verify", func(b *testing.B) {
		u, _ := ParseURL("enrtree://AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2@nodes.example.org")
		b.ReportAllocs()
		for b.Loop() {
			r, err := ParseRoot(exampleRoot)
			if err != nil {
				b.Fatal(err)
			}
			if err := r.Verify(u.Pubkey); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// MakeTree and Sign of a 1000-node tree.
func BenchmarkMakeTree(b *testing.B) {
	nodes := testNodes(b, 0, 1000)
	key := testKey(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		t, err := MakeTree(1, nodes, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := t.Sign(key, "nodes.example.org"); err != nil {
			b.Fatal(err)
		}
	}
}

// SyncTree of a 1000-node tree from memory, with a cold cache: parsing,
// hashing and record verification, no network.
func BenchmarkSyncTree(b *testing.B) {
	tree, url := signedTree(b, 1, "nodes.example.org", 1, testNodes(b, 0, 1000), nil)
	res := MapResolver(tree.ToTXT("nodes.example.org"))
	b.ReportAllocs()
	for b.Loop() {
		c := NewClient(Config{Resolver: res, RateLimit: -1, CacheLimit: 2000})
		if _, err := c.SyncTree(context.Background(), url); err != nil {
			b.Fatal(err)
		}
	}
}

// Next of an iterator over a cached 1000-node tree.
func BenchmarkIteratorNext(b *testing.B) {
	tree, url := signedTree(b, 1, "nodes.example.org", 1, testNodes(b, 0, 1000), nil)
	c := NewClient(Config{Resolver: MapResolver(tree.ToTXT("nodes.example.org")), RateLimit: -1, CacheLimit: 2000})
	it, err := c.NewIterator(url)
	if err != nil {
		b.Fatal(err)
	}
	defer it.Close()
	for range 2000 {
		it.Next()
	}
	b.ReportAllocs()
	for b.Loop() {
		if !it.Next() {
			b.Fatal("iterator ended")
		}
	}
}

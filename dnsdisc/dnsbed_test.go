package dnsdisc

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/dnsdisc/dnsbed"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// Tests against a real DNS server: dnsmasq on a loopback address, started
// by scripts/dnsbed/dnsbed.sh. They skip where it cannot run.

func serverClient(t *testing.T, addr string) *Client {
	t.Helper()
	r, err := NewServerResolver(addr)
	if err != nil {
		t.Fatal(err)
	}
	return NewClient(Config{Resolver: r, RateLimit: 200, RateBurst: 50, Timeout: 3 * time.Second})
}

// go-ethereum's tree from the testbed, synced by Trellis, and its nodes
// read through the enode.Iterator interface.
func TestDNSMasqGethTree(t *testing.T) {
	g := loadGethTree(t)
	addr := dnsbed.Start(t, g.Records)
	c := serverClient(t, addr)
	tree, err := c.SyncTree(context.Background(), g.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Nodes()) != g.Nodes {
		t.Fatalf("synced %d nodes, want %d", len(tree.Nodes()), g.Nodes)
	}
	if !maps.Equal(tree.ToTXT("nodes.example.org"), g.Records) {
		t.Fatal("synced tree publishes different records")
	}

	it, err := c.NewIterator(g.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var iter enode.Iterator = it
	seen := readUntil(t, iter, tree.Nodes(), 100)
	if len(seen) != g.Nodes {
		t.Fatalf("iterator yielded %d distinct nodes", len(seen))
	}
}

// A Trellis-signed tree with records longer than one 255-byte TXT string
// (dnsmasq splits them, the resolver joins them) and a link.
func TestDNSMasqTrellisTree(t *testing.T) {
	const domain = "trellis.example.org"
	nodes := append(testNodes(t, 0, 40), bigNode(t, 77))
	if len(bigNode(t, 77).String()) <= 255 {
		t.Fatal("test record is not longer than a TXT string")
	}
	link := NewURL("other.example.org", testKey(t, 9).PubKey()).String()
	tree, url := signedTree(t, 1, domain, 7, nodes, []string{link})
	addr := dnsbed.Start(t, tree.ToTXT(domain))
	c := serverClient(t, addr)
	synced, err := c.SyncTree(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if synced.Seq() != 7 || len(synced.Nodes()) != len(nodes) || len(synced.Links()) != 1 || synced.Links()[0] != link {
		t.Fatalf("synced seq %d, %d nodes, links %v", synced.Seq(), len(synced.Nodes()), synced.Links())
	}
	if !maps.Equal(synced.ToTXT(domain), tree.ToTXT(domain)) {
		t.Fatal("synced tree publishes different records")
	}
}

// bigNode returns a node whose text form is about 300 bytes.
func bigNode(t *testing.T, i int) *enode.Node {
	t.Helper()
	var r enr.Record
	r.Set(enr.IPv4(netip.AddrFrom4([4]byte{10, 1, 2, byte(i)})))
	r.Set(enr.TCP(30303))
	r.Set(enr.Generic{Key: "pad", Value: strings.Repeat("x", 100)})
	if err := enr.SignV4(&r, testKey(t, uint64(5000+i))); err != nil {
		t.Fatal(err)
	}
	n, err := enode.New(&r)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Broken trees served by a real server fail with the same errors as over
// MapResolver, naming the DNS name.
func TestDNSMasqBrokenTrees(t *testing.T) {
	const domain = "broken.example.org"
	nodes := testNodes(t, 0, 5)
	tree, url := signedTree(t, 1, domain, 1, nodes, nil)
	txt := tree.ToTXT(domain)
	leaf := subdomain(EntryHash(nodes[2].String()), domain)
	missingLeaf := subdomain(EntryHash(nodes[3].String()), domain)
	records := merge(txt, map[string]string{leaf: nodes[1].String()})
	delete(records, missingLeaf)
	// The records of a second tree at another name: one whose root is not
	// signed by the URL's key, next to garbage TXT records.
	other, _ := signedTree(t, 2, "forged.example.org", 1, nodes, nil)
	for k, v := range other.ToTXT("forged.example.org") {
		records[k] = v
	}
	addr := dnsbed.Start(t, records,
		`txt-record=garbage.example.org,"v=spf1 -all"`,
		`txt-record=garbage.example.org,"hello","world"`,
	)
	ctx := context.Background()

	_, err := serverClient(t, addr).SyncTree(ctx, url)
	if !errors.Is(err, ErrHashMismatch) && !isNotFound(err) {
		t.Fatalf("broken tree: %v", err)
	}
	// Each fault on its own, through resolveEntry.
	c := serverClient(t, addr)
	leafHash, _, _ := strings.Cut(leaf, ".")
	if _, err := c.resolveEntry(ctx, domain, leafHash); !errors.Is(err, ErrHashMismatch) {
		t.Errorf("replaced leaf: %v", err)
	}
	missingHash, _, _ := strings.Cut(missingLeaf, ".")
	if _, err := c.resolveEntry(ctx, domain, missingHash); !isNotFound(err) || !strings.Contains(err.Error(), addr) {
		t.Errorf("missing leaf: %v (want NXDOMAIN naming %s)", err, addr)
	}
	forgedURL := NewURL("forged.example.org", testKey(t, 1).PubKey()).String()
	if _, err := c.SyncTree(ctx, forgedURL); !errors.Is(err, ErrBadSignature) {
		t.Errorf("root under another key: %v", err)
	}
	garbageURL := NewURL("garbage.example.org", testKey(t, 1).PubKey()).String()
	if _, err := c.SyncTree(ctx, garbageURL); !errors.Is(err, ErrNoRoot) {
		t.Errorf("name with garbage records: %v", err)
	}
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// Servers that answer garbage or nothing: lookups end at the timeout.
// These use Go sockets on loopback and run everywhere.
func TestBadServers(t *testing.T) {
	g := loadGethTree(t)
	for _, tc := range []struct {
		name  string
		reply func(query []byte) []byte
	}{
		{"silent", func([]byte) []byte { return nil }},
		{"random bytes", func([]byte) []byte {
			b := make([]byte, rand.IntN(600))
			for i := range b {
				b[i] = byte(rand.Uint32())
			}
			return b
		}},
		{"right ID, garbage body", func(q []byte) []byte {
			if len(q) < 2 {
				return nil
			}
			b := make([]byte, 12+rand.IntN(100))
			copy(b, q[:2])
			b[2] = 0x81 // response
			for i := 3; i < len(b); i++ {
				b[i] = byte(rand.Uint32())
			}
			return b
		}},
		{"truncated header", func(q []byte) []byte { return q[:min(len(q), 5)] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := udpServer(t, tc.reply)
			r, err := NewServerResolver(addr)
			if err != nil {
				t.Fatal(err)
			}
			c := NewClient(Config{Resolver: r, Timeout: 300 * time.Millisecond})
			start := time.Now()
			_, err = c.SyncTree(context.Background(), g.URL)
			if err == nil {
				t.Fatal("sync from a bad server succeeded")
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("sync took %v", d)
			}
			if !strings.Contains(err.Error(), addr) {
				t.Errorf("error does not name the server: %v", err)
			}
			t.Log(err)
		})
	}
}

// udpServer answers every datagram on a loopback port with reply(query),
// or not at all when reply returns nil.
func udpServer(t *testing.T, reply func([]byte) []byte) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := reply(buf[:n]); out != nil {
				conn.WriteTo(out, from)
			}
		}
	}()
	return conn.LocalAddr().String()
}

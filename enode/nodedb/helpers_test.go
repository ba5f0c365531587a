package nodedb

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// testKey derives a private key from i, the same in every process: the
// crash test's parent recomputes what its child wrote.
func testKey(i uint64) *crypto.PrivateKey {
	for ctr := uint64(0); ; ctr++ {
		seed := sha256.Sum256(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, i), ctr))
		if k, err := crypto.ToPrivateKey(seed[:]); err == nil {
			return k
		}
	}
}

// testNode signs a v4 record with the given seq and endpoint.
func testNode(t testing.TB, key *crypto.PrivateKey, seq uint64, ip netip.Addr, port uint16) *enode.Node {
	t.Helper()
	var r enr.Record
	if ip.Is4() {
		r.Set(enr.IPv4(ip))
	} else {
		r.Set(enr.IPv6(ip))
	}
	r.Set(enr.UDP(port))
	r.Set(enr.TCP(port))
	r.SetSeq(seq)
	if err := enr.SignV4(&r, key); err != nil {
		t.Fatal(err)
	}
	n, err := enode.New(&r)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// nullNode makes a node of the "null" identity scheme: cheap to create in
// bulk, read back by a DB opened WithIdentitySchemes(enode.TestSchemes()).
func nullNode(id enode.ID, seq uint64, ip netip.Addr) *enode.Node {
	var r enr.Record
	r.Set(enr.IPv4(ip))
	r.Set(enr.UDP(30303))
	r.SetSeq(seq)
	return enode.SignNull(&r, id)
}

func idFor(i uint64) enode.ID {
	return enode.ID(sha256.Sum256(binary.BigEndian.AppendUint64([]byte("id"), i)))
}

func ipFor(i uint64) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

// dbModes runs a test on an in-memory and an on-disk database.
func dbModes(t *testing.T, fn func(t *testing.T, path string)) {
	t.Run("mem", func(t *testing.T) { fn(t, "") })
	t.Run("bolt", func(t *testing.T) { fn(t, filepath.Join(t.TempDir(), "nodes.db")) })
}

func mustOpen(t testing.TB, path string, opts ...Option) *DB {
	t.Helper()
	db, err := Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func recordBytes(t testing.TB, n *enode.Node) []byte {
	t.Helper()
	b, err := n.Record().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeClock is a Clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(now time.Time) *fakeClock { return &fakeClock{now: now} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// putRaw writes straight into the store, bypassing every encoder, to plant
// values this package would never write.
func putRaw(t testing.TB, db *DB, key, val []byte) {
	t.Helper()
	if err := db.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := db.store.update(func(w kvWriter) error { return w.put(key, val) }); err != nil {
		t.Fatal(err)
	}
}

// dbGoroutines returns the stacks of the database's own goroutines (the
// batch writer and the expirer), for tests that check Close stops them
// while other tests may still be running.
func dbGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "nodedb.(*batchWriter).loop") || strings.Contains(g, "nodedb.(*DB).expireLoop") {
			found = append(found, g)
		}
	}
	return strings.Join(found, "\n\n")
}

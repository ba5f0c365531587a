package nodedb

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

func TestNodeRoundTrip(t *testing.T) {
	dbModes(t, func(t *testing.T, path string) {
		db := mustOpen(t, path)
		n := testNode(t, testKey(1), 3, netip.MustParseAddr("203.0.113.7"), 30303)
		if got := db.Node(n.ID()); got != nil {
			t.Fatalf("Node of unknown ID = %v, want nil", got)
		}
		if err := db.UpdateNode(n); err != nil {
			t.Fatal(err)
		}
		check := func(db *DB) {
			t.Helper()
			got := db.Node(n.ID())
			if got == nil {
				t.Fatal("stored node not found")
			}
			if !bytes.Equal(recordBytes(t, got), recordBytes(t, n)) {
				t.Fatal("record changed in storage")
			}
			if got.ID() != n.ID() || got.Seq() != 3 || got.IPAddr() != n.IPAddr() || got.UDP() != 30303 || got.TCP() != 30303 {
				t.Fatalf("decoded node %v differs from stored %v", got, n)
			}
		}
		check(db)
		if path == "" {
			return
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db2 := mustOpen(t, path)
		check(db2)
	})
}

func TestUpdateNodeKeepsHighestSeq(t *testing.T) {
	dbModes(t, func(t *testing.T, path string) {
		db := mustOpen(t, path)
		key := testKey(2)
		ip := netip.MustParseAddr("192.0.2.1")
		steps := []struct {
			seq, want uint64
			why       string
		}{
			{5, 5, "first record is stored"},
			{3, 5, "a lower seq does not replace a newer record"},
			{7, 7, "a higher seq replaces"},
			{7, 7, "the same seq may be written again"},
			{0, 7, "seq zero is lower than everything"},
		}
		for _, s := range steps {
			if err := db.UpdateNode(testNode(t, key, s.seq, ip, 1)); err != nil {
				t.Fatal(err)
			}
			if got := db.Node(enode.PubkeyToIDV4(key.PubKey())); got == nil || got.Seq() != s.want {
				t.Fatalf("%s: stored seq %v, want %d", s.why, got, s.want)
			}
		}
	})
}

func TestUpdateNodeConcurrentSeqs(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "db"))
	key := testKey(3)
	nodes := make([]*enode.Node, 40)
	for i := range nodes {
		nodes[i] = testNode(t, key, uint64(i), netip.MustParseAddr("192.0.2.2"), 1)
	}
	var wg sync.WaitGroup
	for i := len(nodes) - 1; i >= 0; i-- {
		wg.Go(func() { db.UpdateNode(nodes[i]) })
	}
	wg.Wait()
	if got := db.Node(nodes[0].ID()); got == nil || got.Seq() != uint64(len(nodes)-1) {
		t.Fatalf("after racing updates stored %v, want seq %d", got, len(nodes)-1)
	}
}

func TestUpdateNodeRejects(t *testing.T) {
	db := mustOpen(t, "")
	if err := db.UpdateNode(nil); !errors.Is(err, ErrNilNode) {
		t.Fatalf("UpdateNode(nil) = %v", err)
	}
	unsigned := enode.NewV4(testKey(4).PubKey(), netip.MustParseAddr("192.0.2.3"), 1, 1)
	if err := db.UpdateNode(unsigned); !errors.Is(err, enr.ErrUnsigned) {
		t.Fatalf("UpdateNode(unsigned) = %v, want enr.ErrUnsigned", err)
	}
	if db.Node(unsigned.ID()) != nil {
		t.Fatal("refused node was stored")
	}
}

func TestDeleteNode(t *testing.T) {
	dbModes(t, func(t *testing.T, path string) {
		db := mustOpen(t, path)
		ip1, ip2 := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::1")
		victim := testNode(t, testKey(10), 1, ip1, 1)
		// A neighbour whose ID differs from the victim's in the last byte
		// only must survive the prefix deletion.
		nb := victim.ID()
		nb[len(nb)-1] ^= 1
		now := time.UnixMilli(1_700_000_000_000)
		for _, id := range []enode.ID{victim.ID(), nb} {
			for _, ip := range []netip.Addr{ip1, ip2} {
				db.UpdateLastPingReceived(id, ip, now)
				db.UpdateLastPongReceived(id, ip, now)
				db.UpdateFindFails(id, ip, 2)
				db.UpdateFindFailsV5(id, ip, 3)
			}
			db.StoreLocalSeq(id, 99)
		}
		db.UpdateNode(victim)

		db.DeleteNode(victim.ID())
		if db.Node(victim.ID()) != nil {
			t.Error("record survived DeleteNode")
		}
		for _, ip := range []netip.Addr{ip1, ip2} {
			if !db.LastPingReceived(victim.ID(), ip).IsZero() || !db.LastPongReceived(victim.ID(), ip).IsZero() ||
				db.FindFails(victim.ID(), ip) != 0 || db.FindFailsV5(victim.ID(), ip) != 0 {
				t.Errorf("endpoint data at %v survived DeleteNode", ip)
			}
			if !db.LastPongReceived(nb, ip).Equal(now) || db.FindFailsV5(nb, ip) != 3 {
				t.Errorf("neighbour's data at %v lost", ip)
			}
		}
		if db.LocalSeq(victim.ID()) != 99 {
			t.Error("DeleteNode removed the local sequence number")
		}
		// After a commit the store agrees.
		if err := db.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		db.store.view(func(r kvReader) error {
			return r.ascend(nodePrefix(victim.ID()), func(k, _ []byte) bool {
				if bytes.HasPrefix(k, nodePrefix(victim.ID())) {
					t.Errorf("key %x left in store", k)
				}
				return false
			})
		})
		// A deleted node can come back.
		db.UpdateNode(victim)
		if db.Node(victim.ID()) == nil {
			t.Fatal("node not stored again after delete")
		}
	})
}

func TestEndpointData(t *testing.T) {
	dbModes(t, func(t *testing.T, path string) {
		db := mustOpen(t, path)
		id := idFor(1)
		v4 := netip.MustParseAddr("198.51.100.4")
		mapped := netip.MustParseAddr("::ffff:198.51.100.4")
		v6 := netip.MustParseAddr("2001:db8::4")
		t1 := time.UnixMilli(1_700_000_000_123)
		t2 := t1.Add(time.Hour)

		// Nothing stored yet: zero values.
		if !db.LastPingReceived(id, v4).IsZero() || !db.LastPongReceived(id, v4).IsZero() || db.FindFails(id, v4) != 0 || db.FindFailsV5(id, v4) != 0 {
			t.Fatal("zero values expected for unknown endpoint")
		}

		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(db.UpdateLastPingReceived(id, v4, t1))
		must(db.UpdateLastPongReceived(id, v4, t2))
		must(db.UpdateFindFails(id, v4, 4))
		must(db.UpdateFindFailsV5(id, v4, 5))
		must(db.UpdateLastPongReceived(id, v6, t1))

		if got := db.LastPingReceived(id, v4); !got.Equal(t1) {
			t.Errorf("LastPingReceived = %v, want %v", got, t1)
		}
		if got := db.LastPongReceived(id, v4); !got.Equal(t2) {
			t.Errorf("LastPongReceived = %v, want %v", got, t2)
		}
		if got := db.FindFails(id, v4); got != 4 {
			t.Errorf("FindFails = %d, want 4", got)
		}
		if got := db.FindFailsV5(id, v4); got != 5 {
			t.Errorf("FindFailsV5 = %d, want 5 (kept apart from v4)", got)
		}
		if got := db.LastPongReceived(id, v6); !got.Equal(t1) {
			t.Errorf("pong at second IP = %v, want %v", got, t1)
		}
		if got := db.LastPingReceived(id, v6); !got.IsZero() {
			t.Errorf("ping at second IP = %v, want zero: IPs are kept apart", got)
		}
		if got := db.LastPongReceived(idFor(2), v4); !got.IsZero() {
			t.Errorf("pong of another ID = %v, want zero", got)
		}

		// A 4in6 address is the same endpoint as its IPv4 form.
		if got := db.LastPongReceived(id, mapped); !got.Equal(t2) {
			t.Errorf("pong via 4in6 address = %v, want %v", got, t2)
		}
		must(db.UpdateFindFails(id, mapped, 0))
		if got := db.FindFails(id, v4); got != 0 {
			t.Errorf("update via 4in6 address not seen at IPv4 form: %d", got)
		}

		// Sub-millisecond precision is dropped; the zero time survives.
		must(db.UpdateLastPingReceived(id, v4, t1.Add(999*time.Microsecond)))
		if got := db.LastPingReceived(id, v4); !got.Equal(t1) {
			t.Errorf("ping with µs = %v, want truncation to %v", got, t1)
		}
		must(db.UpdateLastPingReceived(id, v4, time.Time{}))
		if got := db.LastPingReceived(id, v4); !got.IsZero() {
			t.Errorf("zero time read back as %v", got)
		}

		// Invalid input.
		var bad netip.Addr
		for name, err := range map[string]error{
			"ping":    db.UpdateLastPingReceived(id, bad, t1),
			"pong":    db.UpdateLastPongReceived(id, bad, t1),
			"fails":   db.UpdateFindFails(id, bad, 1),
			"failsV5": db.UpdateFindFailsV5(id, bad, 1),
		} {
			if !errors.Is(err, ErrInvalidIP) {
				t.Errorf("%s with invalid IP: %v, want ErrInvalidIP", name, err)
			}
		}
		if !db.LastPongReceived(id, bad).IsZero() || db.FindFails(id, bad) != 0 {
			t.Error("reads with invalid IP should return zero values")
		}
		if err := db.UpdateFindFails(id, v4, -1); !errors.Is(err, ErrNegativeCount) {
			t.Errorf("negative count: %v", err)
		}
		if err := db.UpdateFindFailsV5(id, v4, -1); !errors.Is(err, ErrNegativeCount) {
			t.Errorf("negative count v5: %v", err)
		}
	})
}

func TestLocalSeq(t *testing.T) {
	dbModes(t, func(t *testing.T, path string) {
		db := mustOpen(t, path)
		id := idFor(7)
		if got := db.LocalSeq(id); got != 0 {
			t.Fatalf("LocalSeq of unknown ID = %d, want 0", got)
		}
		db.StoreLocalSeq(id, 1<<40+3)
		if got := db.LocalSeq(id); got != 1<<40+3 {
			t.Fatalf("LocalSeq = %d", got)
		}
		// StoreLocalSeq returns only once the number is in the store.
		var inStore uint64
		db.store.view(func(r kvReader) error {
			v, _ := r.get(localSeqKey(id))
			inStore, _ = decodeUint64(v)
			return nil
		})
		if inStore != 1<<40+3 {
			t.Fatalf("store holds %d after StoreLocalSeq", inStore)
		}
		if got := db.LocalSeq(idFor(8)); got != 0 {
			t.Fatalf("LocalSeq of another ID = %d", got)
		}
	})
}

func TestLocalNodeUsesDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	key := testKey(20)
	db := mustOpen(t, path)
	ln := enode.NewLocalNode(db, key)
	ln.Set(enr.UDP(30303))
	first := ln.Node().Seq()
	ln.Set(enr.UDP(30304))
	second := ln.Node().Seq()
	if second != first+1 {
		t.Fatalf("seqs %d then %d", first, second)
	}
	db.Close()

	db = mustOpen(t, path)
	ln = enode.NewLocalNode(db, key)
	ln.Set(enr.UDP(30305))
	if got := ln.Node().Seq(); got != second+1 {
		t.Fatalf("after reopen the local record has seq %d, want %d", got, second+1)
	}
}

// captureHandler records log messages.
type captureHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Message)
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func TestVersionMismatchWipes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	db := mustOpen(t, path)
	if db.Wiped() {
		t.Fatal("new database reported as wiped")
	}
	id := idFor(1)
	db.UpdateLastPongReceived(id, ipFor(1), time.UnixMilli(1))
	db.Close()

	setVersion := func(val []byte) {
		t.Helper()
		s, err := openBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		err = s.update(func(w kvWriter) error {
			if val == nil {
				return w.del(versionKey)
			}
			return w.put(versionKey, val)
		})
		if err != nil {
			t.Fatal(err)
		}
		s.close()
	}

	// Same version: data stays.
	db = mustOpen(t, path)
	if db.Wiped() || db.LastPongReceived(id, ipFor(1)).IsZero() {
		t.Fatal("data of the current version was wiped")
	}
	db.Close()

	for _, tc := range []struct {
		name    string
		version []byte
	}{
		{"newer version", encodeUint64(schemaVersion + 1)},
		{"older version", encodeUint64(schemaVersion - 1)},
		{"malformed version", []byte("nine")},
		{"no version key", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpen(t, path)
			db.UpdateLastPongReceived(id, ipFor(1), time.UnixMilli(1))
			db.Close()
			setVersion(tc.version)

			log := new(captureHandler)
			db = mustOpen(t, path, WithLogger(slog.New(log)))
			if !db.Wiped() {
				t.Fatal("Wiped() = false")
			}
			if !db.LastPongReceived(id, ipFor(1)).IsZero() {
				t.Fatal("data survived the version change")
			}
			if len(log.msgs) != 1 || !strings.Contains(log.msgs[0], "wiped") {
				t.Fatalf("log = %q, want one message about the wipe", log.msgs)
			}
			db.UpdateLastPongReceived(id, ipFor(1), time.UnixMilli(1))
			db.Close()
			db = mustOpen(t, path)
			if db.Wiped() || db.LastPongReceived(id, ipFor(1)).IsZero() {
				t.Fatal("database not usable after the wipe")
			}
			db.Close()
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "db")
	db := mustOpen(t, path)
	if _, err := Open(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open of a locked file = %v, want ErrLocked", err)
	}
	db.Close()
	if _, err := Open(dir); err == nil {
		t.Fatal("Open of a directory succeeded")
	}
	// A file that is not a bbolt database is refused, not overwritten.
	junk := filepath.Join(dir, "junk")
	content := bytes.Repeat([]byte("not a database "), 1000)
	if err := os.WriteFile(junk, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := Open(junk); err == nil {
		db.Close()
		t.Fatal("Open of a non-database file succeeded")
	}
	if got, _ := os.ReadFile(junk); !bytes.Equal(got, content) {
		t.Fatal("Open modified a file it could not read")
	}
}

func TestWritesBecomeDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	// A long commit delay: only Flush and Close commit.
	db := mustOpen(t, path, WithCommitDelay(time.Hour))
	id := idFor(1)
	db.UpdateFindFails(id, ipFor(1), 1)
	if db.FindFails(id, ipFor(1)) != 1 {
		t.Fatal("staged write not readable")
	}
	inStore := func() bool {
		found := false
		db.store.view(func(r kvReader) error {
			ip16, _ := canonicalIP(ipFor(1))
			_, found = r.get(addrKey(id, ip16, fieldFindFailsV4))
			return nil
		})
		return found
	}
	if inStore() {
		t.Fatal("write committed before its delay")
	}
	if err := db.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !inStore() {
		t.Fatal("Flush did not commit")
	}

	db.UpdateFindFails(id, ipFor(2), 2)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path)
	if db.FindFails(id, ipFor(2)) != 2 {
		t.Fatal("Close did not commit the last write")
	}
}

func TestClose(t *testing.T) {
	dbModes(t, func(t *testing.T, path string) {
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		n := testNode(t, testKey(40), 1, ipFor(40), 1)
		db.UpdateNode(n)
		db.StartExpirer()
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		if err := db.UpdateNode(n); !errors.Is(err, ErrClosed) {
			t.Errorf("UpdateNode after Close = %v", err)
		}
		if err := db.UpdateLastPongReceived(n.ID(), ipFor(40), time.Now()); !errors.Is(err, ErrClosed) {
			t.Errorf("UpdateLastPongReceived after Close = %v", err)
		}
		if err := db.Flush(t.Context()); path != "" && !errors.Is(err, ErrClosed) {
			t.Errorf("Flush after Close = %v", err)
		}
		if _, err := db.Expire(time.Now()); !errors.Is(err, ErrClosed) {
			t.Errorf("Expire after Close = %v", err)
		}
		// Reads and non-failing writes degrade to no-ops.
		if db.Node(n.ID()) != nil || db.LocalSeq(n.ID()) != 0 || len(db.QuerySeeds(3, time.Hour)) != 0 {
			t.Error("reads after Close returned data")
		}
		db.DeleteNode(n.ID())
		db.StoreLocalSeq(n.ID(), 1)
		db.StartExpirer()
		if leaked := dbGoroutines(); leaked != "" {
			t.Fatalf("goroutines left after Close:\n%s", leaked)
		}
	})
}

// TestConcurrentUse hammers one database from many goroutines; run it with
// -race.
func TestConcurrentUse(t *testing.T) {
	dbModes(t, func(t *testing.T, path string) {
		db := mustOpen(t, path, WithIdentitySchemes(enode.TestSchemes()), WithCommitDelay(time.Millisecond))
		db.StartExpirer()
		const workers, rounds = 8, 300
		now := time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range uint64(rounds) {
					k := uint64(w)*1000 + i%50
					id, ip := idFor(k), ipFor(k)
					switch i % 10 {
					case 0:
						db.DeleteNode(id)
					case 1:
						db.QuerySeeds(5, time.Hour)
					case 2:
						db.Expire(now.Add(-time.Minute))
					case 3:
						db.Flush(context.Background())
					case 4:
						db.StoreLocalSeq(id, i)
					default:
						db.UpdateNode(nullNode(id, i, ip))
						db.UpdateLastPongReceived(id, ip, now)
						db.UpdateFindFails(id, ip, int(i))
					}
					db.Node(id)
					db.LastPongReceived(id, ip)
					db.FindFails(id, ip)
					db.LocalSeq(id)
				}
			})
		}
		wg.Wait()

		// Quiesced: every node written last by an update is intact.
		for w := range uint64(workers) {
			k := w*1000 + (rounds-1)%50
			if n := db.Node(idFor(k)); n != nil && n.ID() != idFor(k) {
				t.Fatalf("node %d read back with ID %v", k, n.ID())
			}
		}
	})
}

func TestNodeCache(t *testing.T) {
	db := mustOpen(t, "")
	key := testKey(50)
	ip := netip.MustParseAddr("192.0.2.50")
	n1 := testNode(t, key, 1, ip, 1)
	db.UpdateNode(n1)
	first := db.Node(n1.ID())
	if first == nil || db.Node(n1.ID()) != first {
		t.Fatal("second read of an unchanged record was not served from the cache")
	}
	n2 := testNode(t, key, 2, ip, 2)
	db.UpdateNode(n2)
	if got := db.Node(n1.ID()); got == nil || got.Seq() != 2 {
		t.Fatalf("after update Node = %v, want seq 2", got)
	}
	// Corrupting the stored value must not be masked by the cache.
	v, _ := db.get(recordKey(n1.ID()))
	bad := bytes.Clone(v)
	bad[seqPrefixLen+5] ^= 0xff
	putRaw(t, db, recordKey(n1.ID()), bad)
	if got := db.Node(n1.ID()); got != nil {
		t.Fatal("cache served a node for a corrupted stored value")
	}
	db.UpdateNode(n2)
	db.DeleteNode(n1.ID())
	if db.Node(n1.ID()) != nil {
		t.Fatal("cache served a deleted node")
	}
	// The cache stays bounded.
	for i := range uint64(nodeCacheSize + 10) {
		id := idFor(i)
		db.cache.add(id, []byte{1}, n1)
	}
	if len(db.cache.mu.m) != nodeCacheSize {
		t.Fatalf("cache holds %d entries, limit %d", len(db.cache.mu.m), nodeCacheSize)
	}
}

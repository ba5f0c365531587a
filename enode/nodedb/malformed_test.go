package nodedb

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

// TestMalformedStoredValues plants values this package never writes and
// checks every reader treats them as absent instead of panicking.
func TestMalformedStoredValues(t *testing.T) {
	key := testKey(30)
	good := testNode(t, key, 9, netip.MustParseAddr("192.0.2.30"), 1)
	id := good.ID()
	rec := recordBytes(t, good)
	withSeq := func(seq uint64, r []byte) []byte { return append(encodeUint64(seq), r...) }
	other := recordBytes(t, testNode(t, testKey(31), 9, netip.MustParseAddr("192.0.2.31"), 1))
	badSig := bytes.Clone(rec)
	badSig[5] ^= 0xff // inside the 64-byte signature, after the list and string headers
	nullRec := recordBytes(t, nullNode(id, 9, netip.MustParseAddr("192.0.2.30")))

	records := []struct {
		name string
		val  []byte
	}{
		{"empty", []byte{}},
		{"short seq prefix", []byte{1, 2, 3}},
		{"seq prefix only", encodeUint64(9)},
		{"garbage after seq", withSeq(9, []byte{0xde, 0xad, 0xbe, 0xef})},
		{"truncated record", withSeq(9, rec[:len(rec)-1])},
		{"trailing data", withSeq(9, append(bytes.Clone(rec), 0x80))},
		{"oversized", withSeq(9, append([]byte{0xb9, 0x01, 0x2d}, make([]byte, 301)...))},
		{"bad signature", withSeq(9, badSig)},
		{"record of another node", withSeq(9, other)},
		{"seq prefix disagrees", withSeq(8, rec)},
		{"unaccepted scheme", withSeq(9, nullRec)},
		{"huge seq prefix, bad record", withSeq(1<<62, badSig)},
		{"huge seq prefix, garbage", withSeq(1<<62, []byte{0xc0})},
	}
	for _, tc := range records {
		t.Run("record/"+tc.name, func(t *testing.T) {
			db := mustOpen(t, "")
			putRaw(t, db, recordKey(id), tc.val)
			db.UpdateLastPongReceived(id, good.IPAddr(), time.Now())
			if n := db.Node(id); n != nil {
				t.Fatalf("Node = %v, want nil", n)
			}
			if seeds := db.QuerySeeds(10, time.Hour); len(seeds) != 0 {
				t.Fatalf("QuerySeeds returned %d nodes from a corrupt record", len(seeds))
			}
			// A fresh record replaces the corrupt one whatever its seq prefix.
			if err := db.UpdateNode(good); err != nil {
				t.Fatal(err)
			}
			if db.Node(id) == nil {
				t.Fatal("valid record not stored over corrupt one")
			}
		})
	}

	ip := netip.MustParseAddr("192.0.2.30")
	ip16, _ := canonicalIP(ip)
	fields := []struct {
		name  string
		field byte
		val   []byte
	}{
		{"ping 7 bytes", fieldPing, make([]byte, 7)},
		{"pong 9 bytes", fieldPong, make([]byte, 9)},
		{"pong empty", fieldPong, nil},
		{"fails 1 byte", fieldFindFailsV4, []byte{1}},
		{"fails above MaxInt", fieldFindFailsV4, encodeUint64(1 << 63)},
		{"fails v5 above MaxInt", fieldFindFailsV5, encodeUint64(^uint64(0))},
	}
	for _, tc := range fields {
		t.Run("field/"+tc.name, func(t *testing.T) {
			db := mustOpen(t, "")
			putRaw(t, db, addrKey(id, ip16, tc.field), tc.val)
			if !db.LastPingReceived(id, ip).IsZero() || !db.LastPongReceived(id, ip).IsZero() ||
				db.FindFails(id, ip) != 0 || db.FindFailsV5(id, ip) != 0 {
				t.Fatal("malformed value read as non-zero")
			}
			if _, err := db.Expire(time.Now()); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("local seq 3 bytes", func(t *testing.T) {
		db := mustOpen(t, "")
		putRaw(t, db, localSeqKey(id), []byte{1, 2, 3})
		if got := db.LocalSeq(id); got != 0 {
			t.Fatalf("LocalSeq = %d", got)
		}
	})

	t.Run("stray keys", func(t *testing.T) {
		db := mustOpen(t, "", WithIdentitySchemes(enode.TestSchemes()))
		live := nullNode(idFor(1), 1, ipFor(1))
		db.UpdateNode(live)
		db.UpdateLastPongReceived(live.ID(), live.IPAddr(), time.Now())
		strays := [][]byte{
			{prefixNode},                             // bare prefix
			append(nodePrefix(live.ID())[:20], 0x01), // partial ID
			append(recordKey(live.ID()), 0xff),       // record key too long
			append(addrPrefix(live.ID(), ip16), fieldPong, 0),
		}
		for _, k := range strays {
			putRaw(t, db, k, []byte("junk"))
		}
		if seeds := db.QuerySeeds(5, time.Hour); len(seeds) != 1 || seeds[0].ID() != live.ID() {
			t.Fatalf("QuerySeeds with stray keys = %v", seeds)
		}
		if _, err := db.Expire(time.Now()); err != nil {
			t.Fatal(err)
		}
		db.store.view(func(r kvReader) error {
			for _, k := range strays {
				if _, ok := r.get(k); ok {
					t.Errorf("stray key %x survived expiry", k)
				}
			}
			return nil
		})
		if db.Node(live.ID()) == nil {
			t.Fatal("expiry of stray keys removed a live node")
		}
	})
}

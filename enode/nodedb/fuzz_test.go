package nodedb

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

// FuzzStoredValues plants arbitrary keys and values in the store, as a
// damaged or foreign file would hold, and runs every reader over them.
// Nothing may panic, and what reads back must be sound.
func FuzzStoredValues(f *testing.F) {
	key := testKey(1)
	ip := netip.MustParseAddr("192.0.2.1")
	good := testNode(f, key, 5, ip, 30303)
	id := good.ID()
	ip16, _ := canonicalIP(ip)
	rec := append(encodeUint64(5), recordBytes(f, good)...)

	f.Add(recordKey(id), rec)
	f.Add(recordKey(id), rec[:20])
	f.Add(recordKey(id), append(encodeUint64(1<<63), rec[seqPrefixLen:]...))
	f.Add(addrKey(id, ip16, fieldPong), encodeTime(time.Now()))
	f.Add(addrKey(id, ip16, fieldFindFailsV4), []byte{0xff, 0xff})
	f.Add(localSeqKey(id), []byte{})
	f.Add([]byte{prefixNode}, []byte("x"))
	f.Add(versionKey, []byte{1})

	now := time.Now()
	f.Fuzz(func(t *testing.T, k, v []byte) {
		if len(k) == 0 {
			return
		}
		db, err := Open("", WithClock(newFakeClock(now)))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		db.UpdateLastPongReceived(id, ip, now)
		db.store.update(func(w kvWriter) error { return w.put(k, v) })

		if n := db.Node(id); n != nil && !bytes.Equal(recordBytes(t, n), recordBytes(t, good)) {
			t.Fatalf("Node returned a record that was never signed by the test: %v", n)
		}
		db.LastPingReceived(id, ip)
		db.LastPongReceived(id, ip)
		if db.FindFails(id, ip) < 0 || db.FindFailsV5(id, ip) < 0 {
			t.Fatal("negative failure count read back")
		}
		db.LocalSeq(id)
		for _, n := range db.QuerySeeds(3, time.Hour) {
			if n.ID() != id {
				t.Fatalf("seed with unknown ID %v", n.ID())
			}
		}
		if _, err := db.Expire(now); err != nil {
			t.Fatal(err)
		}
		if err := db.UpdateNode(good); err != nil {
			t.Fatal(err)
		}
		if db.Node(id) == nil {
			t.Fatal("valid record not readable after UpdateNode over planted data")
		}
	})
}

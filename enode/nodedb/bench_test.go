package nodedb

import (
	"context"
	"net/netip"
	"path/filepath"

	"sync/atomic"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

// benchModes runs a benchmark on an in-memory and an on-disk database.
func benchModes(b *testing.B, fn func(b *testing.B, path string)) {
	b.Run("mem", func(b *testing.B) { fn(b, "") })
	b.Run("bolt", func(b *testing.B) { fn(b, filepath.Join(b.TempDir(), "nodes.db")) })
}

// BenchmarkUpdateLastPongReceived measures the write path discovery uses
// most. "flush-each" waits for the disk after every write, which is what a
// transaction per write would cost; the batched path should beat it by
// orders of magnitude.
func BenchmarkUpdateLastPongReceived(b *testing.B) {
	const nodes = 1000
	now := time.Now()
	ids, ips := make([]enode.ID, nodes), make([]netip.Addr, nodes)
	for i := range uint64(nodes) {
		ids[i], ips[i] = idFor(i), ipFor(i)
	}
	benchModes(b, func(b *testing.B, path string) {
		b.Run("serial", func(b *testing.B) {
			db := mustOpen(b, path)
			i := uint64(0)
			for b.Loop() {
				i++
				db.UpdateLastPongReceived(ids[i%nodes], ips[i%nodes], now)
			}
			db.Flush(context.Background())
		})
		b.Run("parallel", func(b *testing.B) {
			db := mustOpen(b, path)
			var ctr atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := ctr.Add(1)
					db.UpdateLastPongReceived(ids[i%nodes], ips[i%nodes], now)
				}
			})
			db.Flush(context.Background())
		})
		if path == "" {
			return
		}
		b.Run("flush-each", func(b *testing.B) {
			db := mustOpen(b, path)
			i := uint64(0)
			for b.Loop() {
				i++
				db.UpdateLastPongReceived(ids[i%nodes], ips[i%nodes], now)
				db.Flush(context.Background())
			}
		})
	})
}

// BenchmarkNode measures record lookups. "cached" reads records verified
// before; "cold" verifies the signature on every read, as the first read of
// each record after Open does.
func BenchmarkNode(b *testing.B) {
	benchModes(b, func(b *testing.B, path string) {
		db := mustOpen(b, path)
		const nodes = 100
		ids := make([]enode.ID, nodes)
		for i := range ids {
			n := testNode(b, testKey(uint64(i)), 1, ipFor(uint64(i)), 30303)
			db.UpdateNode(n)
			ids[i] = n.ID()
		}
		db.Flush(context.Background())
		b.Run("cached", func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if db.Node(ids[i%nodes]) == nil {
					b.Fatal("node missing")
				}
			}
		})
		b.Run("cold", func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				db.cache.reset()
				if db.Node(ids[i%nodes]) == nil {
					b.Fatal("node missing")
				}
			}
		})
	})
}

// BenchmarkQuerySeeds draws discovery's 30 seeds from 10k nodes, as at
// table start-up.
func BenchmarkQuerySeeds(b *testing.B) {
	const nodes, seeds = 10_000, 30
	now := time.Now()
	benchModes(b, func(b *testing.B, path string) {
		db := mustOpen(b, path, WithClock(newFakeClock(now)))
		for i := range uint64(nodes) {
			n := testNode(b, testKey(i), 1, ipFor(i), 30303)
			db.UpdateNode(n)
			// One in ten last seen too long ago.
			age := time.Hour
			if i%10 == 0 {
				age = 6 * 24 * time.Hour
			}
			db.UpdateLastPongReceived(n.ID(), n.IPAddr(), now.Add(-age))
		}
		db.Flush(context.Background())
		total := 0
		for b.Loop() {
			// As at start-up, nothing has been read yet.
			db.cache.reset()
			total += len(db.QuerySeeds(seeds, 5*24*time.Hour))
		}
		b.ReportMetric(float64(total)/float64(b.N), "seeds/op")
	})
}

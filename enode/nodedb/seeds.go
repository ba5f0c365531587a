package nodedb

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

const (
	// seedAttemptsPerNode bounds the random seeks of QuerySeeds to this many
	// per node asked for, so a database with few fresh nodes costs little.
	seedAttemptsPerNode = 5
	// seedScanLimit bounds the keys one attempt steps over. A node has a
	// record and four keys per endpoint, so this covers seedSkip records
	// with room to spare; a longer stretch only comes from endpoint data of
	// nodes without records, and the next attempt lands elsewhere.
	seedScanLimit = 256
	// seedSkip smooths the draw. A seek alone picks a node with probability
	// proportional to the gap in the ID space before it, and among uniform
	// random IDs some gaps are hundreds of times smaller than others.
	// Stepping over a random 0..seedSkip-1 further records makes the
	// probability proportional to the sum of seedSkip gaps instead, which
	// varies far less, for a few more keys read per seek.
	seedSkip = 8
)

// QuerySeeds returns up to n distinct nodes, chosen at random, whose last
// pong at their record's IP is at most maxAge old. Discovery seeds its
// table with them on start-up (go-ethereum: 30 nodes seen in the last five
// days).
//
// It does not read the whole database: each attempt seeks to a random node
// ID and takes a record shortly after it (see seedSkip), wrapping around at
// the end, so the cost does not grow with the database. It gives up after
// seedAttemptsPerNode*n attempts, so with few fresh nodes it may return
// fewer than exist.
func (db *DB) QuerySeeds(n int, maxAge time.Duration) []*enode.Node {
	if n <= 0 {
		return nil
	}
	// Make recent writes visible to the store scan below. On failure the
	// scan still sees everything committed.
	db.Flush(context.Background())
	now := db.cfg.clock.Now()

	// Draw the candidates inside a short read transaction, and verify them
	// outside it: verification costs far more than a seek, and the
	// in-memory store blocks writers while a transaction is open.
	type candidate struct {
		id  enode.ID
		val []byte
	}
	var cands []candidate
	seen := make(map[enode.ID]struct{})
	db.store.view(func(r kvReader) error {
		for range n * seedAttemptsPerNode {
			var start enode.ID
			for i := 0; i < len(start); i += 8 {
				binary.BigEndian.PutUint64(start[i:], rand.Uint64())
			}
			id, val, found := nextRecord(r, nodePrefix(start), rand.IntN(seedSkip))
			if !found {
				continue
			}
			if _, dup := seen[id]; !dup {
				seen[id] = struct{}{}
				cands = append(cands, candidate{id, val})
			}
		}
		return nil
	})

	nodes := make([]*enode.Node, 0, min(n, len(cands)))
	for _, c := range cands {
		if len(nodes) == n {
			break
		}
		node, err := db.decodeNode(c.id, c.val)
		if err != nil {
			continue
		}
		pong := db.LastPongReceived(c.id, node.IPAddr())
		if pong.IsZero() || now.Sub(pong) > maxAge {
			continue
		}
		nodes = append(nodes, node)
	}
	return nodes
}

// nextRecord returns the record reached by stepping over skip records from
// start, wrapping around to the first node when the node range ends. The
// value is copied out of the transaction.
func nextRecord(r kvReader, start []byte, skip int) (id enode.ID, val []byte, found bool) {
	scanned, records := 0, 0
	visit := func(k, v []byte) bool {
		if len(k) == 0 || k[0] != prefixNode || scanned == seedScanLimit {
			return false
		}
		scanned++
		p, ok := parseNodeKey(k)
		if !ok || p.kind != kindRecord {
			return true
		}
		if records == skip {
			id, val, found = p.id, bytes.Clone(v), true
			return false
		}
		records++
		return true
	}
	r.ascend(start, visit)
	for !found && scanned < seedScanLimit {
		before := scanned
		r.ascend([]byte{prefixNode}, visit)
		if records == 0 || scanned == before {
			break // no records at all
		}
	}
	return id, val, found
}

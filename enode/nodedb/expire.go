package nodedb

import (
	"bytes"
	"context"
	"time"
)

const (
	// NodeExpiration is how long an endpoint's data is kept after its last
	// pong: twice the 12 hours for which a pong verifies a node (discv4.md
	// "Endpoint Proof"), as in go-ethereum, so that a table restarted after
	// a short outage still finds its recent peers.
	NodeExpiration = 24 * time.Hour
	// defaultExpireInterval is how often the expirer runs.
	defaultExpireInterval = time.Hour
)

// Expire removes what has not been confirmed by a pong within
// NodeExpiration before now: each endpoint (node ID and IP) whose last pong
// is older, or that never had one; and each node none of whose endpoints
// remains, with its record. It sees every write made before the call, and
// returns the number of nodes removed.
//
// Local sequence numbers never expire.
func (db *DB) Expire(now time.Time) (removed int, err error) {
	return db.expire(context.Background(), now)
}

func (db *DB) expire(ctx context.Context, now time.Time) (removed int, err error) {
	threshold := now.Add(-NodeExpiration)
	err = db.w.exec(ctx, func(tx kvWriter) error {
		removed = 0 // a failed commit may be retried
		var err error
		removed, err = expireTx(tx, threshold)
		return err
	})
	if err != nil {
		return 0, err
	}
	return removed, nil
}

// expireTx finds expired nodes and endpoints in one pass over the node
// keys, then deletes them. A node's keys are contiguous and its endpoints'
// keys are contiguous within them (see the key schema), so the pass needs
// only the state of the current node and endpoint.
func expireTx(tx kvWriter, threshold time.Time) (int, error) {
	var (
		drop    [][]byte // prefixes to delete
		strays  [][]byte // exact keys to delete
		removed int

		haveNode  bool
		node      nodeKeyParts
		nodeLive  bool
		deadAddrs [][]byte // endpoints of the current node to drop if it lives

		haveAddr bool
		addr     [16]byte
		addrLive bool
	)
	finishAddr := func() {
		if !haveAddr {
			return
		}
		if addrLive {
			nodeLive = true
		} else {
			deadAddrs = append(deadAddrs, addrPrefix(node.id, addr))
		}
		haveAddr = false
	}
	finishNode := func() {
		if !haveNode {
			return
		}
		finishAddr()
		if nodeLive {
			drop = append(drop, deadAddrs...)
		} else {
			drop = append(drop, nodePrefix(node.id))
			removed++
		}
		haveNode, deadAddrs = false, nil
	}

	err := tx.ascend([]byte{prefixNode}, func(k, v []byte) bool {
		if len(k) == 0 || k[0] != prefixNode {
			return false
		}
		p, ok := parseNodeKey(k)
		if len(k) < recordKeyLen {
			// Too short to belong to any node: no code path writes it.
			strays = append(strays, bytes.Clone(k))
			return true
		}
		if !haveNode || p.id != node.id {
			finishNode()
			haveNode, node, nodeLive = true, p, false
		}
		switch {
		case !ok:
			// A known kind with a malformed key; it counts for nothing.
			strays = append(strays, bytes.Clone(k))
		case p.kind == kindAddr:
			if !haveAddr || p.ip16 != addr {
				finishAddr()
				haveAddr, addr, addrLive = true, p.ip16, false
			}
			if p.field == fieldPong {
				if t, ok := decodeTime(v); ok && !t.Before(threshold) {
					addrLive = true
				}
			}
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	finishNode()
	for _, p := range drop {
		if err := tx.delPrefix(p); err != nil {
			return 0, err
		}
	}
	for _, k := range strays {
		if err := tx.del(k); err != nil {
			return 0, err
		}
	}
	return removed, nil
}

// StartExpirer starts the goroutine that calls Expire every expire
// interval (one hour unless configured), with the time from the clock. The
// first run comes one interval after the start, so that nodes loaded from
// an old database can still seed discovery before they go. Calling it again,
// or after Close, does nothing. Close stops it.
func (db *DB) StartExpirer() {
	db.expirer.Lock()
	defer db.expirer.Unlock()
	if db.expirer.closed || db.expirer.done != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	db.expirer.cancel = cancel
	db.expirer.done = make(chan struct{})
	go db.expireLoop(ctx, db.expirer.done)
}

func (db *DB) stopExpirer() {
	db.expirer.Lock()
	db.expirer.closed = true
	cancel, done := db.expirer.cancel, db.expirer.done
	db.expirer.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// expireLoop owns the expiry ticker. Cancelling ctx stops it, and also
// abandons the wait for a run in progress.
func (db *DB) expireLoop(ctx context.Context, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(db.cfg.expireInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			n, err := db.expire(ctx, db.cfg.clock.Now())
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				db.cfg.log.Warn("Node database expiry failed", "err", err)
			default:
				db.cfg.log.Debug("Expired nodes from database", "removed", n)
			}
		case <-ctx.Done():
			return
		}
	}
}

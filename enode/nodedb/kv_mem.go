package nodedb

import (
	"bytes"
	"sync"
)

// memStore is the in-memory kvStore behind Open(""): a skip list ordered by
// key, so seeks and inserts stay O(log n) on tables of tens of thousands of
// entries without pulling in a tree library. Transactions are serialised by
// an RWMutex: views run in parallel, updates alone.
type memStore struct {
	mu struct {
		sync.RWMutex
		head   memNode // sentinel; head.next[i] is the first node of level i
		level  int     // number of levels in use, >= 1
		rng    uint64  // xorshift state for tower heights
		closed bool
	}
}

// memMaxLevel bounds tower height. With a branching factor of 4 this keeps
// searches logarithmic up to ~4^16 entries, far beyond any node table.
const memMaxLevel = 16

type memNode struct {
	key, val []byte
	next     []*memNode
}

func newMemStore() *memStore {
	s := new(memStore)
	s.mu.head.next = make([]*memNode, memMaxLevel)
	s.mu.level = 1
	s.mu.rng = 0x9e3779b97f4a7c15
	return s
}

// seekLocked returns the first node with key >= key. If prev is non-nil it
// receives, per level, the last node before that position.
func (s *memStore) seekLocked(key []byte, prev *[memMaxLevel]*memNode) *memNode {
	x := &s.mu.head
	for i := s.mu.level - 1; i >= 0; i-- {
		for x.next[i] != nil && bytes.Compare(x.next[i].key, key) < 0 {
			x = x.next[i]
		}
		if prev != nil {
			prev[i] = x
		}
	}
	return x.next[0]
}

func (s *memStore) randomLevelLocked() int {
	// xorshift64: fast, deterministic, and good enough to balance a skip list.
	r := s.mu.rng
	r ^= r << 13
	r ^= r >> 7
	r ^= r << 17
	s.mu.rng = r
	lvl := 1
	for lvl < memMaxLevel && r&3 == 0 {
		lvl++
		r >>= 2
	}
	return lvl
}

// putLocked stores val under key and returns the value it replaced.
func (s *memStore) putLocked(key, val []byte) (old []byte, existed bool) {
	var prev [memMaxLevel]*memNode
	x := s.seekLocked(key, &prev)
	if x != nil && bytes.Equal(x.key, key) {
		// Replace rather than overwrite in place: readers may still hold the
		// old slice.
		old, x.val = x.val, bytes.Clone(val)
		return old, true
	}
	lvl := s.randomLevelLocked()
	for i := s.mu.level; i < lvl; i++ {
		prev[i] = &s.mu.head
	}
	if lvl > s.mu.level {
		s.mu.level = lvl
	}
	n := &memNode{key: bytes.Clone(key), val: bytes.Clone(val), next: make([]*memNode, lvl)}
	for i := range lvl {
		n.next[i] = prev[i].next[i]
		prev[i].next[i] = n
	}
	return nil, false
}

// unlinkLocked removes the nodes in [from, to) of the bottom list, where prev
// holds the predecessors of from at every level.
func (s *memStore) unlinkLocked(prev *[memMaxLevel]*memNode, stop func(*memNode) bool) {
	for x := prev[0].next[0]; x != nil && !stop(x); x = x.next[0] {
		for i := range x.next {
			if prev[i].next[i] == x {
				prev[i].next[i] = x.next[i]
			}
		}
	}
	for s.mu.level > 1 && s.mu.head.next[s.mu.level-1] == nil {
		s.mu.level--
	}
}

// delLocked removes key and returns the value it had.
func (s *memStore) delLocked(key []byte) (old []byte, existed bool) {
	var prev [memMaxLevel]*memNode
	x := s.seekLocked(key, &prev)
	if x == nil || !bytes.Equal(x.key, key) {
		return nil, false
	}
	s.unlinkLocked(&prev, func(n *memNode) bool { return n != x })
	return x.val, true
}

func (s *memStore) delPrefixLocked(prefix []byte) {
	var prev [memMaxLevel]*memNode
	s.seekLocked(prefix, &prev)
	s.unlinkLocked(&prev, func(n *memNode) bool { return !bytes.HasPrefix(n.key, prefix) })
}

func (s *memStore) view(fn func(kvReader) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mu.closed {
		return ErrClosed
	}
	return fn(memTx{s})
}

// update applies fn's writes to a private log first and to the list only if
// fn succeeds, so a failing transaction leaves no trace.
func (s *memStore) update(fn func(kvWriter) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return ErrClosed
	}
	tx := &memWriteTx{memTx: memTx{s}}
	if err := fn(tx); err != nil {
		tx.rollbackLocked()
		return err
	}
	return nil
}

func (s *memStore) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.closed = true
	s.mu.head.next = make([]*memNode, memMaxLevel)
	s.mu.level = 1
	return nil
}

// memTx reads the list while the caller holds the store lock.
type memTx struct{ s *memStore }

func (t memTx) get(key []byte) ([]byte, bool) {
	x := t.s.seekLocked(key, nil)
	if x == nil || !bytes.Equal(x.key, key) {
		return nil, false
	}
	return x.val, true
}

func (t memTx) ascend(start []byte, fn func(k, v []byte) bool) error {
	for x := t.s.seekLocked(start, nil); x != nil; x = x.next[0] {
		if !fn(x.key, x.val) {
			break
		}
	}
	return nil
}

// memWriteTx writes through to the list and keeps an undo log of the prior
// state of every key it touches.
type memWriteTx struct {
	memTx
	undo []memUndo
}

type memUndo struct {
	key, val []byte
	existed  bool
}

func (t *memWriteTx) put(key, val []byte) error {
	old, existed := t.s.putLocked(key, val)
	t.undo = append(t.undo, memUndo{key: bytes.Clone(key), val: old, existed: existed})
	return nil
}

func (t *memWriteTx) del(key []byte) error {
	if old, existed := t.s.delLocked(key); existed {
		t.undo = append(t.undo, memUndo{key: bytes.Clone(key), val: old, existed: true})
	}
	return nil
}

func (t *memWriteTx) delPrefix(prefix []byte) error {
	for x := t.s.seekLocked(prefix, nil); x != nil && bytes.HasPrefix(x.key, prefix); x = x.next[0] {
		t.undo = append(t.undo, memUndo{key: x.key, val: x.val, existed: true})
	}
	t.s.delPrefixLocked(prefix)
	return nil
}

func (t *memWriteTx) rollbackLocked() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		u := t.undo[i]
		if u.existed {
			t.s.putLocked(u.key, u.val)
		} else {
			t.s.delLocked(u.key)
		}
	}
}

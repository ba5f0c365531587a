package nodedb

import (
	"bytes"
	"sync"

	"github.com/trellis-p2p/trellis/enode"
)

// nodeCacheSize bounds the verified nodes kept in memory (a few hundred
// bytes each).
const nodeCacheSize = 4096

// nodeCache remembers nodes decoded from stored values, so that reading an
// unchanged record again costs a byte comparison instead of a signature
// verification. An entry is used only while the stored value is exactly the
// one it was decoded from, so it never needs invalidating.
type nodeCache struct {
	mu struct {
		sync.Mutex
		m map[enode.ID]cachedNode
	}
}

type cachedNode struct {
	val  []byte // the stored value; never modified
	node *enode.Node
}

func (c *nodeCache) get(id enode.ID, val []byte) *enode.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.mu.m[id]
	if !ok || !bytes.Equal(e.val, val) {
		return nil
	}
	return e.node
}

// add caches n, decoded from val. val must not be modified afterwards.
func (c *nodeCache) add(id enode.ID, val []byte, n *enode.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.m == nil {
		c.mu.m = make(map[enode.ID]cachedNode)
	}
	if _, ok := c.mu.m[id]; !ok && len(c.mu.m) >= nodeCacheSize {
		// Evict whichever entry map iteration yields first, which is random
		// enough to keep no access pattern pathological.
		for k := range c.mu.m {
			delete(c.mu.m, k)
			break
		}
	}
	c.mu.m[id] = cachedNode{val: val, node: n}
}

func (c *nodeCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.m = nil
}

package discover

import (
	"slices"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

// BucketNode is a table entry as reported by TableBuckets.
type BucketNode struct {
	Node          *enode.Node
	AddedToTable  time.Time // first time in the bucket or its replacement list
	AddedToBucket time.Time // time it entered the bucket itself
	Checks        int       // liveness checks passed, decayed on failures
	Live          bool      // the node has proven that it answers at its endpoint
}

// tableNode is an entry of a bucket or a replacement list. It belongs to the
// table's loop goroutine.
type tableNode struct {
	*enode.Node
	addedToTable  time.Time
	addedToBucket time.Time
	checks        int  // successful liveness checks, divided by 3 on each failure
	live          bool // answered a request at its current endpoint
	findFails     int  // consecutive findnode requests without result
	revalList     *revalList
}

// nodesByDistance keeps the nodes closest to target, nearest first.
type nodesByDistance struct {
	target  enode.ID
	entries []*enode.Node
}

// push inserts n in order if it is among the max closest; it reports
// whether n was kept.
func (h *nodesByDistance) push(n *enode.Node, max int) bool {
	i, _ := slices.BinarySearchFunc(h.entries, n.ID(), func(e *enode.Node, id enode.ID) int {
		return enode.DistCmp(h.target, e.ID(), id)
	})
	if i >= max {
		return false
	}
	if len(h.entries) < max {
		h.entries = append(h.entries, nil)
	}
	copy(h.entries[i+1:], h.entries[i:])
	h.entries[i] = n
	return true
}

// remove deletes the node with the given ID.
func (h *nodesByDistance) remove(id enode.ID) {
	h.entries = slices.DeleteFunc(h.entries, func(n *enode.Node) bool { return n.ID() == id })
}

func containsID(nodes []*tableNode, id enode.ID) bool {
	return slices.ContainsFunc(nodes, func(n *tableNode) bool { return n.ID() == id })
}

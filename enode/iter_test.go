package enode

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/enr"
)

func testNode(id byte, seq uint64) *Node {
	var r enr.Record
	r.SetSeq(seq)
	return SignNull(&r, ID{id})
}

func testNodes(ids ...byte) []*Node {
	var ns []*Node
	for _, id := range ids {
		ns = append(ns, testNode(id, 1))
	}
	return ns
}

func TestReadNodes(t *testing.T) {
	nodes := []*Node{testNode(1, 1), testNode(2, 1), testNode(1, 5), testNode(1, 3)}
	got := ReadNodes(IterNodes(nodes), 10)
	if len(got) != 2 || got[0].ID() != (ID{1}) || got[0].Seq() != 5 || got[1].ID() != (ID{2}) {
		t.Fatalf("ReadNodes: %v", got)
	}
	// A cycle ends after n calls to Next.
	if got := ReadNodes(CycleNodes(testNodes(1, 2, 3)), 100); len(got) != 3 {
		t.Fatalf("cycle: %d nodes", len(got))
	}
	if got := ReadNodes(CycleNodes(nil), 100); len(got) != 0 {
		t.Fatal("empty cycle returned nodes")
	}
}

func TestIterNodesClose(t *testing.T) {
	it := CycleNodes(testNodes(1, 2))
	if !it.Next() || it.Node().ID() != (ID{1}) {
		t.Fatal("first node")
	}
	it.Close()
	if it.Next() || it.Node() != nil {
		t.Fatal("Next after Close")
	}
}

func TestFilter(t *testing.T) {
	it := Filter(IterNodes(testNodes(1, 2, 3, 4)), func(n *Node) bool { return n.ID()[0]%2 == 0 })
	got := ReadNodes(it, 10)
	if len(got) != 2 || got[0].ID() != (ID{2}) || got[1].ID() != (ID{4}) {
		t.Fatalf("Filter: %v", got)
	}
}

// blockingIter delivers nothing until closed.
type blockingIter struct {
	once   sync.Once
	closed chan struct{}
}

func newBlockingIter() *blockingIter { return &blockingIter{closed: make(chan struct{})} }
func (it *blockingIter) Next() bool  { <-it.closed; return false }
func (it *blockingIter) Node() *Node { return nil }
func (it *blockingIter) Close()      { it.once.Do(func() { close(it.closed) }) }

func TestFairMixFairness(t *testing.T) {
	mix := NewFairMix(time.Second)
	mix.AddSource(WithSourceName("one", CycleNodes(testNodes(1))))
	mix.AddSource(WithSourceName("two", CycleNodes(testNodes(2))))
	mix.AddSource(WithSourceName("three", CycleNodes(testNodes(3))))
	defer mix.Close()
	count := make(map[string]int)
	for range 300 {
		if !mix.Next() {
			t.Fatal("mix ended")
		}
		count[mix.NodeSource()]++
		if want := map[string]byte{"one": 1, "two": 2, "three": 3}[mix.NodeSource()]; mix.Node().ID()[0] != want {
			t.Fatal("node does not match its source")
		}
	}
	for name, n := range count {
		if n < 90 || n > 110 {
			t.Errorf("source %s gave %d of 300 nodes", name, n)
		}
	}
}

// A stuck source does not hold up the mix for longer than the timeout.
func TestFairMixStuckSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mix := NewFairMix(100 * time.Millisecond)
		stuck := newBlockingIter()
		mix.AddSource(stuck)
		mix.AddSource(CycleNodes(testNodes(7)))
		start := time.Now()
		for range 10 {
			if !mix.Next() || mix.Node().ID() != (ID{7}) {
				t.Fatal("no node from the live source")
			}
		}
		if waited := time.Since(start); waited > time.Second {
			t.Fatalf("waited %v for 10 nodes", waited)
		}
		mix.Close()
		select {
		case <-stuck.closed:
		default:
			t.Fatal("Close did not close the source")
		}
	})
}

func TestFairMixEndedSources(t *testing.T) {
	mix := NewFairMix(-1)
	mix.AddSource(IterNodes(testNodes(1, 2)))
	mix.AddSource(IterNodes(testNodes(3)))
	got := ReadNodes(mix, 3)
	if len(got) != 3 {
		t.Fatalf("got %d nodes", len(got))
	}
	// Every source has ended; Next now waits until Close.
	done := make(chan bool)
	go func() { done <- mix.Next() }()
	mix.Close()
	if <-done {
		t.Fatal("Next returned true after Close")
	}
	// Sources added after Close are closed at once.
	late := newBlockingIter()
	mix.AddSource(late)
	select {
	case <-late.closed:
	default:
		t.Fatal("late source not closed")
	}
	mix.Close()
}

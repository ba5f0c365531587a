package enode

import (
	"sync"
	"time"
)

// Iterator is a sequence of nodes, such as the results of discovery walks.
// Next advances to the next node and reports false once the sequence has
// ended or the iterator was closed; Node returns the current node. Close may
// be called at any time, from any goroutine, and makes a blocked Next return
// false. Next and Node are not safe for concurrent use with each other.
type Iterator interface {
	Next() bool
	Node() *Node
	Close()
}

// SourceIterator is an Iterator that can name where its current node came
// from (for example "discv4" or "dns"), for logs and metrics.
type SourceIterator interface {
	Iterator
	NodeSource() string
}

// WithSourceName attaches a source name to an iterator.
func WithSourceName(name string, it Iterator) SourceIterator {
	return namedIter{it, name}
}

type namedIter struct {
	Iterator
	name string
}

func (it namedIter) NodeSource() string { return it.name }

func asSourceIter(it Iterator) SourceIterator {
	if si, ok := it.(SourceIterator); ok {
		return si
	}
	return namedIter{it, ""}
}

// ReadNodes calls Next at most n times and returns the distinct nodes seen,
// keeping the record with the highest sequence number for each ID. Bounding
// the calls (rather than the result) keeps a short cyclic iterator from
// looping forever.
func ReadNodes(it Iterator, n int) []*Node {
	seen := make(map[ID]int, n)
	var out []*Node
	for i := 0; i < n && it.Next(); i++ {
		node := it.Node()
		if node == nil {
			continue
		}
		if j, ok := seen[node.ID()]; ok {
			if node.Seq() > out[j].Seq() {
				out[j] = node
			}
			continue
		}
		seen[node.ID()] = len(out)
		out = append(out, node)
	}
	return out
}

// IterNodes returns an iterator over nodes that ends after the last one.
func IterNodes(nodes []*Node) Iterator {
	return &sliceIter{nodes: nodes, pos: -1}
}

// CycleNodes returns an iterator that repeats nodes forever (until closed). It
// ends at once if nodes is empty.
func CycleNodes(nodes []*Node) Iterator {
	return &sliceIter{nodes: nodes, pos: -1, cycle: true}
}

type sliceIter struct {
	mu    sync.Mutex // Close may race with Next
	nodes []*Node
	pos   int
	cycle bool
}

func (it *sliceIter) Next() bool {
	it.mu.Lock()
	defer it.mu.Unlock()
	if len(it.nodes) == 0 {
		return false
	}
	it.pos++
	if it.pos == len(it.nodes) {
		if !it.cycle {
			it.nodes = nil
			return false
		}
		it.pos = 0
	}
	return true
}

func (it *sliceIter) Node() *Node {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.pos < 0 || it.pos >= len(it.nodes) {
		return nil
	}
	return it.nodes[it.pos]
}

func (it *sliceIter) Close() {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.nodes = nil
}

// Filter returns an iterator over the nodes of it for which keep returns true.
// Closing the filter closes it.
func Filter(it Iterator, keep func(*Node) bool) Iterator {
	return &filterIter{asSourceIter(it), keep}
}

type filterIter struct {
	SourceIterator
	keep func(*Node) bool
}

func (f *filterIter) Next() bool {
	for f.SourceIterator.Next() {
		if n := f.Node(); n != nil && f.keep(n) {
			return true
		}
	}
	return false
}

// FairMix merges several iterators. Next takes the sources in turn so that a
// prolific source cannot starve the others; when the source whose turn it is
// has nothing within the timeout, the node comes from whichever source has one
// ready, and that source's patience is halved until it delivers again.
//
// A FairMix runs one goroutine per source. It ends only when Close is called;
// sources that end are dropped from the mix. AddSource and Close may be called
// concurrently with Next.
type FairMix struct {
	timeout time.Duration
	fromAny chan mixItem  // any source's next node
	closed  chan struct{} // closed by Close
	wg      sync.WaitGroup

	cur mixItem // owned by the caller of Next

	mu struct {
		sync.Mutex
		sources  []*mixSource
		turn     int
		isClosed bool
	}
}

type mixItem struct {
	n      *Node
	source string
}

type mixSource struct {
	it      SourceIterator
	next    chan mixItem // closed when the source ends
	timeout time.Duration
}

// NewFairMix returns an empty mix. timeout is how long Next waits for the
// source whose turn it is; a negative timeout waits indefinitely, making the
// mix strictly round-robin.
func NewFairMix(timeout time.Duration) *FairMix {
	return &FairMix{
		timeout: timeout,
		fromAny: make(chan mixItem),
		closed:  make(chan struct{}),
	}
}

// AddSource adds an iterator to the mix. After Close, it closes it instead.
func (m *FairMix) AddSource(it Iterator) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.isClosed {
		it.Close()
		return
	}
	s := &mixSource{it: asSourceIter(it), next: make(chan mixItem), timeout: m.timeout}
	m.mu.sources = append(m.mu.sources, s)
	m.wg.Add(1)
	go m.runSource(s)
}

// Close stops the mix and closes every source. It waits for the source
// goroutines to exit.
func (m *FairMix) Close() {
	m.mu.Lock()
	if m.mu.isClosed {
		m.mu.Unlock()
		return
	}
	m.mu.isClosed = true
	sources := m.mu.sources
	m.mu.sources = nil
	close(m.closed)
	m.mu.Unlock()
	for _, s := range sources {
		s.it.Close()
	}
	m.wg.Wait()
}

// Next waits for the next node from the mix.
func (m *FairMix) Next() bool {
	m.cur = mixItem{}
	for {
		s := m.pickSource()
		if s == nil {
			return m.nextFromAny()
		}
		item, ok, timedOut := m.waitSource(s)
		switch {
		case timedOut:
			s.timeout /= 2
			return m.nextFromAny()
		case !ok:
			m.dropSource(s)
			continue
		case item.n == nil: // closed
			return false
		}
		s.timeout = m.timeout
		m.cur = item
		return true
	}
}

// waitSource waits for s to deliver within its timeout. ok is false when s
// has ended; a zero item with ok set means the mix was closed.
func (m *FairMix) waitSource(s *mixSource) (item mixItem, ok, timedOut bool) {
	var timeout <-chan time.Time
	if s.timeout >= 0 {
		t := time.NewTimer(s.timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case item, ok = <-s.next:
		return item, ok, false
	case <-timeout:
		return mixItem{}, true, true
	case <-m.closed:
		return mixItem{}, true, false
	}
}

// Node returns the node found by the last successful Next.
func (m *FairMix) Node() *Node { return m.cur.n }

// NodeSource returns the source name of the current node.
func (m *FairMix) NodeSource() string { return m.cur.source }

func (m *FairMix) nextFromAny() bool {
	select {
	case item := <-m.fromAny:
		m.cur = item
		return true
	case <-m.closed:
		return false
	}
}

func (m *FairMix) pickSource() *mixSource {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.mu.sources) == 0 {
		return nil
	}
	m.mu.turn = (m.mu.turn + 1) % len(m.mu.sources)
	return m.mu.sources[m.mu.turn]
}

func (m *FairMix) dropSource(s *mixSource) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, x := range m.mu.sources {
		if x == s {
			m.mu.sources = append(m.mu.sources[:i], m.mu.sources[i+1:]...)
			return
		}
	}
}

// runSource feeds one source's nodes to Next, either as the fair choice or to
// whoever takes from any source.
func (m *FairMix) runSource(s *mixSource) {
	defer m.wg.Done()
	defer close(s.next)
	for s.it.Next() {
		item := mixItem{s.it.Node(), s.it.NodeSource()}
		if item.n == nil {
			continue
		}
		select {
		case s.next <- item:
		case m.fromAny <- item:
		case <-m.closed:
			return
		}
	}
}

package p2p

import "sync"

// mailbox is the inbox of an owner loop: other goroutines post closures, the
// loop runs them. post never blocks, so two loops posting to each other can
// not deadlock; the queue is bounded in practice by the number of
// connections, which is itself bounded.
type mailbox struct {
	mu    sync.Mutex
	q     []func()
	spare []func()
	wake  chan struct{} // holds a token while q is non-empty
}

func newMailbox() *mailbox { return &mailbox{wake: make(chan struct{}, 1)} }

func (m *mailbox) post(fn func()) {
	m.mu.Lock()
	m.q = append(m.q, fn)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// run executes the queued closures; the loop calls it when wake fires.
func (m *mailbox) run() {
	m.mu.Lock()
	q := m.q
	m.q, m.spare = m.spare[:0], nil
	m.mu.Unlock()
	for i, fn := range q {
		fn()
		q[i] = nil
	}
	m.mu.Lock()
	if m.spare == nil {
		m.spare = q[:0]
	}
	m.mu.Unlock()
}

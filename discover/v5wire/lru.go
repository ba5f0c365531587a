package v5wire

// lru is a map bounded to a fixed number of entries that evicts the least
// recently used one (get and put count as use). The entries form a doubly
// linked ring through a sentinel, most recent first.
type lru[K comparable, V any] struct {
	limit int
	items map[K]*lruEntry[K, V]
	root  lruEntry[K, V] // sentinel: root.next is the newest, root.prev the oldest
}

type lruEntry[K comparable, V any] struct {
	key        K
	val        V
	prev, next *lruEntry[K, V]
}

func newLRU[K comparable, V any](limit int) lru[K, V] {
	return lru[K, V]{limit: limit, items: make(map[K]*lruEntry[K, V])}
}

func (l *lru[K, V]) len() int { return len(l.items) }

func (l *lru[K, V]) get(k K) (V, bool) {
	e, ok := l.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	l.unlink(e)
	l.pushFront(e)
	return e.val, true
}

func (l *lru[K, V]) put(k K, v V) {
	if e, ok := l.items[k]; ok {
		e.val = v
		l.unlink(e)
		l.pushFront(e)
		return
	}
	var e *lruEntry[K, V]
	if len(l.items) >= l.limit {
		// Reuse the evicted entry's memory for the new one.
		e = l.root.prev
		l.unlink(e)
		delete(l.items, e.key)
	} else {
		e = new(lruEntry[K, V])
	}
	*e = lruEntry[K, V]{key: k, val: v}
	l.items[k] = e
	l.pushFront(e)
}

func (l *lru[K, V]) remove(k K) {
	if e, ok := l.items[k]; ok {
		l.unlink(e)
		delete(l.items, k)
	}
}

func (l *lru[K, V]) pushFront(e *lruEntry[K, V]) {
	if l.root.next == nil { // first use: make the empty ring
		l.root.next, l.root.prev = &l.root, &l.root
	}
	e.prev, e.next = &l.root, l.root.next
	l.root.next.prev = e
	l.root.next = e
}

func (l *lru[K, V]) unlink(e *lruEntry[K, V]) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

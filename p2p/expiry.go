package p2p

import (
	"container/heap"
	"time"
)

// expirySet holds keys until their expiry time. Not safe for concurrent use.
type expirySet[K comparable] struct {
	exp  map[K]time.Time
	heap expiryHeap[K]
}

type expiryItem[K comparable] struct {
	key K
	exp time.Time
}

type expiryHeap[K comparable] []expiryItem[K]

func (h expiryHeap[K]) Len() int           { return len(h) }
func (h expiryHeap[K]) Less(i, j int) bool { return h[i].exp.Before(h[j].exp) }
func (h expiryHeap[K]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap[K]) Push(x any)        { *h = append(*h, x.(expiryItem[K])) }
func (h *expiryHeap[K]) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = expiryItem[K]{}
	*h = old[:len(old)-1]
	return x
}

// add inserts key, or moves its expiry to exp.
func (s *expirySet[K]) add(key K, exp time.Time) {
	if s.exp == nil {
		s.exp = make(map[K]time.Time)
	}
	s.exp[key] = exp
	heap.Push(&s.heap, expiryItem[K]{key, exp})
}

// remove deletes key. Its heap entry stays until it expires, and is then
// skipped like that of a re-added key.
func (s *expirySet[K]) remove(key K) {
	delete(s.exp, key)
}

func (s *expirySet[K]) contains(key K) bool {
	_, ok := s.exp[key]
	return ok
}

// next returns the earliest expiry.
func (s *expirySet[K]) next() (time.Time, bool) {
	if len(s.heap) == 0 {
		return time.Time{}, false
	}
	return s.heap[0].exp, true
}

// expire removes keys whose expiry is not after now, calling onExpire (if
// non-nil) for each.
func (s *expirySet[K]) expire(now time.Time, onExpire func(K)) {
	for len(s.heap) > 0 && !s.heap[0].exp.After(now) {
		it := heap.Pop(&s.heap).(expiryItem[K])
		// A key re-added later has a newer entry; only the current one counts.
		if exp, ok := s.exp[it.key]; ok && exp.Equal(it.exp) {
			delete(s.exp, it.key)
			if onExpire != nil {
				onExpire(it.key)
			}
		}
	}
}

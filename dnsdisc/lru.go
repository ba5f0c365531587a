package dnsdisc

import "container/list"

// lru is a map of bounded size that forgets the least recently used key
// first. Not safe for concurrent use.
type lru[K comparable, V any] struct {
	max   int
	order list.List // of *lruItem, most recently used first
	items map[K]*list.Element
}

type lruItem[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, items: make(map[K]*list.Element)}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	el, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruItem[K, V]).val, true
}

func (c *lru[K, V]) add(k K, v V) {
	if el, ok := c.items[k]; ok {
		el.Value.(*lruItem[K, V]).val = v
		c.order.MoveToFront(el)
		return
	}
	if c.max <= 0 {
		return
	}
	for len(c.items) >= c.max {
		last := c.order.Back()
		delete(c.items, last.Value.(*lruItem[K, V]).key)
		c.order.Remove(last)
	}
	c.items[k] = c.order.PushFront(&lruItem[K, V]{k, v})
}

func (c *lru[K, V]) len() int { return len(c.items) }

package nodedb

// The database speaks to its storage through this small ordered key-value
// interface, so the on-disk bbolt file and the in-memory store share the key
// schema, the write coalescing and every test.

// kvReader reads a consistent snapshot of the store inside one transaction.
// Byte slices handed out by a reader are valid only until the transaction
// ends; callers copy what they keep.
type kvReader interface {
	// get returns the value stored under key.
	get(key []byte) (val []byte, ok bool)
	// ascend calls fn for each entry whose key is >= start, in key order,
	// until fn returns false or the entries run out. fn must not write to
	// the store.
	ascend(start []byte, fn func(key, val []byte) bool) error
}

// kvWriter is the view of a read-write transaction.
type kvWriter interface {
	kvReader
	put(key, val []byte) error
	del(key []byte) error
	// delPrefix removes every key starting with prefix.
	delPrefix(prefix []byte) error
}

// kvStore is an ordered key-value store with serialisable transactions. A
// failing update leaves the store as it was.
type kvStore interface {
	view(fn func(kvReader) error) error
	update(fn func(kvWriter) error) error
	close() error
}

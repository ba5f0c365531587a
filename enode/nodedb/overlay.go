package nodedb

import (
	"bytes"
	"slices"
	"strings"
)

// opKind names a staged write.
type opKind uint8

const (
	opPut opKind = iota
	opDel
	opDelPrefix
)

// op is one write. The writer owns key and val once staged.
type op struct {
	kind     opKind
	key, val []byte
}

// lookupResult says what an overlay knows about a key.
type lookupResult uint8

const (
	lookupUnknown lookupResult = iota // not in the overlay: ask the store
	lookupFound
	lookupDeleted
)

// overlay is a set of writes not yet in the store. It keeps one invariant
// that makes both lookups and commits simple: a point entry is always newer
// than any prefix deletion covering it, because staging a prefix deletion
// drops the point entries it covers. So a lookup trusts a point entry first,
// then the prefix deletions; and a commit applies the prefix deletions first,
// then the points.
type overlay struct {
	points   map[string]overlayVal
	prefixes []string // prefix deletions, distinct
}

type overlayVal struct {
	val     []byte
	deleted bool
}

func newOverlay() *overlay {
	return &overlay{points: make(map[string]overlayVal)}
}

// size is the number of distinct entries, which bounds both the memory the
// overlay holds and the work of committing it.
func (o *overlay) size() int {
	return len(o.points) + len(o.prefixes)
}

func (o *overlay) add(w op) {
	switch w.kind {
	case opPut:
		o.points[string(w.key)] = overlayVal{val: w.val}
	case opDel:
		o.points[string(w.key)] = overlayVal{deleted: true}
	case opDelPrefix:
		p := string(w.key)
		for k := range o.points {
			if strings.HasPrefix(k, p) {
				delete(o.points, k)
			}
		}
		// A shorter prefix already deleting everything under p makes p
		// redundant; p makes longer ones redundant.
		for _, q := range o.prefixes {
			if strings.HasPrefix(p, q) {
				return
			}
		}
		o.prefixes = slices.DeleteFunc(o.prefixes, func(q string) bool { return strings.HasPrefix(q, p) })
		o.prefixes = append(o.prefixes, p)
	}
}

func (o *overlay) lookup(key []byte) ([]byte, lookupResult) {
	if v, ok := o.points[string(key)]; ok {
		if v.deleted {
			return nil, lookupDeleted
		}
		return v.val, lookupFound
	}
	for _, p := range o.prefixes {
		if bytes.HasPrefix(key, []byte(p)) {
			return nil, lookupDeleted
		}
	}
	return nil, lookupUnknown
}

// apply writes the overlay into a store transaction. Points go in key order,
// which keeps bbolt's page splits local.
func (o *overlay) apply(tx kvWriter) error {
	for _, p := range o.prefixes {
		if err := tx.delPrefix([]byte(p)); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(o.points))
	for k := range o.points {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := o.points[k]
		var err error
		if v.deleted {
			err = tx.del([]byte(k))
		} else {
			err = tx.put([]byte(k), v.val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// underlay folds an older overlay beneath o, as if older's writes had been
// staged before o's. It is how a batch whose commit failed goes back into
// the queue without overriding anything staged since.
func (o *overlay) underlay(older *overlay) {
	for k, v := range older.points {
		if _, newer := o.points[k]; newer {
			continue
		}
		if _, res := o.lookup([]byte(k)); res == lookupDeleted {
			continue
		}
		o.points[k] = v
	}
	// Older prefix deletions still apply to the store; they cannot hide any
	// newer point since those are applied after them.
	for _, p := range older.prefixes {
		if !slices.Contains(o.prefixes, p) {
			o.prefixes = append(o.prefixes, p)
		}
	}
}

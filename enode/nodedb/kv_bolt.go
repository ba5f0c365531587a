package nodedb

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// boltBucket holds every key of the database. One bucket keeps the flat key
// schema identical to the in-memory store.
var boltBucket = []byte("trellis-nodedb")

// boltLockTimeout bounds how long Open waits for the file lock held by
// another process before giving up with ErrLocked.
const boltLockTimeout = time.Second

// boltStore is the kvStore backed by a bbolt file.
type boltStore struct {
	db *bolt.DB
}

func openBolt(path string) (*boltStore, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: boltLockTimeout,
		// The freelist is rebuilt by scanning on open instead of being
		// written by every commit: commits get cheaper, and recovery after a
		// crash does not depend on it.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	}
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &boltStore{db: db}, nil
}

func (s *boltStore) view(fn func(kvReader) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return fn(&boltTx{tx: tx, b: tx.Bucket(boltBucket)})
	})
}

func (s *boltStore) update(fn func(kvWriter) error) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return fn(&boltTx{tx: tx, b: tx.Bucket(boltBucket)})
	})
}

func (s *boltStore) close() error {
	return s.db.Close()
}

type boltTx struct {
	tx *bolt.Tx
	b  *bolt.Bucket
}

func (t *boltTx) get(key []byte) ([]byte, bool) {
	v := t.b.Get(key)
	return v, v != nil
}

func (t *boltTx) ascend(start []byte, fn func(k, v []byte) bool) error {
	c := t.b.Cursor()
	for k, v := c.Seek(start); k != nil; k, v = c.Next() {
		if v == nil {
			continue // a nested bucket; this package never creates one
		}
		if !fn(k, v) {
			break
		}
	}
	return nil
}

func (t *boltTx) put(key, val []byte) error { return t.b.Put(key, val) }

func (t *boltTx) del(key []byte) error { return t.b.Delete(key) }

func (t *boltTx) delPrefix(prefix []byte) error {
	if len(prefix) == 0 {
		// Wiping everything: dropping the bucket frees its pages wholesale
		// instead of deleting key by key.
		if err := t.tx.DeleteBucket(boltBucket); err != nil {
			return err
		}
		b, err := t.tx.CreateBucket(boltBucket)
		t.b = b
		return err
	}
	// Collect first: deleting under a live cursor makes it skip entries.
	var keys [][]byte
	c := t.b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := t.b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

package nodedb

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// kvStores runs a test against both store implementations.
func kvStores(t *testing.T, fn func(t *testing.T, s kvStore)) {
	t.Run("mem", func(t *testing.T) {
		s := newMemStore()
		defer s.close()
		fn(t, s)
	})
	t.Run("bolt", func(t *testing.T) {
		s, err := openBolt(filepath.Join(t.TempDir(), "db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.close()
		fn(t, s)
	})
}

func kvGet(t *testing.T, s kvStore, key string) (string, bool) {
	t.Helper()
	var (
		val string
		ok  bool
	)
	err := s.view(func(r kvReader) error {
		var v []byte
		v, ok = r.get([]byte(key))
		val = string(v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return val, ok
}

func kvDump(t *testing.T, s kvStore) map[string]string {
	t.Helper()
	m := make(map[string]string)
	var keys []string
	err := s.view(func(r kvReader) error {
		return r.ascend(nil, func(k, v []byte) bool {
			m[string(k)] = string(v)
			keys = append(keys, string(k))
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(keys) {
		t.Fatalf("ascend out of order: %q", keys)
	}
	return m
}

func kvUpdate(t *testing.T, s kvStore, fn func(w kvWriter) error) {
	t.Helper()
	if err := s.update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestKVBasics(t *testing.T) {
	kvStores(t, func(t *testing.T, s kvStore) {
		kvUpdate(t, s, func(w kvWriter) error {
			for _, k := range []string{"b", "a", "ab", "abc", "abd", "c", "ac"} {
				if err := w.put([]byte(k), []byte("v"+k)); err != nil {
					return err
				}
			}
			return w.put([]byte("a"), []byte("new"))
		})
		if v, ok := kvGet(t, s, "a"); !ok || v != "new" {
			t.Fatalf("get a = %q %v", v, ok)
		}
		if _, ok := kvGet(t, s, "zz"); ok {
			t.Fatal("get of missing key succeeded")
		}

		// ascend from the middle, stopping early
		var seen []string
		s.view(func(r kvReader) error {
			return r.ascend([]byte("ab0"), func(k, v []byte) bool {
				seen = append(seen, string(k))
				return len(seen) < 3
			})
		})
		if want := []string{"abc", "abd", "ac"}; !slices.Equal(seen, want) {
			t.Fatalf("ascend = %q, want %q", seen, want)
		}

		kvUpdate(t, s, func(w kvWriter) error {
			if err := w.del([]byte("b")); err != nil {
				return err
			}
			if err := w.del([]byte("missing")); err != nil {
				return err
			}
			return w.delPrefix([]byte("ab"))
		})
		want := map[string]string{"a": "new", "ac": "vac", "c": "vc"}
		if got := kvDump(t, s); !maps.Equal(got, want) {
			t.Fatalf("after deletes: %v, want %v", got, want)
		}

		kvUpdate(t, s, func(w kvWriter) error { return w.delPrefix(nil) })
		if got := kvDump(t, s); len(got) != 0 {
			t.Fatalf("after wipe: %v", got)
		}
		kvUpdate(t, s, func(w kvWriter) error { return w.put([]byte("x"), []byte("y")) })
		if v, _ := kvGet(t, s, "x"); v != "y" {
			t.Fatal("store unusable after wipe")
		}
	})
}

func TestKVFailedUpdateLeavesNoTrace(t *testing.T) {
	kvStores(t, func(t *testing.T, s kvStore) {
		kvUpdate(t, s, func(w kvWriter) error {
			w.put([]byte("k1"), []byte("1"))
			w.put([]byte("k2"), []byte("2"))
			return w.put([]byte("p/x"), []byte("3"))
		})
		before := kvDump(t, s)
		boom := errors.New("boom")
		err := s.update(func(w kvWriter) error {
			w.put([]byte("k1"), []byte("changed"))
			w.put([]byte("k3"), []byte("new"))
			w.del([]byte("k2"))
			w.delPrefix([]byte("p/"))
			w.put([]byte("k3"), []byte("newer"))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("update error = %v", err)
		}
		if after := kvDump(t, s); !maps.Equal(before, after) {
			t.Fatalf("failed update changed the store: %v -> %v", before, after)
		}
	})
}

func TestKVClosed(t *testing.T) {
	kvStores(t, func(t *testing.T, s kvStore) {
		if err := s.close(); err != nil {
			t.Fatal(err)
		}
		if err := s.view(func(kvReader) error { return nil }); err == nil {
			t.Fatal("view on closed store succeeded")
		}
		if err := s.update(func(kvWriter) error { return nil }); err == nil {
			t.Fatal("update on closed store succeeded")
		}
	})
}

// TestKVModel drives both stores with random operations and compares every
// state with a map.
func TestKVModel(t *testing.T) {
	kvStores(t, func(t *testing.T, s kvStore) {
		rng := rand.New(rand.NewPCG(1, 2))
		model := make(map[string]string)
		key := func() string {
			// short keys over a small alphabet, so prefixes collide a lot
			b := make([]byte, 1+rng.IntN(4))
			for i := range b {
				b[i] = "abcd"[rng.IntN(4)]
			}
			return string(b)
		}
		for round := range 300 {
			kvUpdate(t, s, func(w kvWriter) error {
				for range 1 + rng.IntN(20) {
					k := key()
					switch rng.IntN(10) {
					case 0:
						w.delPrefix([]byte(k))
						maps.DeleteFunc(model, func(mk, _ string) bool { return strings.HasPrefix(mk, k) })
					case 1, 2:
						w.del([]byte(k))
						delete(model, k)
					default:
						v := fmt.Sprint(round)
						w.put([]byte(k), []byte(v))
						model[k] = v
					}
				}
				return nil
			})
			if got := kvDump(t, s); !maps.Equal(got, model) {
				t.Fatalf("round %d: store %v, model %v", round, got, model)
			}
		}
	})
}

func TestKVValuesAreCopied(t *testing.T) {
	kvStores(t, func(t *testing.T, s kvStore) {
		k, v := []byte("key"), []byte("value")
		kvUpdate(t, s, func(w kvWriter) error { return w.put(k, v) })
		k[0], v[0] = 'X', 'X'
		if got, ok := kvGet(t, s, "key"); !ok || got != "value" {
			t.Fatalf("stored value changed with caller's buffer: %q %v", got, ok)
		}
		if !bytes.Equal(v, []byte("Xalue")) {
			t.Fatal("test setup")
		}
	})
}

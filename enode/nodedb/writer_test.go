package nodedb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// flakyStore fails updates while broken is set.
type flakyStore struct {
	kvStore
	broken  atomic.Bool
	updates atomic.Int64
}

var errFlaky = errors.New("flaky store: write failed")

func (s *flakyStore) update(fn func(kvWriter) error) error {
	s.updates.Add(1)
	if s.broken.Load() {
		return errFlaky
	}
	return s.kvStore.update(fn)
}

// readThrough reads key the way the DB does: overlay first, then store.
func readThrough(t *testing.T, w writePath, s kvStore, key string) (string, bool) {
	t.Helper()
	switch v, res := w.lookup([]byte(key)); res {
	case lookupFound:
		return string(v), true
	case lookupDeleted:
		return "", false
	}
	return kvGet(t, s, key)
}

func put(k, v string) op    { return op{kind: opPut, key: []byte(k), val: []byte(v)} }
func del(k string) op       { return op{kind: opDel, key: []byte(k)} }
func delPrefix(p string) op { return op{kind: opDelPrefix, key: []byte(p)} }

func TestBatchWriterReadYourWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &flakyStore{kvStore: newMemStore()}
		w := newBatchWriter(s, 10*time.Millisecond)
		defer w.shutdown()

		w.stage(put("n/1/a", "1"), put("n/1/b", "2"), put("n/2/a", "3"))
		if v, ok := readThrough(t, w, s, "n/1/a"); !ok || v != "1" {
			t.Fatalf("staged write not visible: %q %v", v, ok)
		}
		if _, ok := kvGet(t, s, "n/1/a"); ok {
			t.Fatal("write reached the store before the commit delay")
		}

		// The batch commits on its own once the delay has passed, in one
		// transaction.
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		if v, ok := kvGet(t, s, "n/1/a"); !ok || v != "1" {
			t.Fatalf("batch not committed after delay: %q %v", v, ok)
		}
		if n := s.updates.Load(); n != 1 {
			t.Fatalf("%d transactions for one batch, want 1", n)
		}

		// A prefix delete hides committed keys before it commits.
		w.stage(delPrefix("n/1/"), put("n/1/c", "4"))
		for key, want := range map[string]string{"n/1/a": "", "n/1/b": "", "n/1/c": "4", "n/2/a": "3"} {
			if v, _ := readThrough(t, w, s, key); v != want {
				t.Errorf("read %s = %q, want %q", key, v, want)
			}
		}
		if err := w.exec(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"n/1/c": "4", "n/2/a": "3"}
		if got := kvDump(t, s); !maps.Equal(got, want) {
			t.Fatalf("store after flush = %v, want %v", got, want)
		}
	})
}

func TestBatchWriterCommitsFullBatchEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &flakyStore{kvStore: newMemStore()}
		w := newBatchWriter(s, time.Hour)
		defer w.shutdown()
		for i := range commitBatchSize {
			w.stage(put(fmt.Sprintf("k%06d", i), "v"))
		}
		synctest.Wait()
		if got := len(kvDump(t, s)); got != commitBatchSize {
			t.Fatalf("%d entries committed, want a full batch of %d without waiting", got, commitBatchSize)
		}
	})
}

func TestBatchWriterFailedCommitIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &flakyStore{kvStore: newMemStore()}
		w := newBatchWriter(s, 10*time.Millisecond)
		defer w.shutdown()

		s.broken.Store(true)
		w.stage(put("a", "1"), put("b", "1"))
		if err := w.exec(t.Context(), nil); !errors.Is(err, errFlaky) {
			t.Fatalf("flush error = %v, want %v", err, errFlaky)
		}
		// Writes staged after the failure take precedence over the failed
		// batch when it goes back into the queue.
		w.stage(put("b", "2"), del("a"))
		if v, _ := readThrough(t, w, s, "b"); v != "2" {
			t.Fatalf("b = %q after failed commit, want 2", v)
		}
		if _, ok := readThrough(t, w, s, "a"); ok {
			t.Fatal("deleted key visible after failed commit")
		}

		// The retry happens by itself once the store recovers.
		s.broken.Store(false)
		time.Sleep(commitRetryDelay)
		synctest.Wait()
		want := map[string]string{"b": "2"}
		if got := kvDump(t, s); !maps.Equal(got, want) {
			t.Fatalf("store after retry = %v, want %v", got, want)
		}
		if err := w.exec(t.Context(), nil); err != nil {
			t.Fatalf("flush after recovery: %v", err)
		}
	})
}

func TestBatchWriterBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &flakyStore{kvStore: newMemStore()}
		s.broken.Store(true)
		w := newBatchWriter(s, time.Millisecond)
		var err error
		for i := 0; err == nil; i++ {
			if i > maxStaged {
				t.Fatal("no backlog error past maxStaged entries")
			}
			err = w.stage(put(fmt.Sprint(i), "v"))
		}
		if !errors.Is(err, ErrBacklog) || !strings.Contains(err.Error(), errFlaky.Error()) {
			t.Fatalf("stage error = %v, want ErrBacklog naming the commit failure", err)
		}
		if err := w.shutdown(); !errors.Is(err, errFlaky) {
			t.Fatalf("shutdown = %v, want the commit failure", err)
		}
	})
}

func TestBatchWriterExecOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMemStore()
		w := newBatchWriter(s, time.Hour)
		defer w.shutdown()
		w.stage(put("x", "staged"))
		var seen string
		err := w.exec(t.Context(), func(tx kvWriter) error {
			v, _ := tx.get([]byte("x"))
			seen = string(v)
			return tx.put([]byte("y"), []byte("from job"))
		})
		if err != nil {
			t.Fatal(err)
		}
		if seen != "staged" {
			t.Fatalf("job saw x = %q, want the write staged before it", seen)
		}
		if v, _ := kvGet(t, s, "y"); v != "from job" {
			t.Fatal("job's write not committed")
		}
	})
}

func TestBatchWriterExecContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMemStore()
		w := newBatchWriter(s, time.Hour)
		defer w.shutdown()
		release := make(chan struct{})
		go w.exec(context.Background(), func(kvWriter) error { <-release; return nil })
		synctest.Wait()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := w.exec(ctx, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("exec with cancelled context = %v", err)
		}
		close(release)
	})
}

func TestBatchWriterClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMemStore()
		w := newBatchWriter(s, time.Hour)
		w.stage(put("k", "v"))
		if err := w.shutdown(); err != nil {
			t.Fatal(err)
		}
		if err := w.shutdown(); err != nil {
			t.Fatal("second shutdown:", err)
		}
		if v, _ := kvGet(t, s, "k"); v != "v" {
			t.Fatal("shutdown did not commit staged writes")
		}
		if err := w.stage(put("k", "w")); !errors.Is(err, ErrClosed) {
			t.Fatalf("stage after shutdown = %v", err)
		}
		if err := w.exec(t.Context(), nil); !errors.Is(err, ErrClosed) {
			t.Fatalf("exec after shutdown = %v", err)
		}
	})
}

// TestBatchWriterModel interleaves random writes, reads, flushes and
// timer-driven commits, checking reads against a map at every step.
func TestBatchWriterModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newMemStore()
		w := newBatchWriter(s, 5*time.Millisecond)
		defer w.shutdown()
		rng := rand.New(rand.NewPCG(3, 4))
		model := make(map[string]string)
		key := func() string {
			b := make([]byte, 1+rng.IntN(3))
			for i := range b {
				b[i] = "abc"[rng.IntN(3)]
			}
			return string(b)
		}
		for step := range 3000 {
			k := key()
			switch rng.IntN(20) {
			case 0:
				w.stage(delPrefix(k))
				maps.DeleteFunc(model, func(mk, _ string) bool { return strings.HasPrefix(mk, k) })
			case 1, 2, 3:
				w.stage(del(k))
				delete(model, k)
			case 4:
				w.exec(t.Context(), nil)
			case 5:
				time.Sleep(time.Duration(rng.IntN(8)) * time.Millisecond)
			default:
				v := fmt.Sprint(step)
				w.stage(put(k, v))
				model[k] = v
			}
			probe := key()
			got, ok := readThrough(t, w, s, probe)
			if want, wok := model[probe]; got != want || ok != wok {
				t.Fatalf("step %d: read %q = %q %v, model %q %v", step, probe, got, ok, want, wok)
			}
		}
		w.exec(t.Context(), nil)
		if got := kvDump(t, s); !maps.Equal(got, model) {
			t.Fatalf("store %v, model %v", got, model)
		}
	})
}

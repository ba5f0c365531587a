package nodedb

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// writePath is how the DB changes its store: either straight through
// (in-memory store, nothing to gain from batching) or through a coalescing
// writer (bbolt, where every commit costs an fsync).
type writePath interface {
	// stage queues writes; once it returns, reads through lookup see them.
	stage(ops ...op) error
	// lookup reports what the staged-but-uncommitted writes say about key.
	lookup(key []byte) ([]byte, lookupResult)
	// exec runs fn in a write transaction that follows every write staged
	// before the call, and waits for it to commit. A nil fn just waits for
	// the staged writes to be durable.
	exec(ctx context.Context, fn func(kvWriter) error) error
	// shutdown commits what is staged and stops accepting writes. It does
	// not close the store.
	shutdown() error
}

// directWriter writes each op in its own store transaction.
type directWriter struct {
	store kvStore
}

func (d directWriter) stage(ops ...op) error {
	return d.store.update(func(tx kvWriter) error {
		for _, w := range ops {
			if err := applyOp(tx, w); err != nil {
				return err
			}
		}
		return nil
	})
}

func (directWriter) lookup([]byte) ([]byte, lookupResult) { return nil, lookupUnknown }

func (d directWriter) exec(_ context.Context, fn func(kvWriter) error) error {
	if fn == nil {
		return nil
	}
	return d.store.update(fn)
}

func (directWriter) shutdown() error { return nil }

func applyOp(tx kvWriter, w op) error {
	switch w.kind {
	case opPut:
		return tx.put(w.key, w.val)
	case opDel:
		return tx.del(w.key)
	default:
		return tx.delPrefix(w.key)
	}
}

// Batching limits of the coalescing writer.
const (
	// defaultCommitDelay is how long a staged write may wait for company
	// before its batch commits. It is the most a crash can lose.
	defaultCommitDelay = 10 * time.Millisecond
	// commitBatchSize commits early once this many distinct entries wait.
	commitBatchSize = 4096
	// maxStaged bounds the entries waiting while commits fail (disk full,
	// I/O errors); past it, stage returns ErrBacklog.
	maxStaged = 1 << 17
	// commitRetryDelay spaces out attempts after a failed commit.
	commitRetryDelay = time.Second
)

// batchWriter coalesces writes into few bbolt transactions. Writes land in
// an in-memory overlay that reads consult first (read-your-writes); the loop
// goroutine, the only one that writes to the store, commits the overlay when
// it is commitDelay old or commitBatchSize large, or when someone waits for
// durability through exec.
//
// A crash loses at most the batch being assembled or committed; bbolt's
// copy-on-write commit never leaves a half-written batch.
type batchWriter struct {
	store kvStore
	delay time.Duration

	wake chan struct{} // buffered(1): something for the loop to look at
	quit chan struct{} // closed by shutdown
	done chan struct{} // closed when the loop has exited

	mu struct {
		sync.Mutex
		pending    *overlay // staged, not yet handed to a commit
		committing *overlay // in the commit running now, or nil
		jobs       []*job   // exec calls waiting for the next commit
		failed     error    // error of the last commit, nil once one succeeds
		closed     bool
	}
}

type job struct {
	fn   func(kvWriter) error
	done chan error // buffered(1)
}

func newBatchWriter(store kvStore, delay time.Duration) *batchWriter {
	w := &batchWriter{
		store: store,
		delay: delay,
		wake:  make(chan struct{}, 1),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	w.mu.pending = newOverlay()
	go w.loop()
	return w
}

func (w *batchWriter) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *batchWriter) stage(ops ...op) error {
	w.mu.Lock()
	if w.mu.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	p := w.mu.pending
	if p.size() >= maxStaged {
		err := w.mu.failed
		w.mu.Unlock()
		return fmt.Errorf("%w: %d entries wait (last commit: %v)", ErrBacklog, maxStaged, err)
	}
	before := p.size()
	for _, o := range ops {
		p.add(o)
	}
	after := p.size()
	w.mu.Unlock()
	// The loop needs to hear about the first write of a batch (to start its
	// timer) and about a full batch; the writes between are silent.
	if before == 0 || (before < commitBatchSize && after >= commitBatchSize) {
		w.poke()
	}
	return nil
}

func (w *batchWriter) lookup(key []byte) ([]byte, lookupResult) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if v, res := w.mu.pending.lookup(key); res != lookupUnknown {
		return v, res
	}
	if w.mu.committing != nil {
		return w.mu.committing.lookup(key)
	}
	return nil, lookupUnknown
}

func (w *batchWriter) exec(ctx context.Context, fn func(kvWriter) error) error {
	j := &job{fn: fn, done: make(chan error, 1)}
	w.mu.Lock()
	if w.mu.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.mu.jobs = append(w.mu.jobs, j)
	w.mu.Unlock()
	w.poke()
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *batchWriter) shutdown() error {
	w.mu.Lock()
	already := w.mu.closed
	w.mu.closed = true
	w.mu.Unlock()
	if !already {
		close(w.quit)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.failed
}

// loop owns all store writes and the commit timer.
func (w *batchWriter) loop() {
	defer close(w.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	for {
		due := false
		var timerC <-chan time.Time
		if armed {
			timerC = timer.C
		}
		select {
		case <-w.wake:
		case <-timerC:
			armed, due = false, true
		case <-w.quit:
			timer.Stop()
			w.commit()
			return
		}

		w.mu.Lock()
		size, jobs, failed := w.mu.pending.size(), len(w.mu.jobs), w.mu.failed != nil
		w.mu.Unlock()
		// After a failure only the retry timer and explicit flushes try
		// again; a full batch would otherwise retry in a busy loop.
		full := size >= commitBatchSize && !failed
		switch {
		case jobs > 0 || (size > 0 && (due || full)):
			timer.Stop()
			armed = false
			w.commit()
			// Writes staged during the commit did not poke the loop if the
			// batch they joined was already non-empty; look again.
			w.poke()
		case size > 0 && !armed:
			d := w.delay
			if failed {
				d = commitRetryDelay
			}
			timer.Reset(d)
			armed = true
		}
	}
}

// commit moves the pending overlay and queued jobs into one transaction.
// If it fails, the batch goes back under whatever was staged meanwhile and
// waits for the next attempt; the jobs learn the error.
func (w *batchWriter) commit() {
	w.mu.Lock()
	batch, jobs := w.mu.pending, w.mu.jobs
	w.mu.pending, w.mu.jobs = newOverlay(), nil
	w.mu.committing = batch
	w.mu.Unlock()

	var err error
	if batch.size() > 0 || hasWork(jobs) {
		err = w.store.update(func(tx kvWriter) error {
			if err := batch.apply(tx); err != nil {
				return err
			}
			for _, j := range jobs {
				if j.fn != nil {
					if err := j.fn(tx); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}

	w.mu.Lock()
	w.mu.committing = nil
	w.mu.failed = err
	if err != nil {
		w.mu.pending.underlay(batch)
	}
	w.mu.Unlock()
	for _, j := range jobs {
		j.done <- err
	}
}

func hasWork(jobs []*job) bool {
	for _, j := range jobs {
		if j.fn != nil {
			return true
		}
	}
	return false
}

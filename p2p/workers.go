package p2p

import (
	"sync"
	"time"
)

// workerIdle is how long a set-up worker waits for the next connection
// before it exits.
const workerIdle = 10 * time.Second

// workers runs connection set-ups on goroutines that outlive their task.
//
// The encryption handshake's curve arithmetic and hashing grow a goroutine's
// stack to several kilobytes. A fresh goroutine starts at 2 KB and pays
// for each doubling by copying its stack and adjusting every frame, which
// cost about 5% of the CPU of an inbound set-up. A worker that takes the
// next connection keeps the stack it has grown; an idle one is shrunk by
// the GC like any blocked goroutine, and exits after workerIdle.
type workers struct {
	work chan func()   // unbuffered: a send succeeds only to an idle worker
	quit chan struct{} // closed by stop: idle workers exit
	wg   sync.WaitGroup
}

func newWorkers() *workers {
	return &workers{work: make(chan func()), quit: make(chan struct{})}
}

// run calls fn on an idle worker, or on a new one if none is idle. It does
// not block.
func (w *workers) run(fn func()) {
	select {
	case w.work <- fn:
		return
	default:
	}
	w.wg.Add(1)
	go w.loop(fn)
}

func (w *workers) loop(fn func()) {
	defer w.wg.Done()
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		fn()
		fn = nil // let the task's closure go while waiting
		t.Reset(workerIdle)
		select {
		case fn = <-w.work:
		case <-t.C:
			return
		case <-w.quit:
			return
		}
	}
}

// stop makes idle workers exit and waits for all of them. Tasks still
// running finish first; run must not be called after stop.
func (w *workers) stop() {
	close(w.quit)
	w.wg.Wait()
}

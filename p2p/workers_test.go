package p2p

import (
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

func TestWorkersReuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorkers()
		base := runtime.NumGoroutine()
		done := make(chan int, 3)
		for i := range 3 {
			w.run(func() { done <- i })
			<-done
			synctest.Wait() // the worker is idle again
		}
		if n := runtime.NumGoroutine() - base; n != 1 {
			t.Fatalf("%d workers for sequential tasks, want 1", n)
		}

		// Concurrent tasks get their own workers.
		release := make(chan struct{})
		for range 3 {
			w.run(func() { <-release })
		}
		synctest.Wait()
		if n := runtime.NumGoroutine() - base; n != 3 {
			t.Fatalf("%d workers for 3 blocked tasks, want 3", n)
		}
		close(release)

		// Idle workers exit after workerIdle.
		time.Sleep(workerIdle + time.Second)
		synctest.Wait()
		if n := runtime.NumGoroutine() - base; n != 0 {
			t.Fatalf("%d workers left after idling", n)
		}
		w.run(func() {})
		w.stop() // returns once the idle worker has gone
		if n := runtime.NumGoroutine() - base; n != 0 {
			t.Fatalf("%d workers left after stop", n)
		}
	})
}

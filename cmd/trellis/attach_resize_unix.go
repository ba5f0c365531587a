//go:build unix

package main

import (
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/term"
)

// watchResize keeps t's size in step with the terminal on fd, which the
// kernel signals with SIGWINCH, until the returned stop is called.
func watchResize(fd int, t *term.Terminal) (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-sig:
				if w, h, err := term.GetSize(fd); err == nil && w > 0 && h > 0 {
					t.SetSize(w, h)
				}
			case <-quit:
				return
			}
		}
	}()
	return func() {
		signal.Stop(sig)
		close(quit)
		wg.Wait()
	}
}

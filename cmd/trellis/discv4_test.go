package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// lineWriter hands each complete line written to it to a channel.
type lineWriter struct {
	buf   strings.Builder
	lines chan string
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	for {
		s := w.buf.String()
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		w.lines <- s[:i]
		w.buf.Reset()
		w.buf.WriteString(s[i+1:])
	}
	return len(b), nil
}

// discv4 listen prints its enode URL and record and serves until the
// context ends; ping, requestenr and resolve work against it.
func TestDiscv4Commands(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{lines: make(chan string, 10)}
	done := make(chan int)
	go func() { done <- run(ctx, []string{"discv4", "listen", "--addr", "127.0.0.1:0"}, out, io.Discard) }()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("listen exited with %d", code)
		}
	}()
	var url, rec string
	select {
	case url = <-out.lines:
		rec = <-out.lines
	case <-time.After(10 * time.Second):
		t.Fatal("listen printed nothing")
	}
	if !strings.HasPrefix(url, "enode://") || !strings.Contains(url, "?discport=") || !strings.HasPrefix(rec, "enr:") {
		t.Fatalf("listen printed %q, %q", url, rec)
	}

	code, stdout, stderr := trellis(t, "discv4", "ping", "--addr", "127.0.0.1:0", url)
	if code != 0 || !strings.HasPrefix(stdout, "PONG from ") {
		t.Fatalf("ping: %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = trellis(t, "discv4", "requestenr", "--addr", "127.0.0.1:0", url)
	if code != 0 || !strings.HasPrefix(stdout, rec+"\n") {
		t.Fatalf("requestenr: %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = trellis(t, "discv4", "resolve", "--addr", "127.0.0.1:0", rec)
	if code != 0 || !strings.HasPrefix(stdout, rec+"\n") {
		t.Fatalf("resolve: %d %q %q", code, stdout, stderr)
	}
	if code, _, _ := trellis(t, "discv4", "ping", "enode://nope"); code != 2 {
		t.Fatalf("bad node: exit %d, want 2", code)
	}
}

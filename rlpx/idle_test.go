package rlpx

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// retainedBuffers returns the bytes of buffer c keeps beyond its inline
// probe, and whether the read buffer is the probe. Call it only from the
// goroutine that owns both sides of c.
func (c *Conn) retainedBuffers() (n int, onProbe bool) {
	b := &c.rd.buf
	onProbe = len(b.buf) == probeSize && &b.buf[0] == &b.probe[0]
	if !onProbe {
		n += cap(b.buf)
	}
	return n + cap(c.rd.dbuf) + cap(c.wr.buf) + cap(c.wr.sbuf), onProbe
}

// waitIdle makes c go through the start of a ReadMsg with nothing to read,
// as a peer waiting for the next message does: a read deadline in the past
// fails the read at once and consumes nothing.
func waitIdle(t *testing.T, c *Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, _, _, err := c.ReadMsg(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadMsg with nothing sent: %v", err)
	}
	c.SetReadDeadline(time.Time{})
}

// TestIdleConnReleasesBuffers checks that a connection waiting for its
// peer holds neither the handshake buffer nor a read-ahead, snappy or large
// write buffer, after messages of every size class, and still works.
func TestIdleConnReleasesBuffers(t *testing.T) {
	a, b := tcpPair(t)
	ca, cb := handshakePair(t, a, b)
	defer ca.Close()
	defer cb.Close()

	waitIdle(t, cb)
	if n, onProbe := cb.retainedBuffers(); n != 0 || !onProbe {
		t.Fatalf("after the handshake: %d bytes retained, read buffer on probe %v", n, onProbe)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, snappy := range []bool{false, true} {
		ca.SetSnappy(snappy)
		cb.SetSnappy(snappy)
		for _, size := range []int{1, 1 << 10, 60 << 10, 200 << 10, 2 << 20} {
			exchange(t, ca, cb, 3, testPayload(rng, size, snappy))
			exchange(t, cb, ca, 4, testPayload(rng, size, !snappy))
			for _, c := range []*Conn{ca, cb} {
				waitIdle(t, c)
				if n, onProbe := c.retainedBuffers(); n > idleWriteBuffer || !onProbe {
					t.Fatalf("snappy %v, %d-byte messages: idle Conn retains %d bytes, read buffer on probe %v", snappy, size, n, onProbe)
				}
			}
		}
	}
}

// TestIdleMemoryPerConn measures the heap an idle session costs: many
// connection pairs exchange a few KiB, then every reader blocks in ReadMsg.
// Before read buffers were released this was over 64 KiB per reading side.
func TestIdleMemoryPerConn(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates many connections")
	}
	const pairs = 100
	// Two collections empty the buffer pools (the first moves their
	// contents to the victim cache, the second frees it), so neither
	// measurement counts buffers that no connection holds.
	runtime.GC()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	type pair struct {
		w, r *Conn
		done chan error
	}
	ps := make([]pair, pairs)
	got := make(chan struct{}, pairs)
	for i := range ps {
		a, b := net.Pipe()
		sa, sb := secretsPair()
		p := pair{w: NewConn(a, nil), r: NewConn(b, nil), done: make(chan error, 1)}
		if err := p.w.InitWithSecrets(sa); err != nil {
			t.Fatal(err)
		}
		if err := p.r.InitWithSecrets(sb); err != nil {
			t.Fatal(err)
		}
		go func() {
			for n := 0; ; n++ {
				if _, _, _, err := p.r.ReadMsg(); err != nil {
					p.done <- err
					return
				}
				if n == 1 {
					got <- struct{}{}
				}
			}
		}()
		ps[i] = p
	}
	payload := make([]byte, 1<<10)
	for _, p := range ps {
		for range 2 {
			if _, err := p.w.WriteMsg(1, payload); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range pairs {
		<-got
	}
	// Every reader is now blocked in its next ReadMsg.
	runtime.GC()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perPair := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / pairs
	t.Logf("idle heap per connection pair: %d bytes", perPair)
	for _, p := range ps {
		p.w.Close()
		p.r.Close()
		<-p.done
	}
	if perPair > 16<<10 {
		t.Errorf("an idle connection pair costs %d bytes of heap, want at most 16 KiB", perPair)
	}
}

// TestSmallReadsTakeNoPoolBuffer checks the two reads of every connection
// set-up that used to take a 64 KiB pooled buffer: a message read under a
// small read limit (the Hello) gets a buffer sized to the limit, and a
// snappy payload of at most 16 bytes (Ping, Pong, Disconnect) decodes
// without a buffer.
func TestSmallReadsTakeNoPoolBuffer(t *testing.T) {
	a, b := tcpPair(t)
	ca, cb := handshakePair(t, a, b)
	defer ca.Close()
	defer cb.Close()

	const limit = 2 << 10
	cb.SetReadLimit(limit)
	exchange(t, ca, cb, 0, make([]byte, 1500))
	if n, _ := cb.retainedBuffers(); n == 0 || n > frameWireLen(cb.frameLimit()) {
		t.Fatalf("under a %d-byte limit, the read took a %d-byte buffer", limit, n)
	}
	cb.SetReadLimit(0)

	ca.SetSnappy(true)
	cb.SetSnappy(true)
	waitIdle(t, cb)
	for _, size := range []int{0, 1, 16} {
		exchange(t, ca, cb, 2, testPayload(rand.New(rand.NewPCG(1, 2)), size, false))
		if cap(cb.rd.dbuf) != 0 {
			t.Fatalf("a %d-byte snappy message took a %d-byte buffer", size, cap(cb.rd.dbuf))
		}
	}
	exchange(t, ca, cb, 2, make([]byte, 17))
	if cap(cb.rd.dbuf) == 0 {
		t.Fatal("a 17-byte snappy message was decoded without a buffer")
	}
}

// Every connection holds a Conn for its lifetime; this keeps it in the
// 1 KiB size class on 64-bit platforms (keccak.Absorber MACs, no padding
// between the read and write sides). Objects with pointers above 512 bytes
// carry an 8-byte malloc header, so the budget is 1016: at 1024 a Conn
// takes a 1152-byte slot.
func TestConnSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes checked on 64-bit platforms")
	}
	if n := unsafe.Sizeof(Conn{}); n > 1016 {
		t.Fatalf("Conn is %d bytes, budget 1016", n)
	}
	// The slot it gets, malloc header included.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 100
	for range n {
		sink = NewConn(nil, nil)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per != 1024 {
		t.Fatalf("NewConn allocates %d bytes, want one 1024-byte slot", per)
	}
}

var sink *Conn

package rlpx

import (
	"io"
	"sync"
)

const (
	// readAheadSize is the receive buffer size once a session is up. Each
	// read asks the socket for as much as fits, so a burst of small frames
	// costs one system call rather than one or two per frame.
	readAheadSize = 64 << 10
	// maxRetainedBuffer: a buffer grown beyond this for one large message
	// is dropped once the message has been consumed, so a connection does
	// not keep up to 16 MiB after a single big message.
	maxRetainedBuffer = 1 << 20
	// probeSize is the receive buffer of an idle session: the one a
	// connection blocks on while waiting for the next frame. It holds the
	// smallest frame whole (32-byte header and MAC, a 16-byte body, a
	// 16-byte MAC), so a ping costs no read-ahead buffer at all.
	probeSize = headerLen + macLen + 16 + macLen
)

// readAheadPool recycles read-ahead buffers between connections. A
// connection holds one only while it has bytes buffered: most peers are
// idle most of the time, and a 64 KiB buffer each would dominate the
// memory of an idle peer. (getScratch serves the other buffers of the
// message path from it and from scratchPool2.)
var readAheadPool = sync.Pool{New: func() any { return new([readAheadSize]byte) }}

// readBuffer holds bytes received but not yet consumed, buf[r:w].
type readBuffer struct {
	buf  []byte
	r, w int
	// min is the size the buffer is given when it (re)allocates: small
	// during the handshake, readAheadSize afterwards.
	min int
	// probe is buf while the session is idle (see release).
	probe [probeSize]byte
}

// unread returns the buffered, unconsumed bytes.
func (b *readBuffer) unread() []byte { return b.buf[b.r:b.w] }

// next consumes n buffered bytes. fill(n) must have succeeded.
func (b *readBuffer) next(n int) []byte {
	p := b.buf[b.r : b.r+n : b.r+n]
	b.r += n
	return p
}

// fill reads from src until at least n bytes are buffered.
func (b *readBuffer) fill(src io.Reader, n int) error {
	for b.w-b.r < n {
		if b.w == len(b.buf) {
			b.makeRoom(n)
		}
		m, err := src.Read(b.buf[b.w:])
		b.w += m
		if err != nil {
			if b.w-b.r >= n {
				return nil // report the error on the next call
			}
			if err == io.EOF && b.w > b.r {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// makeRoom makes space after w, when n unread bytes are needed and none is
// left. Unread data moves to the front if the buffer is large enough;
// otherwise the buffer doubles (at most up to n), so memory follows the
// bytes that actually arrived rather than the size a header announced.
func (b *readBuffer) makeRoom(n int) {
	unread := b.w - b.r
	if len(b.buf) >= n && len(b.buf) >= b.min && b.r > 0 {
		copy(b.buf, b.buf[b.r:b.w])
		b.r, b.w = 0, unread
		return
	}
	b.realloc(max(b.min, min(n, 2*len(b.buf)), unread+1))
}

// realloc moves the unread bytes to a new buffer of at least the given
// size. From half the read-ahead size up it comes from the pools (see
// getScratch), which also serve a 64 KiB message's frame, slightly larger
// than the read-ahead buffer, without allocating.
func (b *readBuffer) realloc(size int) {
	var nb []byte
	if size < readAheadSize/2 {
		nb = make([]byte, size)
	} else {
		nb = getScratch(size)
		nb = nb[:cap(nb)]
	}
	n := copy(nb, b.buf[b.r:b.w])
	putScratch(b.buf)
	b.buf, b.r, b.w = nb, 0, n
}

// shrink drops a buffer that grew for a large message, keeping unread
// bytes. Call it only when no slice returned by next is in use.
func (b *readBuffer) shrink() {
	if len(b.buf) <= maxRetainedBuffer || b.w-b.r > b.min {
		return
	}
	b.realloc(b.min)
}

// release gives up the buffer when it holds no unread bytes, switching to
// the inline probe: the caller is about to block waiting for the peer, and
// should not hold a read-ahead buffer (or the handshake's) while it does.
// The price is one extra small read when data arrives after the buffer
// drained. Call it only when no slice returned by next is in use.
func (b *readBuffer) release() {
	if b.r != b.w {
		return
	}
	putScratch(b.buf)
	b.buf, b.r, b.w = b.probe[:], 0, 0
}

// idleWriteBuffer is the largest write buffer a connection keeps between
// flushes; larger ones go back to the pool.
const idleWriteBuffer = 4 << 10

// writeBufferCap is the capacity a write buffer is taken with: BufferMsg
// flushes once writeBufferSize bytes are queued, so the buffer holds at
// most that plus one frame of up to writeChunk bytes and its header,
// padding and MACs, and appending never reallocates it.
const writeBufferCap = writeBufferSize + writeChunk + 1<<10

// scratchPool2 holds buffers of writeBufferCap bytes: write buffers, and
// the snappy encoding of a 64 KiB message (up to 76 KiB).
var scratchPool2 = sync.Pool{New: func() any { return new([writeBufferCap]byte) }}

// getScratch returns an empty buffer with capacity at least n for the
// message path: snappy input and output, and the write buffer. Each is
// needed only while a message is processed, and holding them per
// connection would make every idle peer as expensive as its largest
// message. Up to writeBufferCap they come from the pools.
func getScratch(n int) []byte {
	switch {
	case n <= readAheadSize:
		return readAheadPool.Get().(*[readAheadSize]byte)[:0]
	case n <= writeBufferCap:
		return scratchPool2.Get().(*[writeBufferCap]byte)[:0]
	}
	return make([]byte, 0, n)
}

// putScratch returns b to its pool when it has a pool's capacity. Only
// buffers from getScratch do: the other buffers of this package are made
// with sizes below readAheadSize/2 or above writeBufferCap, and a write
// buffer never outgrows writeBufferCap. b must start at its array's first
// byte and be unused afterwards; buffers of other sizes are left to the
// garbage collector.
func putScratch(b []byte) {
	switch cap(b) {
	case readAheadSize:
		readAheadPool.Put((*[readAheadSize]byte)(b[:readAheadSize]))
	case writeBufferCap:
		scratchPool2.Put((*[writeBufferCap]byte)(b[:writeBufferCap]))
	}
}

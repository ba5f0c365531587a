package rlpx

import "io"

const (
	// readAheadSize is the receive buffer size once a session is up. Each
	// read asks the socket for as much as fits, so a burst of small frames
	// costs one system call rather than one or two per frame.
	readAheadSize = 64 << 10
	// maxRetainedBuffer: a buffer grown beyond this for one large message
	// is dropped once the message has been consumed, so a connection does
	// not keep up to 16 MiB after a single big message.
	maxRetainedBuffer = 1 << 20
)

// readBuffer holds bytes received but not yet consumed, buf[r:w].
type readBuffer struct {
	buf  []byte
	r, w int
	// min is the size the buffer is given when it (re)allocates: small
	// during the handshake, readAheadSize afterwards.
	min int
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
	size := max(b.min, min(n, 2*len(b.buf)), unread+1)
	nb := make([]byte, size)
	copy(nb, b.buf[b.r:b.w])
	b.buf, b.r, b.w = nb, 0, unread
}

// shrink drops a buffer that grew for a large message, keeping unread
// bytes. Call it only when no slice returned by next is in use.
func (b *readBuffer) shrink() {
	if len(b.buf) <= maxRetainedBuffer || b.w-b.r > b.min {
		return
	}
	nb := make([]byte, b.min)
	n := copy(nb, b.buf[b.r:b.w])
	b.buf, b.r, b.w = nb, 0, n
}

package memnet

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// DefaultBufferSize is how many bytes a connection holds in each direction
// before Write blocks, roughly a TCP socket's send plus receive buffer.
const DefaultBufferSize = 256 * 1024

// maxRetained: a drained buffer larger than this is released rather than
// kept for reuse, so idle connections stay small.
const maxRetained = 16 * 1024

// Pipe returns the two ends of a buffered, full-duplex in-memory connection.
// Unlike net.Pipe, a Write completes once its bytes fit in the buffer, so two
// ends may write at the same time without deadlocking, the way TCP behaves.
// bufSize <= 0 selects DefaultBufferSize. The ends report the given addresses.
func Pipe(a, b net.Addr, bufSize int) (net.Conn, net.Conn) {
	if bufSize <= 0 {
		bufSize = DefaultBufferSize
	}
	ab, ba := newStream(bufSize), newStream(bufSize)
	ca := &conn{rd: ba, wr: ab, local: a, remote: b, closed: make(chan struct{})}
	cb := &conn{rd: ab, wr: ba, local: b, remote: a, closed: make(chan struct{})}
	ca.rdl.init()
	ca.wdl.init()
	cb.rdl.init()
	cb.wdl.init()
	return ca, cb
}

// stream is one direction of a pipe. All blocking waits on it are channel
// receives, so testing/synctest sees a goroutine waiting on a stream as
// durably blocked.
type stream struct {
	mu      sync.Mutex
	buf     []byte // buf[r:] is unread
	r       int
	limit   int
	wclosed bool          // writer end closed: reader sees EOF after draining
	rclosed bool          // reader end closed: writer fails
	change  chan struct{} // closed and replaced on every state change
}

func newStream(limit int) *stream {
	return &stream{limit: limit, change: make(chan struct{})}
}

// notifyLocked wakes every goroutine waiting for a change.
func (s *stream) notifyLocked() {
	close(s.change)
	s.change = make(chan struct{})
}

type conn struct {
	rd, wr        *stream
	local, remote net.Addr
	rdl, wdl      deadline

	closeOnce sync.Once
	closed    chan struct{}
}

func (c *conn) Read(p []byte) (int, error) {
	for {
		select {
		case <-c.closed:
			return 0, c.opErr("read", net.ErrClosed)
		case <-c.rdl.wait():
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		default:
		}
		s := c.rd
		s.mu.Lock()
		if s.r < len(s.buf) {
			n := copy(p, s.buf[s.r:])
			s.r += n
			if s.r == len(s.buf) {
				s.buf, s.r = s.buf[:0], 0
				if cap(s.buf) > maxRetained {
					s.buf = nil
				}
			}
			s.notifyLocked()
			s.mu.Unlock()
			return n, nil
		}
		if s.wclosed {
			s.mu.Unlock()
			return 0, io.EOF
		}
		if len(p) == 0 {
			s.mu.Unlock()
			return 0, nil
		}
		wait := s.change
		s.mu.Unlock()

		select {
		case <-wait:
		case <-c.rdl.wait():
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		case <-c.closed:
			return 0, c.opErr("read", net.ErrClosed)
		}
	}
}

func (c *conn) Write(p []byte) (int, error) {
	written := 0
	for {
		select {
		case <-c.closed:
			return written, c.opErr("write", net.ErrClosed)
		case <-c.wdl.wait():
			return written, c.opErr("write", os.ErrDeadlineExceeded)
		default:
		}
		s := c.wr
		s.mu.Lock()
		if s.rclosed {
			s.mu.Unlock()
			return written, c.opErr("write", errBrokenPipe)
		}
		if space := s.limit - (len(s.buf) - s.r); space > 0 && len(p) > 0 {
			n := min(space, len(p))
			if s.r > 0 && len(s.buf)+n > cap(s.buf) {
				// Reuse the consumed front before growing.
				k := copy(s.buf, s.buf[s.r:])
				s.buf, s.r = s.buf[:k], 0
			}
			s.buf = append(s.buf, p[:n]...)
			p = p[n:]
			written += n
			s.notifyLocked()
		}
		if len(p) == 0 {
			s.mu.Unlock()
			return written, nil
		}
		wait := s.change
		s.mu.Unlock()

		select {
		case <-wait:
		case <-c.wdl.wait():
			return written, c.opErr("write", os.ErrDeadlineExceeded)
		case <-c.closed:
			return written, c.opErr("write", net.ErrClosed)
		}
	}
}

// Close closes both directions: the other end reads the remaining buffered
// bytes and then EOF, and its writes fail.
func (c *conn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		close(c.closed)
		c.wr.mu.Lock()
		c.wr.wclosed = true
		c.wr.notifyLocked()
		c.wr.mu.Unlock()
		c.rd.mu.Lock()
		c.rd.rclosed = true
		c.rd.buf, c.rd.r = nil, 0
		c.rd.notifyLocked()
		c.rd.mu.Unlock()
		c.rdl.stop()
		c.wdl.stop()
	})
	if !first {
		return c.opErr("close", net.ErrClosed)
	}
	return nil
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }

func (c *conn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error  { c.rdl.set(t); return nil }
func (c *conn) SetWriteDeadline(t time.Time) error { c.wdl.set(t); return nil }

func (c *conn) opErr(op string, err error) error {
	if err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: "memnet", Source: c.local, Addr: c.remote, Err: err}
}

type pipeError string

func (e pipeError) Error() string   { return string(e) }
func (e pipeError) Timeout() bool   { return false }
func (e pipeError) Temporary() bool { return false }

const errBrokenPipe = pipeError("broken pipe")

// deadline is a settable point in time with a channel that is closed when it
// passes. The timer is created by the goroutine calling set, so deadlines
// follow testing/synctest's fake clock inside a bubble.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	expire chan struct{}
}

func (d *deadline) init() { d.expire = make(chan struct{}) }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		// The timer fired (or is firing): its channel is closed, start over.
		d.expire = make(chan struct{})
	}
	d.timer = nil
	select {
	case <-d.expire:
		d.expire = make(chan struct{})
	default:
	}
	if t.IsZero() {
		return
	}
	dur := time.Until(t)
	if dur <= 0 {
		close(d.expire)
		return
	}
	ch := d.expire
	d.timer = time.AfterFunc(dur, func() { close(ch) })
}

func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expire
}

func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
}

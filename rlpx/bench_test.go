package rlpx

import (
	"fmt"
	"io"
	"testing"
)

// frameSource is an io.Reader producing an endless stream of frames of one
// message, sealed by a peer, for measuring the reading side alone.
type frameSource struct {
	fw  *frameWriter
	msg []byte
	buf []byte
}

func (s *frameSource) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) {
		fsize := 1 + len(s.msg)
		s.buf = s.fw.appendStart(s.buf, fsize, 1)
		s.buf = s.fw.appendData(s.buf, s.msg)
		s.buf = s.fw.appendEnd(s.buf, fsize)
	}
	n := copy(p, s.buf)
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	return n, nil
}

// readerConn is a fakeConn reading from any io.Reader.
func readerConn(r io.Reader) *fakeConn { return &fakeConn{in: r} }

var benchSizes = []int{1 << 10, 64 << 10}

// BenchmarkReadMsg measures the receiving side: MAC checks, decryption and
// buffer handling, with no socket.
func BenchmarkReadMsg(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			a, sb := secretsPair()
			src := &frameSource{fw: peerWriter(b, a), msg: make([]byte, size)}
			c := NewConn(readerConn(src), nil)
			if err := c.InitWithSecrets(sb); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := c.ReadMsg(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBufferMsg measures the sending side into a discarding
// connection.
func BenchmarkBufferMsg(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			a, _ := secretsPair()
			c := NewConn(readerConn(nil), nil)
			c.conn = discardConn{c.conn.(*fakeConn)}
			if err := c.InitWithSecrets(a); err != nil {
				b.Fatal(err)
			}
			msg := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.BufferMsg(1, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type discardConn struct{ *fakeConn }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }

func TestSteadyStateAllocs(t *testing.T) {
	a, sb := secretsPair()
	src := &frameSource{fw: peerWriter(t, a), msg: make([]byte, 1000)}
	r := NewConn(readerConn(src), nil)
	r.InitWithSecrets(sb)
	w := NewConn(readerConn(nil), nil)
	w.conn = discardConn{w.conn.(*fakeConn)}
	w.InitWithSecrets(a)
	msg := make([]byte, 1000)
	r.ReadMsg()
	w.WriteMsg(1, msg)
	if n := testing.AllocsPerRun(200, func() {
		if _, _, _, err := r.ReadMsg(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("ReadMsg allocates %v times per message", n)
	}
	if n := testing.AllocsPerRun(200, func() {
		if _, err := w.WriteMsg(1, msg); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("WriteMsg allocates %v times per message", n)
	}
}

package rlp

import (
	"io"
	"math/big"
	"math/bits"
	"sync"
)

// encBuffer accumulates an encoding. Lists are written with a one-byte header
// placeholder; if the payload turns out longer than 55 bytes, listEnd shifts it
// to make room for the long header. The buffer therefore always holds the
// final encoding and needs no assembly pass.
type encBuffer struct {
	buf []byte
}

// maxPooledBuffer keeps rare huge encodings from pinning memory in the pool.
const maxPooledBuffer = 4 << 20

var encBufferPool = sync.Pool{New: func() any { return new(encBuffer) }}

func getEncBuffer() *encBuffer {
	b := encBufferPool.Get().(*encBuffer)
	b.buf = b.buf[:0]
	return b
}

func putEncBuffer(b *encBuffer) {
	if cap(b.buf) > maxPooledBuffer {
		b.buf = nil
	}
	encBufferPool.Put(b)
}

// Write appends already-encoded bytes; EncodeRLP implementations receive the
// buffer as their io.Writer.
func (b *encBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// The append* functions below build encodings on a local slice; writers
// thread the slice through return values rather than storing it in a heap
// object after every value, which would cost a GC write barrier each time.

func appendBool(buf []byte, x bool) []byte {
	if x {
		return append(buf, 0x01)
	}
	return append(buf, strOffset)
}

func appendBytes(buf, p []byte) []byte {
	if len(p) == 1 && p[0] < strOffset {
		return append(buf, p[0])
	}
	buf = appendHeader(buf, strOffset, uint64(len(p)))
	return append(buf, p...)
}

func appendString(buf []byte, s string) []byte {
	if len(s) == 1 && s[0] < strOffset {
		return append(buf, s[0])
	}
	buf = appendHeader(buf, strOffset, uint64(len(s)))
	return append(buf, s...)
}

// appendBigInt appends a non-negative integer without allocating.
func appendBigInt(buf []byte, i *big.Int) ([]byte, error) {
	if i.Sign() < 0 {
		return buf, ErrNegativeBigInt
	}
	bitlen := i.BitLen()
	if bitlen <= 64 {
		return AppendUint64(buf, i.Uint64()), nil
	}
	n := (bitlen + 7) / 8
	buf = appendHeader(buf, strOffset, uint64(n))
	start := len(buf)
	buf = append(buf, make([]byte, n)...)
	out := buf[start:]
	// Fill big-endian from the least significant word.
	pos := n
	for _, w := range i.Bits() {
		for j := 0; j < bits.UintSize/8 && pos > 0; j++ {
			pos--
			out[pos] = byte(w)
			w >>= 8
		}
	}
	return buf, nil
}

// listStart begins a list with a one-byte header placeholder; pass the
// returned offset to listEnd.
func listStart(buf []byte) ([]byte, int) {
	return append(buf, 0), len(buf)
}

// listEnd writes the header of the list started at start. A payload longer
// than 55 bytes needs a long header, so the payload moves right to make room.
func listEnd(buf []byte, start int) []byte {
	size := uint64(len(buf) - start - 1)
	if size <= maxShortSize {
		buf[start] = listOffset + byte(size)
		return buf
	}
	n := intsize(size)
	buf = append(buf, make([]byte, n)...)
	copy(buf[start+1+n:], buf[start+1:len(buf)-n])
	buf[start] = longListOff + byte(n)
	appendBE(buf[start+1:start+1], size, n)
	return buf
}

// EncoderBuffer is a low-level writer for EncodeRLP implementations and hot
// paths that build encodings by hand:
//
//	w := rlp.NewEncoderBuffer(out)
//	l := w.List()
//	w.WriteUint64(x)
//	w.WriteBytes(b)
//	w.ListEnd(l)
//	return w.Flush()
//
// When out is the io.Writer passed to EncodeRLP, the EncoderBuffer writes
// straight into the encoding in progress and Flush has nothing to do.
type EncoderBuffer struct {
	buf       *encBuffer
	dst       io.Writer
	ownBuffer bool
}

// NewEncoderBuffer creates an encoder buffer that flushes to dst.
func NewEncoderBuffer(dst io.Writer) EncoderBuffer {
	var w EncoderBuffer
	w.Reset(dst)
	return w
}

// Reset discards buffered data and points the buffer at dst.
func (w *EncoderBuffer) Reset(dst io.Writer) {
	if w.buf != nil && w.ownBuffer {
		putEncBuffer(w.buf)
	}
	*w = EncoderBuffer{}
	switch d := dst.(type) {
	case *encBuffer:
		w.buf = d
		return
	case EncoderBuffer:
		w.buf = d.buf
		return
	case *EncoderBuffer:
		w.buf = d.buf
		return
	}
	w.buf = getEncBuffer()
	w.dst = dst
	w.ownBuffer = true
}

// Flush writes the buffered encoding to the destination and releases the
// buffer. The EncoderBuffer must not be used afterwards.
func (w *EncoderBuffer) Flush() error {
	var err error
	if w.dst != nil {
		_, err = w.dst.Write(w.buf.buf)
	}
	if w.ownBuffer {
		putEncBuffer(w.buf)
	}
	*w = EncoderBuffer{}
	return err
}

// ToBytes returns a copy of the buffered encoding.
func (w EncoderBuffer) ToBytes() []byte {
	return append([]byte(nil), w.buf.buf...)
}

// AppendToBytes appends the buffered encoding to dst.
func (w EncoderBuffer) AppendToBytes(dst []byte) []byte {
	return append(dst, w.buf.buf...)
}

// Size returns the number of buffered bytes.
func (w EncoderBuffer) Size() int { return len(w.buf.buf) }

// Write appends already-encoded bytes verbatim.
func (w EncoderBuffer) Write(b []byte) (int, error) { return w.buf.Write(b) }

// WriteBool writes x as the integer 0 or 1.
func (w EncoderBuffer) WriteBool(x bool) { w.buf.buf = appendBool(w.buf.buf, x) }

// WriteUint64 writes an integer.
func (w EncoderBuffer) WriteUint64(i uint64) { w.buf.buf = AppendUint64(w.buf.buf, i) }

// WriteBigInt writes a non-negative integer; nil is written as zero. It panics
// on a negative value, which has no encoding (EncoderBuffer has no error
// return, and writing anything would corrupt the output silently).
func (w EncoderBuffer) WriteBigInt(i *big.Int) {
	if i == nil {
		w.buf.buf = append(w.buf.buf, strOffset)
		return
	}
	buf, err := appendBigInt(w.buf.buf, i)
	if err != nil {
		panic(err)
	}
	w.buf.buf = buf
}

// WriteBytes writes b as a string.
func (w EncoderBuffer) WriteBytes(b []byte) { w.buf.buf = appendBytes(w.buf.buf, b) }

// WriteString writes s as a string.
func (w EncoderBuffer) WriteString(s string) { w.buf.buf = appendString(w.buf.buf, s) }

// List starts a list and returns an index to pass to ListEnd. Lists must be
// closed in reverse order of opening.
func (w EncoderBuffer) List() int {
	var i int
	w.buf.buf, i = listStart(w.buf.buf)
	return i
}

// ListEnd closes the list started at index.
func (w EncoderBuffer) ListEnd(index int) { w.buf.buf = listEnd(w.buf.buf, index) }

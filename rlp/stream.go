package rlp

import (
	"bufio"
	"bytes"
	"io"
	"math/big"
	"strings"
)

// ByteReader is the reader interface Stream reads from directly. Readers that
// lack ReadByte are wrapped in a bufio.Reader, which may read ahead.
type ByteReader interface {
	io.Reader
	io.ByteReader
}

// readChunk bounds each allocation made while reading a string from a reader
// whose length is unknown: a header may claim any size, so memory grows only
// as data actually arrives.
const readChunk = 64 << 10

// Stream decodes RLP values piecewise from an input. It reads either straight
// from a byte slice (DecodeBytes and friends) or from an io.Reader.
//
// A Stream is not safe for concurrent use.
type Stream struct {
	// Slice input, used when r == nil: src[pos:] is unread. (An index rather
	// than re-slicing src keeps pointer writes, and GC write barriers, out of
	// the hot path.)
	src []byte
	pos int
	// Reader input.
	r         ByteReader
	remaining uint64 // unread bytes of the input, if limited
	limited   bool

	// stack holds the unread payload bytes of each open list, innermost last.
	stack []uint64

	// Cached result of Kind for the value at the current position. The value's
	// header has been consumed when kind >= 0.
	kind    Kind
	size    uint64
	kindErr error
	byteval byte   // the value for kind == Byte
	scratch []byte // reader input: reused buffer for transient reads
	uintbuf [32]byte
}

// NewStream creates a Stream reading from r. If inputLimit is non-zero, the
// Stream refuses values larger than inputLimit bytes in total; with zero it
// uses the length of a *bytes.Reader, *bytes.Buffer or *strings.Reader, and
// otherwise places no limit (strings are then read in bounded chunks, so a
// lying header cannot force a large allocation).
func NewStream(r io.Reader, inputLimit uint64) *Stream {
	s := new(Stream)
	s.Reset(r, inputLimit)
	return s
}

// newSliceStream creates a Stream reading directly from b.
func newSliceStream(b []byte) *Stream {
	s := new(Stream)
	s.resetSlice(b)
	return s
}

// Reset discards the decoding state and starts reading from r. See NewStream.
func (s *Stream) Reset(r io.Reader, inputLimit uint64) {
	s.src = nil
	if inputLimit > 0 {
		s.remaining, s.limited = inputLimit, true
	} else {
		switch br := r.(type) {
		case *bytes.Reader:
			s.remaining, s.limited = uint64(br.Len()), true
		case *bytes.Buffer:
			s.remaining, s.limited = uint64(br.Len()), true
		case *strings.Reader:
			s.remaining, s.limited = uint64(br.Len()), true
		default:
			s.remaining, s.limited = 0, false
		}
	}
	if br, ok := r.(ByteReader); ok {
		s.r = br
	} else {
		s.r = bufio.NewReader(r)
	}
	s.resetState()
}

func (s *Stream) resetSlice(b []byte) {
	s.src, s.pos = b, 0
	s.r = nil
	s.remaining, s.limited = 0, false
	s.resetState()
}

func (s *Stream) resetState() {
	s.stack = s.stack[:0]
	s.kind = -1
	s.size = 0
	s.kindErr = nil
	s.byteval = 0
	if cap(s.scratch) > readChunk {
		s.scratch = nil
	}
}

// Kind returns the kind and payload size of the next value without consuming
// it. For Byte, the size is zero because the value is held by the header.
// Repeated calls return the same result until the value is read. At the end of
// the current list it returns EOL; at the end of the input, io.EOF.
func (s *Stream) Kind() (Kind, uint64, error) {
	if s.kind >= 0 {
		return s.kind, s.size, s.kindErr
	}
	inList := len(s.stack) > 0
	if inList && s.stack[len(s.stack)-1] == 0 {
		return 0, 0, EOL
	}
	if s.r == nil {
		s.kind, s.size, s.kindErr = s.sliceKind()
	} else {
		s.kind, s.size, s.kindErr = s.readerKind()
	}
	// Bounding sizes here protects every reader of the value from allocating
	// for a size the input cannot hold.
	if s.kindErr == nil {
		if inList && s.size > s.stack[len(s.stack)-1] {
			s.kindErr = ErrElemTooLarge
		} else if s.limited && s.size > s.remaining {
			s.kindErr = ErrValueTooLarge
		}
	}
	return s.kind, s.size, s.kindErr
}

// sliceKind parses the next header from src and consumes it.
func (s *Stream) sliceKind() (Kind, uint64, error) {
	if s.pos >= len(s.src) && len(s.stack) == 0 {
		return 0, 0, io.EOF
	}
	// Parse within the innermost list so that overruns are reported against
	// it (ErrElemTooLarge), as reading from a reader would.
	b := s.src[s.pos:]
	bounded := false
	if len(s.stack) > 0 && s.stack[len(s.stack)-1] <= uint64(len(b)) {
		b, bounded = b[:s.stack[len(s.stack)-1]], true
	}
	k, hdr, size, err := parseHeader(b)
	if err != nil {
		return 0, 0, boundErr(err, bounded)
	}
	if k == Byte {
		hdr, size = 1, 0
		s.byteval = s.src[s.pos]
	}
	s.consumeList(uint64(hdr))
	s.pos += hdr
	return k, size, nil
}

// readerKind reads the next header from the reader.
func (s *Stream) readerKind() (Kind, uint64, error) {
	b, err := s.readByte()
	if err != nil {
		if len(s.stack) == 0 && (err == io.ErrUnexpectedEOF || err == ErrValueTooLarge) {
			// Nothing at all at top level: the input has ended cleanly.
			err = io.EOF
		}
		return 0, 0, err
	}
	var k Kind
	var size uint64
	switch {
	case b < strOffset:
		s.byteval = b
		return Byte, 0, nil
	case b <= longStrOffset:
		k, size = String, uint64(b-strOffset)
	case b < listOffset:
		k = String
		size, err = s.readSize(b - longStrOffset)
	case b <= longListOff:
		k, size = List, uint64(b-listOffset)
	default:
		k = List
		size, err = s.readSize(b - longListOff)
	}
	if err != nil {
		return 0, 0, err
	}
	return k, size, nil
}

// readSize reads an n-byte long-form size.
func (s *Stream) readSize(n byte) (uint64, error) {
	buf := s.uintbuf[:n]
	if err := s.readFull(buf); err != nil {
		return 0, err
	}
	if buf[0] == 0 {
		return 0, ErrNonCanonicalSize
	}
	var size uint64
	for _, c := range buf {
		size = size<<8 | uint64(c)
	}
	if size <= maxShortSize {
		return 0, ErrCanonSize
	}
	return size, nil
}

// consumeList charges n bytes to the innermost open list.
func (s *Stream) consumeList(n uint64) error {
	if len(s.stack) > 0 {
		top := &s.stack[len(s.stack)-1]
		if n > *top {
			return ErrElemTooLarge
		}
		*top -= n
	}
	return nil
}

// willRead accounts for n bytes about to be read from the reader.
func (s *Stream) willRead(n uint64) error {
	if err := s.consumeList(n); err != nil {
		return err
	}
	if s.limited {
		if n > s.remaining {
			return ErrValueTooLarge
		}
		s.remaining -= n
	}
	return nil
}

func (s *Stream) readByte() (byte, error) {
	if err := s.willRead(1); err != nil {
		return 0, err
	}
	b, err := s.r.ReadByte()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return b, err
}

func (s *Stream) readFull(buf []byte) error {
	if err := s.willRead(uint64(len(buf))); err != nil {
		return err
	}
	_, err := io.ReadFull(s.r, buf)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// payload consumes the payload of the current string value (whose header Kind
// has consumed) and returns it. With slice input the result aliases the input;
// with reader input it is only valid until the next read. Kind has bounded size
// by the input and list limits.
func (s *Stream) payload(size uint64) ([]byte, error) {
	s.kind = -1
	if s.r == nil {
		s.consumeList(size)
		end := s.pos + int(size)
		b := s.src[s.pos:end:end]
		s.pos = end
		return b, checkSingleByte(b)
	}
	var b []byte
	var err error
	switch {
	case size <= uint64(len(s.uintbuf)):
		b = s.uintbuf[:size]
		err = s.readFull(b)
	case s.limited || size <= readChunk:
		if uint64(cap(s.scratch)) < size {
			s.scratch = make([]byte, size)
		}
		b = s.scratch[:size]
		err = s.readFull(b)
	default:
		b, err = s.readGrowing(s.scratch[:0], size)
		if err == nil {
			s.scratch = b[:0]
		}
	}
	if err != nil {
		return nil, err
	}
	return b, checkSingleByte(b)
}

// payloadCopy is like payload but returns memory owned by the caller.
func (s *Stream) payloadCopy(size uint64) ([]byte, error) {
	if size == 0 {
		s.kind = -1
		return []byte{}, nil
	}
	if s.r == nil || size <= uint64(len(s.uintbuf)) {
		b, err := s.payload(size)
		if err != nil {
			return nil, err
		}
		out := newBytes(len(b))
		copy(out, b)
		return out, nil
	}
	s.kind = -1
	var b []byte
	var err error
	if s.limited || size <= readChunk {
		b = make([]byte, size)
		err = s.readFull(b)
	} else {
		b, err = s.readGrowing(nil, size)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// readGrowing reads size more bytes onto buf from an unlimited reader, growing
// buf as data arrives so that memory stays proportional to the input actually present.
func (s *Stream) readGrowing(buf []byte, size uint64) ([]byte, error) {
	if err := s.consumeList(size); err != nil {
		return nil, err
	}
	end := uint64(len(buf)) + size
	for uint64(len(buf)) < end {
		n := min(end-uint64(len(buf)), max(readChunk, uint64(len(buf))))
		start := len(buf)
		buf = append(buf, make([]byte, n)...)
		if _, err := io.ReadFull(s.r, buf[start:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf, nil
}

// Bytes reads a string value and returns a copy of its content.
func (s *Stream) Bytes() ([]byte, error) {
	kind, size, err := s.Kind()
	if err != nil {
		return nil, err
	}
	switch kind {
	case Byte:
		s.kind = -1
		return []byte{s.byteval}, nil
	case String:
		return s.payloadCopy(size)
	default:
		return nil, ErrExpectedString
	}
}

// ReadBytes reads a string value into b, whose length must match exactly.
func (s *Stream) ReadBytes(b []byte) error {
	kind, size, err := s.Kind()
	if err != nil {
		return err
	}
	switch kind {
	case Byte:
		if len(b) != 1 {
			return ErrWrongSize
		}
		s.kind = -1
		b[0] = s.byteval
		return nil
	case String:
		if uint64(len(b)) != size {
			return ErrWrongSize
		}
		return s.readString(b)
	default:
		return ErrExpectedString
	}
}

// readString reads the payload of the current string value into b, which has
// exactly the payload's size.
func (s *Stream) readString(b []byte) error {
	if s.r == nil {
		p, err := s.payload(uint64(len(b)))
		copy(b, p)
		return err
	}
	s.kind = -1
	if err := s.readFull(b); err != nil {
		return err
	}
	return checkSingleByte(b)
}

// Raw reads the next value and returns its complete encoding, header included.
// The nested structure of the value is validated.
func (s *Stream) Raw() ([]byte, error) {
	kind, size, err := s.Kind()
	if err != nil {
		return nil, err
	}
	s.kind = -1
	if kind == Byte {
		return []byte{s.byteval}, nil
	}
	hdr := uint64(headSize(size))
	var out []byte
	switch {
	case s.r == nil:
		s.consumeList(size)
		out = make([]byte, hdr+size)
		s.pos += copy(out[hdr:], s.src[s.pos:s.pos+int(size)])
	case !s.limited && size > readChunk:
		if out, err = s.readGrowing(make([]byte, hdr, hdr+readChunk), size); err != nil {
			return nil, err
		}
	default:
		out = make([]byte, hdr+size)
		if err := s.readFull(out[hdr:]); err != nil {
			return nil, err
		}
	}
	// The header was consumed by Kind; a canonical one is unique, so rebuild it.
	offset := byte(strOffset)
	if kind == List {
		offset = listOffset
	}
	appendHeader(out[:0], offset, size)
	if kind == List {
		if err := validate(out, len(s.stack)); err != nil {
			return nil, err
		}
	} else if size == 1 && out[1] < strOffset {
		return nil, ErrCanonSize
	}
	return out, nil
}

// List starts reading a list value and returns its payload size. Subsequent
// reads return elements of the list until EOL; ListEnd then returns to the
// enclosing list.
func (s *Stream) List() (size uint64, err error) {
	kind, size, err := s.Kind()
	if err != nil {
		return 0, err
	}
	if kind != List {
		return 0, ErrExpectedList
	}
	if len(s.stack) >= MaxDepth {
		return 0, ErrTooDeep
	}
	// Charge the whole list to its parent now; the new stack entry tracks the
	// list's own payload.
	s.consumeList(size)
	s.stack = append(s.stack, size)
	s.kind = -1
	return size, nil
}

// ListEnd finishes reading the current list. All of its elements must have
// been read.
func (s *Stream) ListEnd() error {
	switch {
	case len(s.stack) == 0:
		return ErrNotInList
	case s.stack[len(s.stack)-1] > 0:
		return ErrNotAtEOL
	}
	s.stack = s.stack[:len(s.stack)-1]
	s.kind = -1
	return nil
}

// MoreDataInList reports whether the current list has unread elements.
func (s *Stream) MoreDataInList() bool {
	return len(s.stack) > 0 && s.stack[len(s.stack)-1] > 0
}

// uint reads an integer of at most maxbits bits.
func (s *Stream) uint(maxbits int) (uint64, error) {
	kind, size, err := s.Kind()
	if err != nil {
		return 0, err
	}
	switch kind {
	case Byte:
		if s.byteval == 0 {
			return 0, ErrCanonInt // zero is the empty string
		}
		s.kind = -1
		return uint64(s.byteval), nil
	case String:
		if size > uint64(maxbits/8) {
			return 0, ErrUintOverflow
		}
		b, err := s.payload(size)
		if err != nil {
			return 0, err
		}
		return beUint(b)
	default:
		return 0, ErrExpectedString
	}
}

// Uint64 reads an integer of up to 64 bits.
func (s *Stream) Uint64() (uint64, error) { return s.uint(64) }

// Uint32 reads an integer of up to 32 bits.
func (s *Stream) Uint32() (uint32, error) {
	i, err := s.uint(32)
	return uint32(i), err
}

// Uint16 reads an integer of up to 16 bits.
func (s *Stream) Uint16() (uint16, error) {
	i, err := s.uint(16)
	return uint16(i), err
}

// Uint8 reads an integer of up to 8 bits.
func (s *Stream) Uint8() (uint8, error) {
	i, err := s.uint(8)
	return uint8(i), err
}

// Bool reads a boolean, encoded as the integer 0 or 1.
func (s *Stream) Bool() (bool, error) {
	i, err := s.uint(8)
	if err != nil {
		return false, err
	}
	switch i {
	case 0:
		return false, nil
	case 1:
		return true, nil
	default:
		return false, ErrInvalidBool
	}
}

// BigInt reads an arbitrary-size non-negative integer.
func (s *Stream) BigInt() (*big.Int, error) {
	i := new(big.Int)
	if err := s.decodeBigInt(i); err != nil {
		return nil, err
	}
	return i, nil
}

func (s *Stream) decodeBigInt(dst *big.Int) error {
	kind, size, err := s.Kind()
	if err != nil {
		return err
	}
	switch kind {
	case Byte:
		if s.byteval == 0 {
			return ErrCanonInt // zero is the empty string
		}
		s.kind = -1
		dst.SetUint64(uint64(s.byteval))
		return nil
	case String:
		b, err := s.payload(size)
		if err != nil {
			return err
		}
		if len(b) > 0 && b[0] == 0 {
			return ErrCanonInt
		}
		if len(b) <= 8 {
			var x uint64
			for _, c := range b {
				x = x<<8 | uint64(c)
			}
			dst.SetUint64(x)
		} else {
			dst.SetBytes(b)
		}
		return nil
	default:
		return ErrExpectedString
	}
}

// newBytes allocates a zeroed byte slice for the caller to fill by copying.
// Interleaved A/B runs (Go 1.26, amd64, 1 MiB strings) found a zeroing
// allocation plus copy as fast or faster than the non-zeroing ones (append to
// nil, bytes.Join, and the make+copy idiom, which the compiler turns into a
// non-zeroing makeslicecopy), probably because clearing brings the
// destination into cache before the copy writes it. noinline keeps the
// compiler from recognising the make+copy idiom.
//
//go:noinline
func newBytes(n int) []byte {
	return make([]byte, n)
}

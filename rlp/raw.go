package rlp

import (
	"io"
	"math/bits"
)

// Kind is the type of an RLP value.
type Kind int

const (
	Byte   Kind = iota // a single byte below 0x80, which is its own encoding
	String             // a byte string with a header
	List               // a list of values
)

func (k Kind) String() string {
	switch k {
	case Byte:
		return "Byte"
	case String:
		return "String"
	case List:
		return "List"
	default:
		return "Kind(?)"
	}
}

// RawValue is an already-encoded RLP value. It is written verbatim on encode
// and receives the complete encoding (header included) of one value on decode.
// Decoding validates the nested structure of the value, so a RawValue obtained
// from Decode is always well-formed canonical RLP.
type RawValue []byte

// Header byte ranges, Yellow Paper appendix B.
const (
	strOffset     = 0x80 // short string: 0x80 + length (0..55)
	longStrOffset = 0xB7 // long string: 0xB7 + length of length
	listOffset    = 0xC0 // short list: 0xC0 + length (0..55)
	longListOff   = 0xF7 // long list: 0xF7 + length of length
	maxShortSize  = 55   // largest payload with a one-byte header
)

// MaxDepth limits how deeply lists may nest in decoded input. Real protocol
// messages nest a handful of levels; the limit keeps decoding into recursive
// types and `any` (which recurses per level) from exhausting the goroutine
// stack on hostile input of a few megabytes.
const MaxDepth = 1024

// parseHeader reads the header at the start of b and returns the kind, the
// header length and the payload size. For Byte, hdr is 0 and size 1, so that
// b[hdr:hdr+size] is the content in every case. It validates the canonical
// form of the header and that the payload fits in b, but not the payload
// itself: see checkSingleByte.

func parseHeader(b []byte) (k Kind, hdr int, size uint64, err error) {
	if len(b) == 0 {
		return 0, 0, 0, io.ErrUnexpectedEOF
	}
	switch c := b[0]; {
	case c < strOffset:
		return Byte, 0, 1, nil
	case c <= longStrOffset:
		k, hdr, size = String, 1, uint64(c-strOffset)
	case c < listOffset:
		k = String
		hdr, size, err = parseLongSize(b, c-longStrOffset)
	case c <= longListOff:
		k, hdr, size = List, 1, uint64(c-listOffset)
	default:
		k = List
		hdr, size, err = parseLongSize(b, c-longListOff)
	}
	if err != nil {
		return 0, 0, 0, err
	}
	if size > uint64(len(b)-hdr) {
		return 0, 0, 0, ErrValueTooLarge
	}
	return k, hdr, size, nil
}

// checkSingleByte rejects a string payload that is a single byte below 0x80:
// such a byte must be encoded as itself.
func checkSingleByte(payload []byte) error {
	if len(payload) == 1 && payload[0] < strOffset {
		return ErrCanonSize
	}
	return nil
}

// parseLongSize decodes the n-byte big-endian size following a long-form
// header byte at b[0].
func parseLongSize(b []byte, n byte) (hdr int, size uint64, err error) {
	if len(b) < 1+int(n) {
		return 0, 0, ErrValueTooLarge
	}
	if b[1] == 0 {
		return 0, 0, ErrNonCanonicalSize
	}
	for _, c := range b[1 : 1+n] {
		size = size<<8 | uint64(c)
	}
	if size <= maxShortSize {
		return 0, 0, ErrCanonSize
	}
	return 1 + int(n), size, nil
}

// Split returns the kind and content of the first value in b, and the bytes
// after it. For Byte, content is the byte itself.
func Split(b []byte) (k Kind, content, rest []byte, err error) {
	k, hdr, size, err := parseHeader(b)
	if err == nil && k == String {
		err = checkSingleByte(b[hdr : hdr+int(size)])
	}
	if err != nil {
		return 0, nil, b, err
	}
	end := hdr + int(size)
	return k, b[hdr:end], b[end:], nil
}

// SplitString splits b into the content of the string at its start and the
// rest.
func SplitString(b []byte) (content, rest []byte, err error) {
	k, content, rest, err := Split(b)
	if err != nil {
		return nil, b, err
	}
	if k == List {
		return nil, b, ErrExpectedString
	}
	return content, rest, nil
}

// SplitList splits b into the content of the list at its start and the rest.
func SplitList(b []byte) (content, rest []byte, err error) {
	k, content, rest, err := Split(b)
	if err != nil {
		return nil, b, err
	}
	if k != List {
		return nil, b, ErrExpectedList
	}
	return content, rest, nil
}

// SplitUint64 decodes the integer at the start of b.
func SplitUint64(b []byte) (x uint64, rest []byte, err error) {
	content, rest, err := SplitString(b)
	if err != nil {
		return 0, b, err
	}
	x, err = beUint(content)
	if err != nil {
		return 0, b, err
	}
	return x, rest, nil
}

// beUint decodes the content of an integer string: big-endian, no leading
// zeros, at most 8 bytes.
func beUint(b []byte) (uint64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if b[0] == 0 {
		return 0, ErrCanonInt
	}
	if len(b) > 8 {
		return 0, ErrUintOverflow
	}
	var x uint64
	for _, c := range b {
		x = x<<8 | uint64(c)
	}
	return x, nil
}

// CountValues counts the values in b, which must be a concatenation of
// encoded values (e.g. a list's content). Nested lists are not inspected.
func CountValues(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		k, hdr, size, err := parseHeader(b)
		if err == nil && k == String {
			err = checkSingleByte(b[hdr : hdr+int(size)])
		}
		if err != nil {
			return 0, err
		}
		b = b[hdr+int(size):]
		n++
	}
	return n, nil
}

// validate checks that b holds exactly one value whose nested structure is
// canonical throughout. It works iteratively so deep nesting cannot exhaust
// the stack; depth is the nesting level b sits at.
func validate(b []byte, depth int) error {
	// ends holds, for each open list, the number of bytes of b left after it.
	var stackBuf [16]int
	ends := stackBuf[:0]
	_, hdr, size, err := parseHeader(b)
	if err != nil {
		return err
	}
	if hdr+int(size) != len(b) {
		return ErrMoreThanOneValue
	}
	for len(b) > 0 {
		elem, bounded := b, false
		if len(ends) > 0 {
			elem, bounded = b[:len(b)-ends[len(ends)-1]], true
		}
		k, hdr, size, err := parseHeader(elem)
		if err != nil {
			return boundErr(err, bounded)
		}
		if k == String {
			if err := checkSingleByte(elem[hdr : hdr+int(size)]); err != nil {
				return err
			}
		}
		if k == List {
			if depth+len(ends) >= MaxDepth {
				return ErrTooDeep
			}
			ends = append(ends, len(b)-hdr-int(size))
			b = b[hdr:]
		} else {
			b = b[hdr+int(size):]
		}
		for len(ends) > 0 && len(b) == ends[len(ends)-1] {
			ends = ends[:len(ends)-1]
		}
	}
	return nil
}

// boundErr maps a parse error for input cut at a list boundary: running out
// of bytes there means the element is larger than its list.
func boundErr(err error, bounded bool) error {
	if err == io.ErrUnexpectedEOF || err == ErrValueTooLarge {
		if bounded {
			return ErrElemTooLarge
		}
		return ErrValueTooLarge
	}
	return err
}

// AppendUint64 appends the RLP encoding of i to b.
func AppendUint64(b []byte, i uint64) []byte {
	switch {
	case i == 0:
		return append(b, strOffset)
	case i < strOffset:
		return append(b, byte(i))
	}
	n := intsize(i)
	b = append(b, strOffset+byte(n))
	return appendBE(b, i, n)
}

// IntSize returns the encoded size of the integer x.
func IntSize(x uint64) int {
	if x < strOffset {
		return 1
	}
	return 1 + intsize(x)
}

// ListSize returns the encoded size of a list whose content is contentSize
// bytes long.
func ListSize(contentSize uint64) uint64 {
	return uint64(headSize(contentSize)) + contentSize
}

// intsize is the number of bytes needed to hold x big-endian (0 for x == 0).
func intsize(x uint64) int {
	return (bits.Len64(x) + 7) / 8
}

// headSize is the header length for a string or list payload of the given size.
func headSize(size uint64) int {
	if size <= maxShortSize {
		return 1
	}
	return 1 + intsize(size)
}

// appendBE appends the low n bytes of x, big-endian.
func appendBE(b []byte, x uint64, n int) []byte {
	for s := (n - 1) * 8; s >= 0; s -= 8 {
		b = append(b, byte(x>>uint(s)))
	}
	return b
}

// appendHeader appends a string (offset 0x80) or list (offset 0xC0) header.
func appendHeader(b []byte, offset byte, size uint64) []byte {
	if size <= maxShortSize {
		return append(b, offset+byte(size))
	}
	n := intsize(size)
	b = append(b, offset+maxShortSize+byte(n))
	return appendBE(b, size, n)
}

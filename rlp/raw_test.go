package rlp

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		input, content, rest string
		kind                 Kind
		err                  error
	}{
		{input: "00", kind: Byte, content: "00"},
		{input: "7f01", kind: Byte, content: "7f", rest: "01"},
		{input: "80", kind: String},
		{input: "8180", kind: String, content: "80"},
		{input: "820102ff", kind: String, content: "0102", rest: "ff"},
		{input: "c0", kind: List},
		{input: "c20102", kind: List, content: "0102"},
		{input: "b838" + strings.Repeat("aa", 56), kind: String, content: strings.Repeat("aa", 56)},
		{input: "f838" + strings.Repeat("01", 56) + "05", kind: List, content: strings.Repeat("01", 56), rest: "05"},

		{input: "", err: io.ErrUnexpectedEOF},
		{input: "81", err: ErrValueTooLarge},
		{input: "8100", err: ErrCanonSize},
		{input: "817f", err: ErrCanonSize},
		{input: "b8", err: ErrValueTooLarge},
		{input: "b800", err: ErrNonCanonicalSize},
		{input: "b837" + strings.Repeat("aa", 55), err: ErrCanonSize},
		{input: "b90038" + strings.Repeat("aa", 56), err: ErrNonCanonicalSize},
		{input: "f837" + strings.Repeat("01", 55), err: ErrCanonSize},
		{input: "c1", err: ErrValueTooLarge},
		{input: "bfffffffffffffffff", err: ErrValueTooLarge},
		{input: "ffffffffffffffffff", err: ErrValueTooLarge},
		{input: "bf0f000000000000021111", err: ErrValueTooLarge},
	}
	for i, tt := range tests {
		k, content, rest, err := Split(unhexMust(tt.input))
		if !errors.Is(err, tt.err) {
			t.Errorf("test %d (%s): error %v, want %v", i, tt.input, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if k != tt.kind || !bytes.Equal(content, unhexMust(tt.content)) || !bytes.Equal(rest, unhexMust(tt.rest)) {
			t.Errorf("test %d (%s): got %v %x %x", i, tt.input, k, content, rest)
		}
	}
}

func TestSplitTyped(t *testing.T) {
	if _, _, err := SplitString(unhexMust("c0")); err != ErrExpectedString {
		t.Errorf("SplitString on list: %v", err)
	}
	if c, r, err := SplitString(unhexMust("820102c0")); err != nil || !bytes.Equal(c, []byte{1, 2}) || !bytes.Equal(r, []byte{0xc0}) {
		t.Errorf("SplitString: %x %x %v", c, r, err)
	}
	if _, _, err := SplitList(unhexMust("80")); err != ErrExpectedList {
		t.Errorf("SplitList on string: %v", err)
	}
	if _, _, err := SplitList(unhexMust("01")); err != ErrExpectedList {
		t.Errorf("SplitList on byte: %v", err)
	}
	if c, r, err := SplitList(unhexMust("c20102")); err != nil || !bytes.Equal(c, []byte{1, 2}) || len(r) != 0 {
		t.Errorf("SplitList: %x %x %v", c, r, err)
	}
}

func TestSplitUint64(t *testing.T) {
	tests := []struct {
		input string
		want  uint64
		rest  string
		err   error
	}{
		{input: "80", want: 0},
		{input: "01", want: 1},
		{input: "7fff", want: 0x7f, rest: "ff"},
		{input: "8180", want: 0x80},
		{input: "88ffffffffffffffff", want: math.MaxUint64},
		{input: "00", err: ErrCanonInt},
		{input: "8100", err: ErrCanonSize},
		{input: "820001", err: ErrCanonInt},
		{input: "89010000000000000000", err: ErrUintOverflow},
		{input: "c0", err: ErrExpectedString},
		{input: "", err: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		x, rest, err := SplitUint64(unhexMust(tt.input))
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: error %v, want %v", tt.input, err, tt.err)
			continue
		}
		if err == nil && (x != tt.want || !bytes.Equal(rest, unhexMust(tt.rest))) {
			t.Errorf("%s: got %d %x", tt.input, x, rest)
		}
	}
}

func TestCountValues(t *testing.T) {
	tests := []struct {
		input string
		count int
		err   error
	}{
		{"", 0, nil},
		{"00", 1, nil},
		{"0001c0c28080", 4, nil},
		{"c1", 0, ErrValueTooLarge},
		{"018100", 0, ErrCanonSize},
	}
	for _, tt := range tests {
		n, err := CountValues(unhexMust(tt.input))
		if !errors.Is(err, tt.err) || n != tt.count {
			t.Errorf("%q: got %d %v, want %d %v", tt.input, n, err, tt.count, tt.err)
		}
	}
}

func TestAppendUint64AndSizes(t *testing.T) {
	for _, x := range []uint64{0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 1 << 32, math.MaxUint64} {
		got := AppendUint64([]byte{0xaa}, x)
		want, _ := EncodeToBytes(x)
		if !bytes.Equal(got[1:], want) || got[0] != 0xaa {
			t.Errorf("AppendUint64(%d) = %x, want aa%x", x, got, want)
		}
		if IntSize(x) != len(want) {
			t.Errorf("IntSize(%d) = %d, want %d", x, IntSize(x), len(want))
		}
		back, rest, err := SplitUint64(want)
		if err != nil || back != x || len(rest) != 0 {
			t.Errorf("SplitUint64(%x) = %d %v", want, back, err)
		}
	}
	for _, n := range []uint64{0, 1, 55, 56, 255, 256, 65535, 65536, 1 << 24} {
		content := bytes.Repeat([]byte{0x01}, int(n))
		l, _ := EncodeToBytes(RawListOf(content))
		if ListSize(n) != uint64(len(l)) {
			t.Errorf("ListSize(%d) = %d, want %d", n, ListSize(n), len(l))
		}
	}
}

// RawListOf wraps content (encoded elements) in a list header, via the
// EncoderBuffer API.
type RawListOf []byte

func (r RawListOf) EncodeRLP(w io.Writer) error {
	eb := NewEncoderBuffer(w)
	l := eb.List()
	if _, err := eb.Write(r); err != nil {
		return err
	}
	eb.ListEnd(l)
	return eb.Flush()
}

func TestNonCanonicalSizeIsCanonSize(t *testing.T) {
	var v []byte
	err := DecodeBytes(unhexMust("b900380000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"), &v)
	if !errors.Is(err, ErrNonCanonicalSize) || !errors.Is(err, ErrCanonSize) {
		t.Fatalf("got %v", err)
	}
	if errors.Is(ErrCanonSize, ErrNonCanonicalSize) {
		t.Fatal("ErrCanonSize must not match the narrower ErrNonCanonicalSize")
	}
}

func TestKindString(t *testing.T) {
	if Byte.String() != "Byte" || String.String() != "String" || List.String() != "List" {
		t.Fatal("Kind.String")
	}
}

package rlp

import (
	"bytes"
	"errors"
	"io"
	"math/big"
	"runtime"
	"strings"
	"testing"
)

// streams returns a Stream over input for every input path.
func streams(input []byte) map[string]*Stream {
	return map[string]*Stream{
		"slice":        newSliceStream(input),
		"bytes.Reader": NewStream(bytes.NewReader(input), 0),
		"io.Reader":    NewStream(onlyReader{bytes.NewReader(input)}, 0),
		"limited":      NewStream(onlyReader{bytes.NewReader(input)}, uint64(len(input))),
	}
}

func TestStreamWalk(t *testing.T) {
	// [1, "dog", [0x80 as int, []], <56-byte string>] followed by a second value 5.
	long := strings.Repeat("x", 56)
	input := unhexMust("f843" + "01" + "83646f67" + "c3" + "8180" + "c0" + "b838" + hexOf(long) + "05")
	for name, s := range streams(input) {
		t.Run(name, func(t *testing.T) {
			expectKind(t, s, List, 0x43)
			size, err := s.List()
			if err != nil || size != 0x43 {
				t.Fatalf("List: %d %v", size, err)
			}
			expectKind(t, s, Byte, 0)
			expectKind(t, s, Byte, 0) // repeated Kind does not advance
			if v, err := s.Uint64(); err != nil || v != 1 {
				t.Fatalf("Uint64: %d %v", v, err)
			}
			if !s.MoreDataInList() {
				t.Fatal("MoreDataInList false inside list")
			}
			expectKind(t, s, String, 3)
			if b, err := s.Bytes(); err != nil || string(b) != "dog" {
				t.Fatalf("Bytes: %q %v", b, err)
			}
			if _, err := s.List(); err != nil {
				t.Fatal(err)
			}
			if v, err := s.Uint8(); err != nil || v != 0x80 {
				t.Fatalf("Uint8: %d %v", v, err)
			}
			raw, err := s.Raw()
			if err != nil || !bytes.Equal(raw, []byte{0xc0}) {
				t.Fatalf("Raw: %x %v", raw, err)
			}
			if _, _, err := s.Kind(); err != EOL {
				t.Fatalf("Kind at end of list: %v, want EOL", err)
			}
			if _, err := s.Uint64(); err != EOL {
				t.Fatalf("Uint64 at end of list: %v, want EOL", err)
			}
			if err := s.ListEnd(); err != nil {
				t.Fatal(err)
			}
			var buf [56]byte
			if err := s.ReadBytes(buf[:]); err != nil || string(buf[:]) != long {
				t.Fatalf("ReadBytes: %v", err)
			}
			if s.MoreDataInList() {
				t.Fatal("MoreDataInList true at end of list")
			}
			if err := s.ListEnd(); err != nil {
				t.Fatal(err)
			}
			if err := s.ListEnd(); err != ErrNotInList {
				t.Fatalf("ListEnd outside list: %v", err)
			}
			if v, err := s.Uint16(); err != nil || v != 5 {
				t.Fatalf("second value: %d %v", v, err)
			}
			if _, _, err := s.Kind(); err != io.EOF {
				t.Fatalf("Kind at end of input: %v, want io.EOF", err)
			}
		})
	}
}

func hexOf(s string) string {
	var sb strings.Builder
	for i := range len(s) {
		sb.WriteString("0123456789abcdef"[s[i]>>4 : s[i]>>4+1])
		sb.WriteString("0123456789abcdef"[s[i]&15 : s[i]&15+1])
	}
	return sb.String()
}

func expectKind(t *testing.T, s *Stream, kind Kind, size uint64) {
	t.Helper()
	k, sz, err := s.Kind()
	if err != nil || k != kind || sz != size {
		t.Fatalf("Kind: got %v %d %v, want %v %d", k, sz, err, kind, size)
	}
}

func TestStreamErrors(t *testing.T) {
	type call func(s *Stream) error
	uint64Call := func(s *Stream) error { _, err := s.Uint64(); return err }
	tests := []struct {
		input string
		calls []call
		want  error
	}{
		{"c20102", []call{func(s *Stream) error { _, err := s.List(); return err },
			uint64Call, func(s *Stream) error { return s.ListEnd() }}, ErrNotAtEOL},
		{"01", []call{func(s *Stream) error { _, err := s.List(); return err }}, ErrExpectedList},
		{"c0", []call{func(s *Stream) error { _, err := s.Bytes(); return err }}, ErrExpectedString},
		{"c0", []call{func(s *Stream) error { return s.ReadBytes(make([]byte, 1)) }}, ErrExpectedString},
		{"820102", []call{func(s *Stream) error { return s.ReadBytes(make([]byte, 3)) }}, ErrWrongSize},
		{"01", []call{func(s *Stream) error { return s.ReadBytes(make([]byte, 2)) }}, ErrWrongSize},
		{"8101", []call{func(s *Stream) error { return s.ReadBytes(make([]byte, 1)) }}, ErrCanonSize},
		{"8101", []call{func(s *Stream) error { _, err := s.Bytes(); return err }}, ErrCanonSize},
		{"8101", []call{func(s *Stream) error { _, err := s.Raw(); return err }}, ErrCanonSize},
		{"c28101", []call{func(s *Stream) error { _, err := s.Raw(); return err }}, ErrCanonSize},
		{"8401020304", []call{func(s *Stream) error { _, err := s.Uint16(); return err }}, ErrUintOverflow},
		{"820100", []call{func(s *Stream) error { _, err := s.Uint8(); return err }}, ErrUintOverflow},
		{"00", []call{uint64Call}, ErrCanonInt},
		{"02", []call{func(s *Stream) error { _, err := s.Bool(); return err }}, ErrInvalidBool},
		{"c0", []call{func(s *Stream) error { _, err := s.BigInt(); return err }}, ErrExpectedString},
		{"8200ff", []call{func(s *Stream) error { _, err := s.BigInt(); return err }}, ErrCanonInt},
		{"", []call{uint64Call}, io.EOF},
		{"", []call{func(s *Stream) error { _, err := s.List(); return err }}, io.EOF},
		{"c3", []call{func(s *Stream) error { _, err := s.List(); return err }, uint64Call}, ErrValueTooLarge},
		{"c20103", []call{func(s *Stream) error { _, err := s.List(); return err },
			uint64Call, uint64Call, uint64Call}, EOL},
		{"c2820102", []call{func(s *Stream) error { _, err := s.List(); return err }, uint64Call}, ErrElemTooLarge},
		{"b90001", []call{uint64Call}, ErrNonCanonicalSize},
		{"b80a", []call{uint64Call}, ErrCanonSize},
	}
	for i, tt := range tests {
		for name, s := range streams(unhexMust(tt.input)) {
			var err error
			for _, c := range tt.calls {
				if err = c(s); err != nil {
					break
				}
			}
			want := tt.want
			if !errors.Is(err, want) && !(name == "io.Reader" && want == ErrValueTooLarge && errors.Is(err, io.ErrUnexpectedEOF)) {
				t.Errorf("test %d (%s, %s): got %v, want %v", i, tt.input, name, err, want)
			}
		}
	}
}

func TestStreamBigIntAndBool(t *testing.T) {
	input := unhexMust("c8" + "01" + "80" + "85" + "0102030405")
	for name, s := range streams(input) {
		if _, err := s.List(); err != nil {
			t.Fatal(name, err)
		}
		if b, err := s.Bool(); err != nil || !b {
			t.Fatal(name, b, err)
		}
		if b, err := s.Bool(); err != nil || b {
			t.Fatal(name, b, err)
		}
		if i, err := s.BigInt(); err != nil || i.Cmp(big.NewInt(0x0102030405)) != 0 {
			t.Fatal(name, i, err)
		}
		if err := s.ListEnd(); err != nil {
			t.Fatal(name, err)
		}
	}
}

func TestStreamReset(t *testing.T) {
	s := NewStream(bytes.NewReader(unhexMust("c20102")), 0)
	if _, err := s.List(); err != nil {
		t.Fatal(err)
	}
	s.Reset(bytes.NewReader(unhexMust("05")), 0)
	if v, err := s.Uint64(); err != nil || v != 5 {
		t.Fatalf("after Reset: %d %v", v, err)
	}
	if _, _, err := s.Kind(); err != io.EOF {
		t.Fatalf("got %v", err)
	}
}

// A limit smaller than the input stops reading at the limit.
func TestStreamInputLimit(t *testing.T) {
	input := unhexMust("83010203")
	s := NewStream(onlyReader{bytes.NewReader(input)}, 3)
	if _, err := s.Bytes(); !errors.Is(err, ErrValueTooLarge) {
		t.Fatalf("got %v, want ErrValueTooLarge", err)
	}
	// A list that claims more than the limit fails at its header.
	s = NewStream(onlyReader{bytes.NewReader(unhexMust("c3010203"))}, 2)
	if _, err := s.List(); !errors.Is(err, ErrValueTooLarge) {
		t.Fatalf("list: got %v", err)
	}
}

// A header claiming an enormous size on a tiny input must fail without
// allocating anything near the claimed size, for every input path.
func TestStreamAllocationLimit(t *testing.T) {
	inputs := map[string][]byte{
		"string 4GiB":      unhexMust("bcffffffff0102030405"),
		"string 2^63":      unhexMust("bf7fffffffffffffff01"),
		"list 4GiB":        unhexMust("fcffffffff0102030405"),
		"nested 1GiB":      unhexMust("f8" + "08" + "bc3fffffff" + "010203"),
		"string 16MiB":     unhexMust("bb01000000" + "0102"),
		"string readChunk": append(unhexMust("ba0f4240"), make([]byte, 100)...), // claims 1,000,000
	}
	targets := []func() any{
		func() any { return new([]byte) },
		func() any { return new(string) },
		func() any { return new(RawValue) },
		func() any { return new(any) },
		func() any { return new([]RawValue) },
		func() any { return new(*big.Int) },
	}
	for name, input := range inputs {
		for mode, decode := range map[string]func(any) error{
			"DecodeBytes": func(v any) error { return DecodeBytes(input, v) },
			"limited":     func(v any) error { return NewStream(bytes.NewReader(input), 0).Decode(v) },
			"unlimited":   func(v any) error { return NewStream(onlyReader{bytes.NewReader(input)}, 0).Decode(v) },
			"Decode":      func(v any) error { return Decode(onlyReader{bytes.NewReader(input)}, v) },
		} {
			for _, target := range targets {
				v := target()
				allocated := allocatedBytes(func() {
					if err := decode(v); err == nil {
						t.Errorf("%s/%s: %T accepted", name, mode, v)
					}
				})
				// The unlimited reader may read one bounded chunk at most.
				if allocated > 4*readChunk {
					t.Errorf("%s/%s into %T: allocated %d bytes", name, mode, v, allocated)
				}
			}
		}
	}
}

func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Large strings from an unlimited reader arrive intact through chunked reads.
func TestStreamUnlimitedLargeString(t *testing.T) {
	payload := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 50000) // 350,000 bytes, > readChunk
	enc, err := EncodeToBytes(payload)
	if err != nil {
		t.Fatal(err)
	}
	wrapped, _ := EncodeToBytes([]any{payload, uint(7)})
	for _, dec := range []func(any) error{
		func(v any) error { return Decode(onlyReader{bytes.NewReader(enc)}, v) },
	} {
		var b []byte
		if err := dec(&b); err != nil || !bytes.Equal(b, payload) {
			t.Fatalf("[]byte: %v", err)
		}
		var s string
		if err := dec(&s); err != nil || s != string(payload) {
			t.Fatalf("string: %v", err)
		}
		var r RawValue
		if err := dec(&r); err != nil || !bytes.Equal(r, enc) {
			t.Fatalf("raw: %v", err)
		}
	}
	var x struct {
		B []byte
		U uint
	}
	if err := Decode(onlyReader{bytes.NewReader(wrapped)}, &x); err != nil || !bytes.Equal(x.B, payload) || x.U != 7 {
		t.Fatalf("struct: %v", err)
	}
	var r RawValue
	if err := Decode(onlyReader{bytes.NewReader(wrapped)}, &r); err != nil || !bytes.Equal(r, wrapped) {
		t.Fatalf("raw list: %v", err)
	}
	// Truncated: fails cleanly.
	if err := Decode(onlyReader{bytes.NewReader(enc[:len(enc)-1])}, &r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: %v", err)
	}
}

// Decode leaves data after the first value unread.
func TestDecodeSequence(t *testing.T) {
	r := bytes.NewReader(unhexMust("0102c20304"))
	var a, b uint
	var c []uint
	if err := Decode(r, &a); err != nil {
		t.Fatal(err)
	}
	if err := Decode(r, &b); err != nil {
		t.Fatal(err)
	}
	if err := Decode(r, &c); err != nil {
		t.Fatal(err)
	}
	if a != 1 || b != 2 || len(c) != 2 {
		t.Fatalf("got %d %d %v", a, b, c)
	}
	if err := Decode(r, &a); err != io.EOF {
		t.Fatalf("at end: %v", err)
	}
}

// Stream.Decode inside a list returns EOL at its end.
func TestStreamDecodeEOL(t *testing.T) {
	s := NewStream(bytes.NewReader(unhexMust("c3c0c0c0")), 0)
	if _, err := s.List(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		var v []uint
		err := s.Decode(&v)
		if err == EOL {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("decoded %d values", n)
	}
}

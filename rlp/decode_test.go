package rlp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

type decTest struct {
	input   string
	ptr     any   // pointer to a zero value of the target type
	want    any   // expected value pointed to (when wantErr is nil)
	wantErr error // sentinel (errors.Is)
	msg     string
}

func uintp(u uint) *uint { return &u }

var decTests = []decTest{
	// Integers.
	{input: "80", ptr: new(uint8), want: uint8(0)},
	{input: "05", ptr: new(uint8), want: uint8(5)},
	{input: "8180", ptr: new(uint8), want: uint8(0x80)},
	{input: "81ff", ptr: new(uint8), want: uint8(0xff)},
	{input: "820100", ptr: new(uint8), wantErr: ErrUintOverflow},
	{input: "820505", ptr: new(uint16), want: uint16(0x0505)},
	{input: "83050505", ptr: new(uint16), wantErr: ErrUintOverflow},
	{input: "8405050505", ptr: new(uint32), want: uint32(0x05050505)},
	{input: "850505050505", ptr: new(uint32), wantErr: ErrUintOverflow,
		msg: "rlp: uint overflow for uint32"},
	{input: "88ffffffffffffffff", ptr: new(uint64), want: uint64(0xffffffffffffffff)},
	{input: "89ffffffffffffffffff", ptr: new(uint64), wantErr: ErrUintOverflow},
	{input: "820400", ptr: new(uint), want: uint(1024)},
	{input: "00", ptr: new(uint), wantErr: ErrCanonInt,
		msg: "rlp: non-canonical integer (leading zero bytes) for uint"},
	{input: "820004", ptr: new(uint), wantErr: ErrCanonInt},
	{input: "8105", ptr: new(uint), wantErr: ErrCanonSize},
	{input: "8100", ptr: new(uint), wantErr: ErrCanonSize},
	{input: "b8020004", ptr: new(uint), wantErr: ErrCanonSize},
	{input: "c0", ptr: new(uint), wantErr: ErrExpectedString,
		msg: "rlp: expected input string or byte for uint"},
	{input: "c101", ptr: new(uint16), wantErr: ErrExpectedString},
	{input: "", ptr: new(uint), wantErr: io.EOF},
	{input: "82", ptr: new(uint), wantErr: ErrValueTooLarge},
	{input: "0505", ptr: new(uint), wantErr: ErrMoreThanOneValue},
	{input: "c6010203040506", ptr: new(allUints), want: allUints{1, 2, 3, 4, 5, 6}},

	// Booleans.
	{input: "01", ptr: new(bool), want: true},
	{input: "80", ptr: new(bool), want: false},
	{input: "02", ptr: new(bool), wantErr: ErrInvalidBool},
	{input: "00", ptr: new(bool), wantErr: ErrCanonInt},
	{input: "820001", ptr: new(bool), wantErr: ErrUintOverflow},

	// Big integers.
	{input: "80", ptr: new(*big.Int), want: big.NewInt(0)},
	{input: "01", ptr: new(*big.Int), want: big.NewInt(1)},
	{input: "8180", ptr: new(*big.Int), want: big.NewInt(0x80)},
	{input: "89ffffffffffffffffff", ptr: new(*big.Int), want: bigFromHex("ffffffffffffffffff")},
	{input: "a00100000000000000000000000000000000000000000000000000000000000000", ptr: new(*big.Int),
		want: bigFromHex("0100000000000000000000000000000000000000000000000000000000000000")},
	{input: "00", ptr: new(*big.Int), wantErr: ErrCanonInt},
	{input: "820001", ptr: new(*big.Int), wantErr: ErrCanonInt},
	{input: "a0000000000000000000000000000000000000000000000000000000000000000001", ptr: new(*big.Int), wantErr: ErrCanonInt},
	{input: "8105", ptr: new(*big.Int), wantErr: ErrCanonSize},
	{input: "c0", ptr: new(*big.Int), wantErr: ErrExpectedString},
	{input: "82ffff", ptr: new(big.Int), want: *big.NewInt(0xffff)},
	{input: "c28003", ptr: new(bigFields), want: bigFields{P: big.NewInt(0), V: *big.NewInt(3)}},

	// Strings and byte slices.
	{input: "80", ptr: new(string), want: ""},
	{input: "00", ptr: new(string), want: "\x00"},
	{input: "83646f67", ptr: new(string), want: "dog"},
	{input: "b838" + strings.Repeat("61", 56), ptr: new(string), want: strings.Repeat("a", 56)},
	{input: "b837" + strings.Repeat("61", 55), ptr: new(string), wantErr: ErrCanonSize},
	{input: "b90038" + strings.Repeat("61", 56), ptr: new(string), wantErr: ErrNonCanonicalSize},
	{input: "817f", ptr: new(string), wantErr: ErrCanonSize},
	{input: "c0", ptr: new(string), wantErr: ErrExpectedString},
	{input: "80", ptr: new([]byte), want: []byte{}},
	{input: "01", ptr: new([]byte), want: []byte{1}},
	{input: "83010203", ptr: new([]byte), want: []byte{1, 2, 3}},
	{input: "8105", ptr: new([]byte), wantErr: ErrCanonSize},
	{input: "c0", ptr: new([]byte), wantErr: ErrExpectedString},
	{input: "c401820304", ptr: new(namedBytes), want: namedBytes{S: []namedByte{1}, A: [2]namedByte{3, 4}}},

	// Byte arrays need the exact length.
	{input: "80", ptr: new([0]byte), want: [0]byte{}},
	{input: "01", ptr: new([0]byte), wantErr: ErrStringTooLong},
	{input: "01", ptr: new([1]byte), want: [1]byte{1}},
	{input: "8180", ptr: new([1]byte), want: [1]byte{0x80}},
	{input: "8105", ptr: new([1]byte), wantErr: ErrCanonSize},
	{input: "80", ptr: new([1]byte), wantErr: ErrStringTooShort},
	{input: "8401020304", ptr: new([4]byte), want: [4]byte{1, 2, 3, 4}},
	{input: "83010203", ptr: new([4]byte), wantErr: ErrStringTooShort,
		msg: "rlp: input string too short for [4]uint8"},
	{input: "850102030405", ptr: new([4]byte), wantErr: ErrStringTooLong},
	{input: "02", ptr: new([4]byte), wantErr: ErrStringTooShort},
	{input: "c401020304", ptr: new([4]byte), wantErr: ErrExpectedString},
	{input: "c7800984" + "01020304", ptr: new(byteArrays), want: byteArrays{One: [1]byte{9}, Four: [4]byte{1, 2, 3, 4}}},

	// Lists.
	{input: "c0", ptr: new([]uint), want: []uint{}},
	{input: "c3010203", ptr: new([]uint), want: []uint{1, 2, 3}},
	{input: "f838" + strings.Repeat("80", 56), ptr: new([]uint), want: make([]uint, 56)},
	{input: "f90038" + strings.Repeat("80", 56), ptr: new([]uint), wantErr: ErrNonCanonicalSize},
	{input: "f8020004", ptr: new([]uint), wantErr: ErrCanonSize},
	{input: "c20102", ptr: new([]uint8), wantErr: ErrExpectedString}, // []uint8 is a byte string
	{input: "83010203", ptr: new([]uint), wantErr: ErrExpectedList,
		msg: "rlp: expected input list for []uint"},
	{input: "c3010203", ptr: new([3]uint), want: [3]uint{1, 2, 3}},
	{input: "c20102", ptr: new([3]uint), wantErr: ErrTooFewElements},
	{input: "c401020304", ptr: new([3]uint), wantErr: ErrTooManyElements},
	{input: "c0", ptr: new([0]uint), want: [0]uint{}},
	{input: "c101", ptr: new([0]uint), wantErr: ErrTooManyElements},
	{input: "c3c0c1c0", ptr: new([][]any), want: [][]any{{}, {[]any{}}}},
	{input: "c3010280", ptr: new([]uint16), want: []uint16{1, 2, 0}},
	{input: "c3010200", ptr: new([]uint16), wantErr: ErrCanonInt,
		msg: "rlp: non-canonical integer (leading zero bytes) for []uint16[2]"},
	{input: "c2c101", ptr: new([]uint), wantErr: ErrExpectedString, msg: "rlp: expected input string or byte for []uint[0]"},
	// Element size beyond the list: the inner string claims 2 bytes, the list has 1 left.
	{input: "c28201", ptr: new([]uint), wantErr: ErrElemTooLarge},
	{input: "c382010203", ptr: new([]uint), wantErr: ErrMoreThanOneValue},
	{input: "c501020304", ptr: new([]uint), wantErr: ErrValueTooLarge},

	// Structs.
	{input: "c20161", ptr: new(simple), want: simple{1, "a"}},
	{input: "c50183646f67", ptr: new(simple), want: simple{1, "dog"}},
	{input: "c0", ptr: new(simple), wantErr: ErrTooFewElements,
		msg: "rlp: input list has too few elements for rlp.simple"},
	{input: "c101", ptr: new(simple), wantErr: ErrTooFewElements},
	{input: "c3016102", ptr: new(simple), wantErr: ErrTooManyElements,
		msg: "rlp: input list has too many elements for rlp.simple"},
	{input: "8161", ptr: new(simple), wantErr: ErrExpectedList},
	{input: "c2c061", ptr: new(simple), wantErr: ErrExpectedString,
		msg: "rlp: expected input string or byte for rlp.simple.A"},
	{input: "c20103", ptr: new(withIgnored), want: withIgnored{A: 1, C: 3}},
	{input: "c20103", ptr: new(withUnexported), want: withUnexported{A: 1, C: 3}},
	{input: "c401c202c0", ptr: new(recursive), want: recursive{I: 1, Child: &recursive{I: 2}}},
	{input: "c401c202c1", ptr: new(recursive), wantErr: ErrElemTooLarge},
	{input: "c501c30201c0", ptr: new(recursive), wantErr: ErrExpectedList,
		msg: "rlp: expected input list for rlp.recursive.Child.Child"},

	// Tail.
	{input: "c101", ptr: new(withTail), want: withTail{A: 1, Tail: []uint{}}},
	{input: "c3010203", ptr: new(withTail), want: withTail{A: 1, Tail: []uint{2, 3}}},
	{input: "c30102c0", ptr: new(withTail), wantErr: ErrExpectedString,
		msg: "rlp: expected input string or byte for rlp.withTail.Tail[1]"},
	{input: "c0", ptr: new(withTail), wantErr: ErrTooFewElements},
	{input: "c401c08180", ptr: new(withRawTail), want: withRawTail{A: 1, Rest: []RawValue{unhexMust("c0"), unhexMust("8180")}}},
	{input: "c401c28100", ptr: new(withRawTail), wantErr: ErrCanonSize}, // RawValue content is validated

	// Optional fields.
	{input: "c101", ptr: new(optionalFields), want: optionalFields{A: 1}},
	{input: "c20102", ptr: new(optionalFields), want: optionalFields{A: 1, B: 2}},
	{input: "c3010203", ptr: new(optionalFields), want: optionalFields{A: 1, B: 2, C: 3}},
	{input: "c401020304", ptr: new(optionalFields), wantErr: ErrTooManyElements},
	{input: "c0", ptr: new(optionalFields), wantErr: ErrTooFewElements},
	{input: "c101", ptr: new(optionalAndTail), want: optionalAndTail{A: 1}},
	{input: "c20102", ptr: new(optionalAndTail), want: optionalAndTail{A: 1, B: 2, Tail: []uint{}}},
	{input: "c401020304", ptr: new(optionalAndTail), want: optionalAndTail{A: 1, B: 2, Tail: []uint{3, 4}}},
	{input: "c101", ptr: new(optionalPtr), want: optionalPtr{A: 1}},
	{input: "c50183010203", ptr: new(optionalPtr), want: optionalPtr{A: 1, B: &[3]byte{1, 2, 3}}},
	{input: "c3018201", ptr: new(optionalPtr), wantErr: ErrElemTooLarge},
	{input: "c401820102", ptr: new(optionalPtr), wantErr: ErrStringTooShort,
		msg: "rlp: input string too short for rlp.optionalPtr.B"},

	// Pointers.
	{input: "80", ptr: new(*uint), want: uintp(0)},
	{input: "05", ptr: new(*uint), want: uintp(5)},
	{input: "c0", ptr: new(*uint), wantErr: ErrExpectedString},
	{input: "c20161", ptr: new(*simple), want: &simple{1, "a"}},
	{input: "c580c2016180", ptr: new(ptrFields), want: ptrFields{U: uintp(0), S: &simple{1, "a"}, B: big.NewInt(0)}},
	{input: "c401c20261", ptr: new(ptrFields), wantErr: ErrTooFewElements},

	// nil tags: an empty value of the right kind is a nil pointer.
	{input: "c680c080c080c0", ptr: new(nilTagDefault), want: nilTagDefault{}},
	{input: "c680c080c080c1", ptr: new(nilTagDefault), wantErr: ErrElemTooLarge},
	{input: "c6c0c080c080c0", ptr: new(nilTagDefault), wantErr: ErrWrongEmptyKind,
		msg: "rlp: wrong kind of empty value for rlp.nilTagDefault.U"},
	{input: "c680808080" + "80c0", ptr: new(nilTagDefault), wantErr: ErrWrongEmptyKind},
	{input: "c1c0", ptr: new(nilTagList), want: nilTagList{}},
	{input: "c180", ptr: new(nilTagList), wantErr: ErrWrongEmptyKind},
	{input: "c105", ptr: new(nilTagList), want: nilTagList{X: uintp(5)}},
	{input: "c180", ptr: new(nilTagString), want: nilTagString{}},
	{input: "c1c0", ptr: new(nilTagString), wantErr: ErrWrongEmptyKind},
	{input: "c3c20102", ptr: new(nilTagString), want: nilTagString{X: &[]uint{1, 2}}},

	// Interfaces.
	{input: "80", ptr: new(any), want: []byte{}},
	{input: "05", ptr: new(any), want: []byte{5}},
	{input: "c0", ptr: new(any), want: []any{}},
	{input: "c50183646f67", ptr: new(any), want: []any{[]byte{1}, []byte("dog")}},
	{input: "c3c20102", ptr: new(withInterface), want: withInterface{X: []any{[]byte{1}, []byte{2}}}},
	{input: "c2c100", ptr: new(any), want: []any{[]any{[]byte{0}}}},
	{input: "c3c28100", ptr: new(any), wantErr: ErrCanonSize, msg: "rlp: non-canonical size information for interface {}[0][0]"},
	{input: "80", ptr: new(io.Reader), wantErr: ErrUnsupportedType},

	// RawValue.
	{input: "01", ptr: new(RawValue), want: RawValue{1}},
	{input: "80", ptr: new(RawValue), want: RawValue{0x80}},
	{input: "c3c20102", ptr: new(RawValue), want: RawValue(unhexMust("c3c20102"))},
	{input: "c3c28100", ptr: new(RawValue), wantErr: ErrCanonSize},
	{input: "c28105", ptr: new(RawValue), wantErr: ErrCanonSize},
	{input: "c3c20201", ptr: new([]RawValue), want: []RawValue{unhexMust("c20201")}},
	{input: "c3c28201", ptr: new(RawValue), wantErr: ErrElemTooLarge},

	// Custom decoders.
	{input: "c20102", ptr: new(pairDecoder), want: pairDecoder{1, 2}},
	{input: "c6c20102c20304", ptr: new([]pairDecoder), want: []pairDecoder{{1, 2}, {3, 4}}},
	{input: "c3c20102", ptr: new([]*pairDecoder), want: []*pairDecoder{{1, 2}}},
	// A Decoder's own list ending early is not the end of the enclosing list.
	{input: "c101", ptr: new(pairDecoder), wantErr: ErrTooFewElements},
	{input: "c3c20102", ptr: new(struct{ P pairDecoder }), want: struct{ P pairDecoder }{pairDecoder{1, 2}}},
	{input: "c3c101c0", ptr: new(struct {
		P pairDecoder
		Q []uint `rlp:"optional"`
	}), wantErr: ErrTooFewElements},
	{input: "c0", ptr: new(struct {
		P []pairDecoder `rlp:"tail"`
	}), want: struct {
		P []pairDecoder `rlp:"tail"`
	}{P: []pairDecoder{}}},
	{input: "c0", ptr: new(failingDecoder), wantErr: errDecoder,
		msg: "rlp: decoder failed for rlp.failingDecoder"},

	// Unsupported targets.
	{input: "05", ptr: new(int), wantErr: ErrUnsupportedType},
	{input: "c0", ptr: new(bad), wantErr: ErrUnsupportedType},
	{input: "c0", ptr: new(badNested), wantErr: ErrUnsupportedType},
	{input: "c0", ptr: new(badTailNotLast), wantErr: ErrInvalidTag},
}

// decodeModes decodes input into a fresh value of ptr's type through every
// input path: a byte slice, a reader with known length, and a bare io.Reader
// (unknown length, bufio-wrapped). Trailing data is an error in all modes.
var decodeModes = []struct {
	name   string
	decode func(input []byte, ptr any) error
}{
	{"DecodeBytes", DecodeBytes},
	{"Stream/bytes.Reader", func(input []byte, ptr any) error {
		return decodeStreamAll(NewStream(bytes.NewReader(input), 0), ptr)
	}},
	{"Stream/io.Reader", func(input []byte, ptr any) error {
		return decodeStreamAll(NewStream(onlyReader{bytes.NewReader(input)}, 0), ptr)
	}},
}

func decodeStreamAll(s *Stream, ptr any) error {
	if err := s.Decode(ptr); err != nil {
		return err
	}
	if _, _, err := s.Kind(); err != io.EOF {
		return ErrMoreThanOneValue
	}
	return nil
}

func TestDecode(t *testing.T) {
	for i, tt := range decTests {
		input := unhexMust(tt.input)
		for _, mode := range decodeModes {
			ptr := reflect.New(reflect.TypeOf(tt.ptr).Elem())
			err := mode.decode(input, ptr.Interface())
			name := fmt.Sprintf("test %d (%s into %T, %s)", i, tt.input, tt.ptr, mode.name)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) && !(mode.name == "Stream/io.Reader" &&
					tt.wantErr == ErrValueTooLarge && errors.Is(err, io.ErrUnexpectedEOF)) {
					t.Errorf("%s: got error %v, want %v", name, err, tt.wantErr)
				} else if tt.msg != "" && err.Error() != tt.msg {
					t.Errorf("%s: error message\n got %q\nwant %q", name, err.Error(), tt.msg)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: unexpected error: %v", name, err)
				continue
			}
			if got := ptr.Elem().Interface(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s: got %#v\nwant %#v", name, got, tt.want)
			}
		}
	}
}

// Every successful decode of a canonical type re-encodes to the same input.
func TestDecodeRoundTrip(t *testing.T) {
	for i, tt := range decTests {
		if tt.wantErr != nil {
			continue
		}
		ptr := reflect.New(reflect.TypeOf(tt.ptr).Elem())
		input := unhexMust(tt.input)
		if err := DecodeBytes(input, ptr.Interface()); err != nil {
			t.Fatal(err)
		}
		switch tt.ptr.(type) {
		case *nilTagDefault, *ptrFields:
			continue // nil and zero pointers share an encoding
		}
		out, err := EncodeToBytes(ptr.Interface())
		if err != nil {
			t.Errorf("test %d: re-encode: %v", i, err)
		} else if !bytes.Equal(out, input) {
			t.Errorf("test %d (%T): re-encoded %x, input %s", i, tt.ptr, out, tt.input)
		}
	}
}

func TestDecodeErrorsDetails(t *testing.T) {
	var v struct {
		Version uint64
		Caps    []struct {
			Name    string
			Version uint
		}
	}
	err := DecodeBytes(unhexMust("c8"+"01"+"c6"+"c4826161"+"01"+"05"), &v)
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a *DecodeError", err)
	}
	if !errors.Is(err, ErrExpectedList) {
		t.Fatalf("error %v does not unwrap to ErrExpectedList", err)
	}
	if de.Path() != ".Caps[1]" {
		t.Errorf("path %q", de.Path())
	}
	if de.Type.Kind() != reflect.Struct || de.Root != reflect.TypeOf(v) {
		t.Errorf("type %v root %v", de.Type, de.Root)
	}
	if !strings.HasSuffix(err.Error(), ".Caps[1]") || !strings.HasPrefix(err.Error(), "rlp: expected input list for struct {") {
		t.Errorf("message %q", err)
	}
}

func TestDecodeTarget(t *testing.T) {
	if err := DecodeBytes([]byte{0x80}, nil); !errors.Is(err, ErrDecodeIntoNil) {
		t.Errorf("nil: %v", err)
	}
	var u uint
	if err := DecodeBytes([]byte{0x80}, u); !errors.Is(err, ErrNoPointer) {
		t.Errorf("non-pointer: %v", err)
	}
	if err := DecodeBytes([]byte{0x80}, (*uint)(nil)); !errors.Is(err, ErrDecodeIntoNil) {
		t.Errorf("nil pointer: %v", err)
	}
}

// Decoding into existing values: pointers are reused, slices reuse capacity.
func TestDecodeIntoExisting(t *testing.T) {
	inner := &simple{}
	v := ptrFields{S: inner}
	if err := DecodeBytes(unhexMust("c50ac2056180"), &v); err != nil {
		t.Fatal(err)
	}
	if v.S != inner || *inner != (simple{5, "a"}) || *v.U != 10 {
		t.Fatalf("got %+v", v)
	}
	buf := make([]uint, 0, 8)
	if err := DecodeBytes(unhexMust("c3010203"), &buf); err != nil {
		t.Fatal(err)
	}
	if cap(buf) != 8 || len(buf) != 3 {
		t.Fatalf("slice not reused: len %d cap %d", len(buf), cap(buf))
	}
	// A nil-tagged pointer becomes nil again on an empty value.
	n := nilTagList{X: uintp(3)}
	if err := DecodeBytes(unhexMust("c1c0"), &n); err != nil || n.X != nil {
		t.Fatalf("nil tag: %v %v", err, n.X)
	}
	// Missing optional fields are zeroed.
	o := optionalFields{A: 9, B: 9, C: 9}
	if err := DecodeBytes(unhexMust("c101"), &o); err != nil || o != (optionalFields{A: 1}) {
		t.Fatalf("optional: %v %+v", err, o)
	}
}

// Decoded values must not alias the input.
func TestDecodeNoAliasing(t *testing.T) {
	input := unhexMust("c9" + "83616263" + "83010203" + "01")
	var v struct {
		S string
		B []byte
		R RawValue
	}
	if err := DecodeBytes(input, &v); err != nil {
		t.Fatal(err)
	}
	for i := range input {
		input[i] = 0xee
	}
	if v.S != "abc" || !bytes.Equal(v.B, []byte{1, 2, 3}) || !bytes.Equal(v.R, []byte{1}) {
		t.Fatalf("decoded values alias the input: %+v", v)
	}
}

func TestDecodeDepthLimit(t *testing.T) {
	deep := func(n int) []byte {
		// Build n nested empty lists from the inside out.
		b := []byte{0xc0}
		for range n - 1 {
			b = append(appendHeader(nil, listOffset, uint64(len(b))), b...)
		}
		return b
	}
	ok := deep(MaxDepth)
	var x any
	if err := DecodeBytes(ok, &x); err != nil {
		t.Fatalf("depth %d: %v", MaxDepth, err)
	}
	var raw RawValue
	if err := DecodeBytes(ok, &raw); err != nil {
		t.Fatalf("raw depth %d: %v", MaxDepth, err)
	}
	tooDeep := deep(MaxDepth + 1)
	if err := DecodeBytes(tooDeep, &x); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("depth %d: got %v", MaxDepth+1, err)
	}
	if err := DecodeBytes(tooDeep, &raw); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("raw depth %d: got %v", MaxDepth+1, err)
	}
	var r recursive
	if err := DecodeBytes(tooDeep, &r); err == nil {
		t.Fatal("recursive type accepted deep input")
	}
}

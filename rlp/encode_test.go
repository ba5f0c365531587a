package rlp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"strings"
	"sync"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func bigFromHex(s string) *big.Int {
	i, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic(s)
	}
	return i
}

type encTest struct {
	val     any
	want    string // hex; empty if an error is expected
	wantErr error
}

var encTests = []encTest{
	// Integers.
	{val: uint8(0), want: "80"},
	{val: uint8(1), want: "01"},
	{val: uint8(0x7f), want: "7f"},
	{val: uint8(0x80), want: "8180"},
	{val: uint16(0x400), want: "820400"},
	{val: uint32(0xffffff), want: "83ffffff"},
	{val: uint64(0xffffffffffffffff), want: "88ffffffffffffffff"},
	{val: uint(1024), want: "820400"},
	{val: uintptr(5), want: "05"},
	{val: allUints{1, 2, 3, 4, 5, 6}, want: "c6010203040506"},

	// Booleans.
	{val: true, want: "01"},
	{val: false, want: "80"},

	// Big integers.
	{val: big.NewInt(0), want: "80"},
	{val: big.NewInt(1), want: "01"},
	{val: big.NewInt(0x80), want: "8180"},
	{val: bigFromHex("102030405060708090a0b0c0d0e0f2"), want: "8f102030405060708090a0b0c0d0e0f2"},
	{val: bigFromHex("0100000000000000000000000000000000000000000000000000000000000000"),
		want: "a00100000000000000000000000000000000000000000000000000000000000000"},
	{val: *big.NewInt(0xffff), want: "82ffff"},
	{val: (*big.Int)(nil), want: "80"},
	{val: big.NewInt(-1), wantErr: ErrNegativeBigInt},
	{val: bigFields{P: nil, V: *big.NewInt(3)}, want: "c28003"},

	// Strings and byte slices.
	{val: "", want: "80"},
	{val: "\x7f", want: "7f"},
	{val: "\x80", want: "8180"},
	{val: "dog", want: "83646f67"},
	{val: []byte{}, want: "80"},
	{val: []byte{0}, want: "00"},
	{val: []byte{0x7e}, want: "7e"},
	{val: []byte{0x80}, want: "8180"},
	{val: []byte{1, 2, 3}, want: "83010203"},
	{val: strings.Repeat("a", 55), want: "b7" + strings.Repeat("61", 55)},
	{val: strings.Repeat("a", 56), want: "b838" + strings.Repeat("61", 56)},
	{val: strings.Repeat("a", 1024), want: "b90400" + strings.Repeat("61", 1024)},
	{val: []namedByte{1, 2}, want: "820102"},
	{val: namedBytes{S: []namedByte{1}, A: [2]namedByte{3, 4}}, want: "c401820304"},

	// Byte arrays.
	{val: [0]byte{}, want: "80"},
	{val: [1]byte{0}, want: "00"},
	{val: [1]byte{0x80}, want: "8180"},
	{val: [3]byte{1, 2, 3}, want: "83010203"},
	{val: &[3]byte{1, 2, 3}, want: "83010203"},
	{val: byteArrays{One: [1]byte{9}, Four: [4]byte{1, 2, 3, 4}}, want: "c7800984" + "01020304"},

	// Lists.
	{val: []uint{}, want: "c0"},
	{val: []uint{1, 2, 3}, want: "c3010203"},
	{val: [3]uint{1, 2, 3}, want: "c3010203"},
	{val: []any{[]any{}, []any{[]any{}}}, want: "c3c0c1c0"},
	{val: []string{"cat", "dog"}, want: "c88363617483646f67"},
	{val: make([]uint, 56), want: "f838" + strings.Repeat("80", 56)},
	{val: make([]uint, 1024), want: "f90400" + strings.Repeat("80", 1024)},
	{val: [][]uint{make([]uint, 60), {}}, want: "f83ff83c" + strings.Repeat("80", 60) + "c0"},

	// Structs and tags.
	{val: simple{1, "a"}, want: "c20161"},
	{val: &simple{1, "a"}, want: "c20161"},
	{val: withIgnored{A: 1, B: 2, C: 3}, want: "c20103"},
	{val: withUnexported{A: 1, b: 2, C: 3}, want: "c20103"},
	{val: withTail{A: 1}, want: "c101"},
	{val: withTail{A: 1, Tail: []uint{2, 3}}, want: "c3010203"},
	{val: withRawTail{A: 1, Rest: []RawValue{unhexMust("c0"), unhexMust("8180")}}, want: "c401c08180"},
	{val: optionalFields{A: 1}, want: "c101"},
	{val: optionalFields{A: 1, B: 2}, want: "c20102"},
	{val: optionalFields{A: 1, C: 3}, want: "c3018003"},
	{val: optionalAndTail{A: 1}, want: "c101"},
	{val: optionalAndTail{A: 1, Tail: []uint{5}}, want: "c3018005"},
	{val: optionalPtr{A: 1}, want: "c101"},
	{val: optionalPtr{A: 1, B: &[3]byte{1, 2, 3}}, want: "c50183010203"},
	{val: optionalBig{A: 1, B: big.NewInt(0)}, want: "c20180"},
	{val: recursive{I: 1, Child: &recursive{I: 2}}, want: "c401c202c0"},

	// Pointers: nil encodes as the empty value of the element type.
	{val: (*uint)(nil), want: "80"},
	{val: (*string)(nil), want: "80"},
	{val: (*[]byte)(nil), want: "80"},
	{val: (*[4]byte)(nil), want: "80"},
	{val: (*bool)(nil), want: "80"},
	{val: (*[]uint)(nil), want: "c0"},
	{val: (*simple)(nil), want: "c0"},
	{val: (**uint)(nil), want: "c0"},
	{val: ptr(ptr(uint(3))), want: "03"},
	{val: ptrFields{}, want: "c380c080"},
	{val: nilTagDefault{}, want: "c680c080c080c0"},
	{val: nilTagList{}, want: "c1c0"},
	{val: nilTagString{}, want: "c180"},

	// Interfaces.
	{val: []any{uint(1), "a", []byte{2}, []any{}}, want: "c40161" + "02c0"},
	{val: withInterface{}, want: "c1c0"},
	{val: withInterface{X: simple{2, "b"}}, want: "c3c20262"},
	{val: withInterface{X: [2]byte{1, 2}}, want: "c3820102"},

	// RawValue.
	{val: RawValue(unhexMust("c20102")), want: "c20102"},
	{val: []RawValue{unhexMust("01"), unhexMust("c0")}, want: "c201c0"},

	// Encoders.
	{val: byteEncoder(5), want: "c105"},
	{val: []byteEncoder{1, 2}, want: "c4c101c102"},
	{val: &ptrEncoder{V: 7}, want: "c20707"},
	{val: ptrEncoder{V: 7}, want: "c20707"}, // unaddressable: called on a copy
	{val: []ptrEncoder{{1}}, want: "c3c20101"},
	{val: []*ptrEncoder{nil}, want: "c1c0"}, // nil pointer: empty value, EncodeRLP not called
	{val: pairDecoder{1, 2}, want: "c20102"},
	{val: failingEncoder{}, wantErr: errEncoder},
	{val: []any{failingEncoder{}}, wantErr: errEncoder},

	// Unsupported.
	{val: int(1), wantErr: ErrUnsupportedType},
	{val: []int{1}, wantErr: ErrUnsupportedType},
	{val: bad{}, wantErr: ErrUnsupportedType},
	{val: badNested{}, wantErr: ErrUnsupportedType},
	{val: map[string]uint{}, wantErr: ErrUnsupportedType},
	{val: float64(1), wantErr: ErrUnsupportedType},
	{val: make(chan int), wantErr: ErrUnsupportedType},
	{val: badTailNotLast{}, wantErr: ErrInvalidTag},
	{val: badTailNotSlice{}, wantErr: ErrInvalidTag},
	{val: badNilNotPtr{}, wantErr: ErrInvalidTag},
	{val: badOptionalOrder{}, wantErr: ErrInvalidTag},
	{val: badTagName{}, wantErr: ErrInvalidTag},
	{val: badTailOptional{}, wantErr: ErrInvalidTag},
	{val: nil, want: "c0"},
}

func unhexMust(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestEncode(t *testing.T) {
	for i, tt := range encTests {
		got, err := EncodeToBytes(tt.val)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("test %d (%T): got error %v, want %v", i, tt.val, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("test %d (%T): unexpected error %v", i, tt.val, err)
			continue
		}
		if h := hex.EncodeToString(got); h != tt.want {
			t.Errorf("test %d (%T %v):\n got %s\nwant %s", i, tt.val, tt.val, h, tt.want)
		}

		// The other entry points agree.
		var buf bytes.Buffer
		if err := Encode(&buf, tt.val); err != nil || !bytes.Equal(buf.Bytes(), got) {
			t.Errorf("test %d: Encode gave %x, %v", i, buf.Bytes(), err)
		}
		prefix := []byte{0xaa, 0xbb}
		app, err := AppendEncoded(prefix, tt.val)
		if err != nil || !bytes.Equal(app[:2], prefix) || !bytes.Equal(app[2:], got) {
			t.Errorf("test %d: AppendEncoded gave %x, %v", i, app, err)
		}
	}
}

func TestEncodeErrorMessages(t *testing.T) {
	tests := []struct {
		val  any
		want string
	}{
		{int(1), "rlp: type int is not RLP-serializable: RLP has no signed integers; use an unsigned type"},
		{bad{}, "rlp: type rlp.bad is not RLP-serializable (field X): rlp: type int is not RLP-serializable: RLP has no signed integers; use an unsigned type"},
		{badTailNotLast{}, `rlp: invalid struct tag "tail" for field rlp.badTailNotLast.A: must be on last field`},
		{badTailNotSlice{}, `rlp: invalid struct tag "tail" for field rlp.badTailNotSlice.B: field type is not slice`},
		{badNilNotPtr{}, `rlp: invalid struct tag "nil" for field rlp.badNilNotPtr.A: field is not a pointer`},
		{badOptionalOrder{}, `rlp: invalid struct tag for field rlp.badOptionalOrder.B: must be optional because preceding field "A" is optional`},
		{badTagName{}, `rlp: invalid struct tag "bogus" for field rlp.badTagName.A: unknown tag`},
	}
	for _, tt := range tests {
		_, err := EncodeToBytes(tt.val)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%T: got %v\nwant %s", tt.val, err, tt.want)
		}
		// Decoding reports the same problem.
		if err := DecodeBytes([]byte{0xc0}, ptrTo(tt.val)); err == nil || err.Error() != tt.want {
			t.Errorf("%T decode: got %v\nwant %s", tt.val, err, tt.want)
		}
	}
}

func TestEncodeNegativeBigIntInStruct(t *testing.T) {
	_, err := EncodeToBytes(bigFields{P: big.NewInt(-5)})
	if !errors.Is(err, ErrNegativeBigInt) {
		t.Fatalf("got %v", err)
	}
}

// Nested Encode calls from EncodeRLP write into the caller's buffer.
type nestedEncoder struct{ parts []any }

func (n nestedEncoder) EncodeRLP(w io.Writer) error {
	if _, ok := w.(*encBuffer); !ok {
		return errors.New("EncodeRLP did not receive the internal buffer")
	}
	eb := NewEncoderBuffer(w)
	l := eb.List()
	for _, p := range n.parts {
		if err := Encode(w, p); err != nil {
			return err
		}
	}
	eb.ListEnd(l)
	return eb.Flush()
}

func TestEncoderInternalBuffer(t *testing.T) {
	v := []any{uint(1), nestedEncoder{parts: []any{"a", nestedEncoder{parts: []any{uint(2)}}}}}
	got, err := EncodeToBytes(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := "c501c361c102"; hex.EncodeToString(got) != want {
		t.Fatalf("got %x want %s", got, want)
	}
}

// mutatingEncoder's pointer-receiver EncodeRLP writes to its receiver.
type mutatingEncoder struct{ calls uint }

func (m *mutatingEncoder) EncodeRLP(w io.Writer) error {
	m.calls++
	return Encode(w, m.calls)
}

// Values held in interfaces may live in read-only memory (zero values,
// constants); pointer-receiver encoders must get a private copy.
func TestEncodePointerReceiverOnInterfaceValue(t *testing.T) {
	for _, v := range []any{
		mutatingEncoder{},
		[]any{mutatingEncoder{}, struct{ M mutatingEncoder }{}},
		[2]mutatingEncoder{},
	} {
		if _, err := EncodeToBytes(v); err != nil {
			t.Fatalf("%T: %v", v, err)
		}
	}
	// Addressable values are encoded in place, like any pointer method call.
	m := &mutatingEncoder{}
	if b, err := EncodeToBytes(m); err != nil || !bytes.Equal(b, []byte{1}) || m.calls != 1 {
		t.Fatalf("got %x %v, calls %d", b, err, m.calls)
	}
}

// Type information is built once under concurrent first use.
func TestConcurrentTypeCache(t *testing.T) {
	type node struct {
		A    uint
		Kids []*node `rlp:"tail"`
	}
	type msg struct {
		N    node
		R    recursive
		Tags nilTagDefault
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := msg{N: node{A: 1, Kids: []*node{{A: 2}}}, R: recursive{I: 3}}
			b, err := EncodeToBytes(&v)
			if err != nil {
				errs <- err
				return
			}
			var out msg
			if err := DecodeBytes(b, &out); err != nil {
				errs <- err
				return
			}
			if out.N.Kids[0].A != 2 || out.R.I != 3 {
				errs <- errors.New("round trip mismatch")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

package rlp

import (
	"errors"
	"io"
	"math/big"
	"reflect"
)

// Types shared by the encode and decode tests.

type simple struct {
	A uint
	B string
}

type recursive struct {
	I     uint
	Child *recursive `rlp:"nil"`
}

type withTail struct {
	A    uint
	Tail []uint `rlp:"tail"`
}

type withRawTail struct {
	A    uint
	Rest []RawValue `rlp:"tail"`
}

type withIgnored struct {
	A uint
	B uint `rlp:"-"`
	C uint
}

type withUnexported struct {
	A uint
	b uint
	C uint
}

type optionalFields struct {
	A uint
	B uint `rlp:"optional"`
	C uint `rlp:"optional"`
}

type optionalAndTail struct {
	A    uint
	B    uint   `rlp:"optional"`
	Tail []uint `rlp:"tail"`
}

type optionalPtr struct {
	A uint
	B *[3]byte `rlp:"optional"`
}

type optionalBig struct {
	A uint
	B *big.Int `rlp:"optional"`
}

type nilTagDefault struct {
	U *uint      `rlp:"nil"`
	S *[]uint    `rlp:"nil"`
	B *[]byte    `rlp:"nil"`
	T *simple    `rlp:"nil"`
	A *[4]byte   `rlp:"nil"`
	X *[2]uint64 `rlp:"nil"`
}

type nilTagList struct {
	X *uint `rlp:"nilList"`
}

type nilTagString struct {
	X *[]uint `rlp:"nilString"`
}

type ptrFields struct {
	U *uint
	S *simple
	B *big.Int
}

type bigFields struct {
	P *big.Int
	V big.Int
}

type allUints struct {
	A uint8
	B uint16
	C uint32
	D uint64
	E uint
	F uintptr
}

type byteArrays struct {
	Zero [0]byte
	One  [1]byte
	Four [4]byte
}

type namedByte byte

type namedBytes struct {
	S []namedByte
	A [2]namedByte
}

type withInterface struct {
	X any
}

type bad struct{ X int }
type badNested struct{ Y []bad }

// Tag misuse.
type badTailNotLast struct {
	A []uint `rlp:"tail"`
	B uint
}
type badTailNotSlice struct {
	A uint
	B uint `rlp:"tail"`
}
type badNilNotPtr struct {
	A uint `rlp:"nil"`
}
type badOptionalOrder struct {
	A uint `rlp:"optional"`
	B uint
}
type badTagName struct {
	A uint `rlp:"bogus"`
}
type badTailOptional struct {
	A []uint `rlp:"tail,optional"`
}

// Custom coders.

// byteEncoder encodes as a single-byte list and checks it gets the internal
// buffer when nested.
type byteEncoder byte

func (e byteEncoder) EncodeRLP(w io.Writer) error {
	eb := NewEncoderBuffer(w)
	l := eb.List()
	eb.WriteUint64(uint64(e))
	eb.ListEnd(l)
	return eb.Flush()
}

// ptrEncoder has a pointer-receiver EncodeRLP.
type ptrEncoder struct{ V uint }

func (e *ptrEncoder) EncodeRLP(w io.Writer) error {
	if e == nil {
		_, err := w.Write([]byte{0x80})
		return err
	}
	return Encode(w, []uint{e.V, e.V})
}

var errEncoder = errors.New("encoder failed")

type failingEncoder struct{}

func (failingEncoder) EncodeRLP(io.Writer) error { return errEncoder }

// pairDecoder decodes a two-element list of integers via the Stream API.
type pairDecoder struct{ A, B uint64 }

func (p *pairDecoder) DecodeRLP(s *Stream) error {
	if _, err := s.List(); err != nil {
		return err
	}
	var err error
	if p.A, err = s.Uint64(); err != nil {
		return err
	}
	if p.B, err = s.Uint64(); err != nil {
		return err
	}
	return s.ListEnd()
}

func (p pairDecoder) EncodeRLP(w io.Writer) error {
	return Encode(w, []uint64{p.A, p.B})
}

var errDecoder = errors.New("decoder failed")

type failingDecoder struct{}

func (*failingDecoder) DecodeRLP(s *Stream) error { return errDecoder }

// ptrTo returns a pointer to a new zero value of v's type.
func ptrTo(v any) any {
	return reflect.New(reflect.TypeOf(v)).Interface()
}

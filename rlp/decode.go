package rlp

import (
	"io"
	"math/big"
	"reflect"
	"sync"
)

// Decoder is implemented by types that decode themselves. DecodeRLP must read
// exactly one value from the stream.
type Decoder interface {
	DecodeRLP(*Stream) error
}

var streamPool = sync.Pool{New: func() any { return new(Stream) }}

// Decode reads one value from r into the value pointed to by val. Data after
// the value is left unread, so Decode can be called repeatedly on a stream of
// values; it returns io.EOF when r holds no further value. The size of r is
// unknown unless r is a *bytes.Reader, *bytes.Buffer or *strings.Reader: use
// NewStream(r, limit).Decode to bound it.
func Decode(r io.Reader, val any) error {
	s := streamPool.Get().(*Stream)
	defer streamPool.Put(s)
	s.Reset(r, 0)
	err := s.Decode(val)
	s.r = nil
	return err
}

// DecodeBytes decodes b, which must hold exactly one value, into the value
// pointed to by val. Decoded values never alias b.
func DecodeBytes(b []byte, val any) error {
	s := streamPool.Get().(*Stream)
	s.resetSlice(b)
	err := s.Decode(val)
	if err == nil && s.pos < len(s.src) {
		err = ErrMoreThanOneValue
	}
	s.src = nil
	streamPool.Put(s)
	return err
}

func makeDecoder(key typeKey) (decoder, error) {
	typ := key.typ
	kind := typ.Kind()
	switch {
	case typ == rawValueType:
		return decodeRawValue, nil
	case typ == bigIntPtr:
		return decodeBigIntPtr, nil
	case typ == bigIntType:
		return decodeBigIntValue, nil
	case kind == reflect.Pointer:
		return makePtrDecoder(key)
	case reflect.PointerTo(typ).Implements(decoderType):
		return decodeDecoder, nil
	case isUint(kind):
		return decodeUint, nil
	case kind == reflect.Bool:
		return decodeBool, nil
	case kind == reflect.String:
		return decodeString, nil
	case (kind == reflect.Slice || kind == reflect.Array) && isByteElem(typ.Elem()):
		if kind == reflect.Array {
			return decodeByteArray, nil
		}
		return decodeByteSlice, nil
	case kind == reflect.Slice || kind == reflect.Array:
		return makeListDecoder(key)
	case kind == reflect.Struct:
		return makeStructDecoder(typ)
	case kind == reflect.Interface:
		if typ.NumMethod() != 0 {
			return nil, unsupported(typ)
		}
		return decodeInterface, nil
	default:
		return nil, unsupported(typ)
	}
}

// callDecoder runs ti's decoder. The error check covers typeinfos that were
// still being built (recursive types) when the caller was made.
func callDecoder(ti *typeinfo, s *Stream, v reflect.Value) error {
	if ti.decErr != nil {
		return ti.decErr
	}
	return ti.decode(s, v)
}

func decodeRawValue(s *Stream, v reflect.Value) error {
	b, err := s.Raw()
	if err != nil {
		return wrapErr(err, v.Type())
	}
	v.SetBytes(b)
	return nil
}

func decodeUint(s *Stream, v reflect.Value) error {
	i, err := s.uint(v.Type().Bits())
	if err != nil {
		return wrapErr(err, v.Type())
	}
	v.SetUint(i)
	return nil
}

func decodeBool(s *Stream, v reflect.Value) error {
	b, err := s.Bool()
	if err != nil {
		return wrapErr(err, v.Type())
	}
	v.SetBool(b)
	return nil
}

func decodeString(s *Stream, v reflect.Value) error {
	kind, size, err := s.Kind()
	if err != nil {
		return wrapErr(err, v.Type())
	}
	switch kind {
	case Byte:
		s.kind = -1
		b := [1]byte{s.byteval}
		v.SetString(string(b[:])) // one-byte strings are static: no allocation
	case String:
		b, err := s.payload(size)
		if err != nil {
			return wrapErr(err, v.Type())
		}
		v.SetString(string(b))
	default:
		return wrapErr(ErrExpectedString, v.Type())
	}
	return nil
}

func decodeByteSlice(s *Stream, v reflect.Value) error {
	b, err := s.Bytes()
	if err != nil {
		return wrapErr(err, v.Type())
	}
	v.SetBytes(b)
	return nil
}

func decodeByteArray(s *Stream, v reflect.Value) error {
	kind, size, err := s.Kind()
	if err != nil {
		return wrapErr(err, v.Type())
	}
	n := uint64(v.Len())
	switch kind {
	case Byte:
		if n != 1 {
			return wrapErr(lengthErr(1, n), v.Type())
		}
		s.kind = -1
		v.Index(0).SetUint(uint64(s.byteval))
		return nil
	case String:
		if size != n {
			return wrapErr(lengthErr(size, n), v.Type())
		}
		if err := s.readString(arrayBytes(v)); err != nil {
			return wrapErr(err, v.Type())
		}
		return nil
	default:
		return wrapErr(ErrExpectedString, v.Type())
	}
}

func lengthErr(got, want uint64) error {
	if got > want {
		return ErrStringTooLong
	}
	return ErrStringTooShort
}

// arrayBytes returns the memory of the byte array v. v is always addressable
// here: Decode works through a pointer.
func arrayBytes(v reflect.Value) []byte {
	return v.Bytes()
}

func decodeBigIntPtr(s *Stream, v reflect.Value) error {
	i, _ := v.Interface().(*big.Int)
	if i == nil {
		i = new(big.Int)
		v.Set(reflect.ValueOf(i))
	}
	return wrapErr(s.decodeBigInt(i), v.Type())
}

func decodeBigIntValue(s *Stream, v reflect.Value) error {
	return wrapErr(s.decodeBigInt(v.Addr().Interface().(*big.Int)), v.Type())
}

func decodeDecoder(s *Stream, v reflect.Value) error {
	return wrapErr(v.Addr().Interface().(Decoder).DecodeRLP(s), v.Type())
}

func decodeInterface(s *Stream, v reflect.Value) error {
	x, err := decodeAny(s)
	if err != nil {
		return wrapErr(err, v.Type())
	}
	v.Set(reflect.ValueOf(x))
	return nil
}

// decodeAny decodes one value generically: []byte for strings, []any for lists.
func decodeAny(s *Stream) (any, error) {
	kind, _, err := s.Kind()
	if err != nil {
		return nil, err
	}
	if kind != List {
		return s.Bytes()
	}
	if _, err := s.List(); err != nil {
		return nil, err
	}
	list := []any{}
	for i := 0; ; i++ {
		x, err := decodeAny(s)
		if err == EOL {
			break
		}
		if err != nil {
			return nil, addPath(wrapErr(err, anyType), indexStep(i))
		}
		list = append(list, x)
	}
	return list, s.ListEnd()
}

var anyType = reflect.TypeFor[any]()

func makePtrDecoder(key typeKey) (decoder, error) {
	etype := key.typ.Elem()
	ei := elemInfo(etype)
	if ei.decErr != nil {
		return nil, ei.decErr
	}
	if !key.nilOK {
		return func(s *Stream, v reflect.Value) error {
			if v.IsNil() {
				p := reflect.New(etype)
				if err := callDecoder(ei, s, p.Elem()); err != nil {
					return err
				}
				v.Set(p)
				return nil
			}
			return callDecoder(ei, s, v.Elem())
		}, nil
	}
	want := String
	if key.nilKind == nilList {
		want = List
	}
	return func(s *Stream, v reflect.Value) error {
		kind, size, err := s.Kind()
		if err != nil {
			v.SetZero()
			return wrapErr(err, v.Type())
		}
		if kind != Byte && size == 0 {
			if kind != want {
				return wrapErr(ErrWrongEmptyKind, v.Type())
			}
			s.kind = -1 // the header was all of the empty value
			v.SetZero()
			return nil
		}
		p := v
		if v.IsNil() {
			p = reflect.New(etype)
		}
		if err := callDecoder(ei, s, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}, nil
}

func makeListDecoder(key typeKey) (decoder, error) {
	typ := key.typ
	ei := elemInfo(typ.Elem())
	if ei.decErr != nil {
		return nil, ei.decErr
	}
	switch {
	case typ.Kind() == reflect.Array:
		return func(s *Stream, v reflect.Value) error {
			if _, err := s.List(); err != nil {
				return wrapErr(err, v.Type())
			}
			n := v.Len()
			for i := range n {
				if err := callDecoder(ei, s, v.Index(i)); err == EOL {
					return wrapErr(ErrTooFewElements, v.Type())
				} else if err != nil {
					return addPath(err, indexStep(i))
				}
			}
			if err := s.ListEnd(); err != nil {
				return wrapErr(listEndErr(err), v.Type())
			}
			return nil
		}, nil
	case key.tail:
		// The struct decoder has entered the list already.
		return func(s *Stream, v reflect.Value) error {
			return decodeSliceElems(s, v, ei)
		}, nil
	default:
		return func(s *Stream, v reflect.Value) error {
			if _, err := s.List(); err != nil {
				return wrapErr(err, v.Type())
			}
			if err := decodeSliceElems(s, v, ei); err != nil {
				return err
			}
			if err := s.ListEnd(); err != nil {
				return wrapErr(listEndErr(err), v.Type())
			}
			return nil
		}, nil
	}
}

// decodeSliceElems decodes the remaining elements of the current list into
// the slice v, reusing its backing array when large enough.
func decodeSliceElems(s *Stream, v reflect.Value, ei *typeinfo) error {
	n := -1
	if s.r == nil && s.kind < 0 {
		// Slice input: count first and allocate once.
		if c, err := CountValues(s.src[s.pos : s.pos+int(s.stack[len(s.stack)-1])]); err == nil {
			n = c
		}
	}
	if n >= 0 {
		switch {
		case n == 0:
			// Empty but non-nil, like any decoded list.
			if v.IsNil() {
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			}
			v.SetLen(0)
		case v.Cap() >= n:
			v.SetLen(n)
		default:
			v.Set(reflect.MakeSlice(v.Type(), n, n))
		}
		for i := range n {
			if err := callDecoder(ei, s, v.Index(i)); err != nil {
				if err == EOL {
					err = wrapErr(ErrTooFewElements, v.Type())
				}
				return addPath(err, indexStep(i))
			}
		}
		return nil
	}
	if v.IsNil() {
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	}
	i := 0
	for ; ; i++ {
		if i >= v.Cap() {
			grown := reflect.MakeSlice(v.Type(), i, max(4, i+i/2))
			reflect.Copy(grown, v)
			v.Set(grown)
		}
		if i >= v.Len() {
			v.SetLen(i + 1)
		}
		err := callDecoder(ei, s, v.Index(i))
		if err == EOL {
			break
		}
		if err != nil {
			return addPath(err, indexStep(i))
		}
	}
	v.SetLen(i)
	return nil
}

func listEndErr(err error) error {
	if err == ErrNotAtEOL {
		return ErrTooManyElements
	}
	return err
}

func makeStructDecoder(typ reflect.Type) (decoder, error) {
	fields, err := structFields(typ)
	if err != nil {
		return nil, err
	}
	for _, f := range fields {
		if f.info.decErr != nil {
			return nil, fieldError(typ, f, f.info.decErr)
		}
	}
	return func(s *Stream, v reflect.Value) error {
		if _, err := s.List(); err != nil {
			return wrapErr(err, typ)
		}
		for i := range fields {
			f := &fields[i]
			err := callDecoder(f.info, s, v.Field(f.index))
			if err == EOL {
				if !f.optional {
					return wrapErr(ErrTooFewElements, typ)
				}
				for _, rest := range fields[i:] {
					v.Field(rest.index).SetZero()
				}
				break
			}
			if err != nil {
				return addPath(err, "."+f.name)
			}
		}
		if err := s.ListEnd(); err != nil {
			return wrapErr(listEndErr(err), typ)
		}
		return nil
	}, nil
}

func indexStep(i int) string {
	return "[" + itoa(i) + "]"
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	return string(b[n:])
}

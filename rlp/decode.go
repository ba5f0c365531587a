package rlp

import (
	"io"
	"math/big"
	"reflect"
	"sync"
	"unsafe"
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
	s.Reset(r, 0)
	err := s.Decode(val)
	s.r = nil
	streamPool.Put(s)
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

// Decode decodes the next value into the value pointed to by val. See the
// package documentation for the rules.
func (s *Stream) Decode(val any) error {
	if val == nil {
		return ErrDecodeIntoNil
	}
	typ := reflect.TypeOf(val)
	if typ.Kind() != reflect.Pointer {
		return ErrNoPointer
	}
	// A pointer is held directly in the interface's data word.
	p := (*eface)(unsafe.Pointer(&val)).data
	if p == nil {
		return ErrDecodeIntoNil
	}
	ti := cachedTypeInfo(typ.Elem())
	if ti.decErr != nil {
		return ti.decErr
	}
	err := ti.decode(s, p)
	if de, ok := err.(*DecodeError); ok {
		de.Root = typ.Elem()
	}
	return err
}

// decoder decodes the next value of the stream into the value at p.
type decoder func(s *Stream, p unsafe.Pointer) error

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
		return makeDecoderDecoder(typ), nil
	case isUint(kind):
		return makeUintDecoder(typ), nil
	case kind == reflect.Bool:
		return decodeBool, nil
	case kind == reflect.String:
		return makeStringDecoder(typ), nil
	case (kind == reflect.Slice || kind == reflect.Array) && isByteElem(typ.Elem()):
		if kind == reflect.Array {
			return makeByteArrayDecoder(typ), nil
		}
		return makeByteSliceDecoder(typ), nil
	case kind == reflect.Slice:
		return makeSliceDecoder(key)
	case kind == reflect.Array:
		return makeArrayDecoder(typ)
	case kind == reflect.Struct:
		return makeStructDecoder(typ)
	case kind == reflect.Interface:
		if typ.NumMethod() != 0 {
			return nil, unsupported(typ)
		}
		return makeInterfaceDecoder(typ), nil
	default:
		return nil, unsupported(typ)
	}
}

// callDecoder runs ti's decoder. The error check covers typeinfos that were
// still being built (recursive types) when the caller was made.
func callDecoder(ti *typeinfo, s *Stream, p unsafe.Pointer) error {
	if ti.decErr != nil {
		return ti.decErr
	}
	return ti.decode(s, p)
}

func decodeRawValue(s *Stream, p unsafe.Pointer) error {
	b, err := s.Raw()
	if err != nil {
		return wrapErr(err, rawValueType)
	}
	*(*[]byte)(p) = b
	return nil
}

func makeUintDecoder(typ reflect.Type) decoder {
	switch typ.Size() {
	case 1:
		return func(s *Stream, p unsafe.Pointer) error {
			x, err := s.uint(8)
			if err != nil {
				return wrapErr(err, typ)
			}
			*(*uint8)(p) = uint8(x)
			return nil
		}
	case 2:
		return func(s *Stream, p unsafe.Pointer) error {
			x, err := s.uint(16)
			if err != nil {
				return wrapErr(err, typ)
			}
			*(*uint16)(p) = uint16(x)
			return nil
		}
	case 4:
		return func(s *Stream, p unsafe.Pointer) error {
			x, err := s.uint(32)
			if err != nil {
				return wrapErr(err, typ)
			}
			*(*uint32)(p) = uint32(x)
			return nil
		}
	default:
		return func(s *Stream, p unsafe.Pointer) error {
			x, err := s.uint(64)
			if err != nil {
				return wrapErr(err, typ)
			}
			*(*uint64)(p) = x
			return nil
		}
	}
}

var boolType = reflect.TypeFor[bool]()

func decodeBool(s *Stream, p unsafe.Pointer) error {
	b, err := s.Bool()
	if err != nil {
		return wrapErr(err, boolType)
	}
	*(*bool)(p) = b
	return nil
}

func makeStringDecoder(typ reflect.Type) decoder {
	return func(s *Stream, p unsafe.Pointer) error {
		kind, size, err := s.Kind()
		if err != nil {
			return wrapErr(err, typ)
		}
		switch kind {
		case Byte:
			s.kind = -1
			b := [1]byte{s.byteval}
			*(*string)(p) = string(b[:]) // one-byte strings are static: no allocation
			return nil
		case String:
			b, err := s.payload(size)
			if err != nil {
				return wrapErr(err, typ)
			}
			*(*string)(p) = string(b)
			return nil
		default:
			return wrapErr(ErrExpectedString, typ)
		}
	}
}

func makeByteSliceDecoder(typ reflect.Type) decoder {
	return func(s *Stream, p unsafe.Pointer) error {
		b, err := s.Bytes()
		if err != nil {
			return wrapErr(err, typ)
		}
		*(*[]byte)(p) = b
		return nil
	}
}

func makeByteArrayDecoder(typ reflect.Type) decoder {
	n := typ.Len()
	return func(s *Stream, p unsafe.Pointer) error {
		kind, size, err := s.Kind()
		if err != nil {
			return wrapErr(err, typ)
		}
		switch kind {
		case Byte:
			if n != 1 {
				return wrapErr(lengthErr(1, uint64(n)), typ)
			}
			s.kind = -1
			*(*byte)(p) = s.byteval
			return nil
		case String:
			if size != uint64(n) {
				return wrapErr(lengthErr(size, uint64(n)), typ)
			}
			return wrapErr(s.readString(unsafe.Slice((*byte)(p), n)), typ)
		default:
			return wrapErr(ErrExpectedString, typ)
		}
	}
}

func lengthErr(got, want uint64) error {
	if got > want {
		return ErrStringTooLong
	}
	return ErrStringTooShort
}

func decodeBigIntPtr(s *Stream, p unsafe.Pointer) error {
	pp := (**big.Int)(p)
	i := *pp
	if i == nil {
		i = new(big.Int)
	}
	if err := s.decodeBigInt(i); err != nil {
		return wrapErr(err, bigIntPtr)
	}
	*pp = i
	return nil
}

func decodeBigIntValue(s *Stream, p unsafe.Pointer) error {
	return wrapErr(s.decodeBigInt((*big.Int)(p)), bigIntType)
}

func makeDecoderDecoder(typ reflect.Type) decoder {
	return func(s *Stream, p unsafe.Pointer) error {
		// Report the end of the enclosing list ourselves: an EOL coming back
		// from DecodeRLP means its own list ended early, and must not be taken
		// for the end of ours.
		if s.kind < 0 && len(s.stack) > 0 && s.stack[len(s.stack)-1] == 0 {
			return EOL
		}
		dec := reflect.NewAt(typ, p).Interface().(Decoder)
		err := dec.DecodeRLP(s)
		if err == EOL {
			err = ErrTooFewElements
		}
		return wrapErr(err, typ)
	}
}

// makeInterfaceDecoder decodes into an empty interface: []byte for strings,
// []any for lists.
func makeInterfaceDecoder(typ reflect.Type) decoder {
	return func(s *Stream, p unsafe.Pointer) error {
		x, err := decodeAny(s)
		if err != nil {
			return wrapErr(err, typ)
		}
		*(*any)(p) = x
		return nil
	}
}

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
	// decodeElem decodes into the pointee, allocating it if the pointer is nil.
	decodeElem := func(s *Stream, pp *unsafe.Pointer) error {
		if *pp != nil {
			return callDecoder(ei, s, *pp)
		}
		np := reflect.New(etype).UnsafePointer()
		if err := callDecoder(ei, s, np); err != nil {
			return err
		}
		*pp = np
		return nil
	}
	if !key.nilOK {
		return func(s *Stream, p unsafe.Pointer) error {
			return decodeElem(s, (*unsafe.Pointer)(p))
		}, nil
	}
	typ := key.typ
	want := String
	if key.nilKind == nilList {
		want = List
	}
	return func(s *Stream, p unsafe.Pointer) error {
		pp := (*unsafe.Pointer)(p)
		kind, size, err := s.Kind()
		if err != nil {
			*pp = nil
			return wrapErr(err, typ)
		}
		if kind != Byte && size == 0 {
			if kind != want {
				return wrapErr(ErrWrongEmptyKind, typ)
			}
			s.kind = -1 // the header was all of the empty value
			*pp = nil
			return nil
		}
		return decodeElem(s, pp)
	}, nil
}

func makeArrayDecoder(typ reflect.Type) (decoder, error) {
	ei := elemInfo(typ.Elem())
	if ei.decErr != nil {
		return nil, ei.decErr
	}
	n, esize := typ.Len(), typ.Elem().Size()
	return func(s *Stream, p unsafe.Pointer) error {
		if _, err := s.List(); err != nil {
			return wrapErr(err, typ)
		}
		for i := range n {
			if err := callDecoder(ei, s, unsafe.Add(p, uintptr(i)*esize)); err == EOL {
				return wrapErr(ErrTooFewElements, typ)
			} else if err != nil {
				return addPath(err, indexStep(i))
			}
		}
		return wrapErr(listEndErr(s.ListEnd()), typ)
	}, nil
}

func makeSliceDecoder(key typeKey) (decoder, error) {
	typ := key.typ
	ei := elemInfo(typ.Elem())
	if ei.decErr != nil {
		return nil, ei.decErr
	}
	if key.tail {
		// The struct decoder has entered the list already.
		return func(s *Stream, p unsafe.Pointer) error {
			return decodeSliceElems(s, (*sliceHeader)(p), typ, ei)
		}, nil
	}
	return func(s *Stream, p unsafe.Pointer) error {
		if _, err := s.List(); err != nil {
			return wrapErr(err, typ)
		}
		if err := decodeSliceElems(s, (*sliceHeader)(p), typ, ei); err != nil {
			return err
		}
		return wrapErr(listEndErr(s.ListEnd()), typ)
	}, nil
}

// decodeSliceElems decodes the remaining elements of the current list into
// the slice at h, reusing its backing array when large enough. Decoded slices
// are never nil.
func decodeSliceElems(s *Stream, h *sliceHeader, typ reflect.Type, ei *typeinfo) error {
	esize := typ.Elem().Size()
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
			if h.data == nil {
				h.data = unsafe.Pointer(&zeroSized)
			}
		case h.cap < n:
			h.len = 0 // nothing to keep
			growSlice(h, typ, n)
		}
		h.len = n
		for i := range n {
			if err := callDecoder(ei, s, unsafe.Add(h.data, uintptr(i)*esize)); err != nil {
				if err == EOL {
					err = wrapErr(ErrTooFewElements, typ)
				}
				return addPath(err, indexStep(i))
			}
		}
		return nil
	}
	// Reader input: grow as elements arrive.
	if h.data == nil {
		h.data = unsafe.Pointer(&zeroSized)
	}
	i := 0
	for ; ; i++ {
		if i >= h.cap {
			h.len = i
			growSlice(h, typ, max(4, i/2))
		}
		if i >= h.len {
			h.len = i + 1
		}
		err := callDecoder(ei, s, unsafe.Add(h.data, uintptr(i)*esize))
		if err == EOL {
			break
		}
		if err != nil {
			h.len = i
			return addPath(err, indexStep(i))
		}
	}
	h.len = i
	return nil
}

// zeroSized backs empty, non-nil decoded slices without allocating.
var zeroSized [0]uint64

// growSlice makes room for n more elements after the first h.len ones,
// allocating a new zeroed backing array in place of h's.
func growSlice(h *sliceHeader, typ reflect.Type, n int) {
	if h.data == unsafe.Pointer(&zeroSized) {
		h.data = nil
	}
	// Value.Grow reallocates through the header at h without allocating a
	// reflect header of its own, as MakeSlice would.
	reflect.NewAt(typ, unsafe.Pointer(h)).Elem().Grow(n)
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
	return func(s *Stream, p unsafe.Pointer) error {
		if _, err := s.List(); err != nil {
			return wrapErr(err, typ)
		}
		for i := range fields {
			f := &fields[i]
			err := callDecoder(f.info, s, unsafe.Add(p, f.offset))
			if err == EOL {
				if !f.optional {
					return wrapErr(ErrTooFewElements, typ)
				}
				// Missing optional fields are zero.
				for _, rest := range fields[i:] {
					reflect.NewAt(rest.typ, unsafe.Add(p, rest.offset)).Elem().SetZero()
				}
				break
			}
			if err != nil {
				return addPath(err, "."+f.name)
			}
		}
		return wrapErr(listEndErr(s.ListEnd()), typ)
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

package rlp

import (
	"io"
	"math/big"
	"reflect"
)

// Encoder is implemented by types that encode themselves. EncodeRLP must write
// exactly one value (or, for a RawValue-like type, any well-formed encoding).
// The writer may be the package's internal buffer: NewEncoderBuffer(w) then
// writes into it directly.
type Encoder interface {
	EncodeRLP(io.Writer) error
}

// Encode writes the encoding of val to w.
func Encode(w io.Writer, val any) error {
	switch d := w.(type) {
	case *encBuffer:
		// An EncodeRLP implementation encoding its parts: write in place.
		return d.encode(val)
	case EncoderBuffer:
		return d.buf.encode(val)
	case *EncoderBuffer:
		return d.buf.encode(val)
	}
	b := getEncBuffer()
	defer putEncBuffer(b)
	if err := b.encode(val); err != nil {
		return err
	}
	_, err := w.Write(b.buf)
	return err
}

// EncodeToBytes returns the encoding of val.
func EncodeToBytes(val any) ([]byte, error) {
	// A lone byte string needs no buffer: size the result exactly.
	switch v := val.(type) {
	case []byte:
		return appendBytesValue(nil, v), nil
	case string:
		return appendBytesValue(nil, []byte(v)), nil
	}
	b := getEncBuffer()
	defer putEncBuffer(b)
	if err := b.encode(val); err != nil {
		return nil, err
	}
	return append([]byte(nil), b.buf...), nil
}

// AppendEncoded appends the encoding of val to dst.
func AppendEncoded(dst []byte, val any) ([]byte, error) {
	b := encBufferPool.Get().(*encBuffer)
	saved := b.buf
	b.buf = dst
	err := b.encode(val)
	out := b.buf
	b.buf = saved[:0]
	encBufferPool.Put(b)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// appendBytesValue appends the string encoding of p to dst.
func appendBytesValue(dst, p []byte) []byte {
	if len(p) == 1 && p[0] < strOffset {
		return append(dst, p[0])
	}
	if dst == nil {
		dst = make([]byte, 0, headSize(uint64(len(p)))+len(p))
	}
	dst = appendHeader(dst, strOffset, uint64(len(p)))
	return append(dst, p...)
}

func (b *encBuffer) encode(val any) error {
	if val == nil {
		b.buf = append(b.buf, listOffset) // like a nil interface value
		return nil
	}
	rv := reflect.ValueOf(val)
	ti := cachedTypeInfo(rv.Type())
	if ti.encErr != nil {
		return ti.encErr
	}
	return ti.write(b, rv)
}

func makeWriter(key typeKey) (writer, error) {
	typ := key.typ
	kind := typ.Kind()
	switch {
	case typ == rawValueType:
		return writeRawValue, nil
	case typ == bigIntPtr:
		return writeBigIntPtr, nil
	case typ == bigIntType:
		return writeBigIntValue, nil
	case kind == reflect.Pointer:
		return makePtrWriter(key)
	case reflect.PointerTo(typ).Implements(encoderType):
		return makeEncoderWriter(typ), nil
	case isUint(kind):
		return writeUint, nil
	case kind == reflect.Bool:
		return writeBool, nil
	case kind == reflect.String:
		return writeString, nil
	case kind == reflect.Slice && isByteElem(typ.Elem()):
		return writeByteSlice, nil
	case kind == reflect.Array && isByteElem(typ.Elem()):
		return writeByteArray, nil
	case kind == reflect.Slice || kind == reflect.Array:
		return makeListWriter(key)
	case kind == reflect.Struct:
		return makeStructWriter(typ)
	case kind == reflect.Interface:
		return writeInterface, nil
	default:
		return nil, unsupported(typ)
	}
}

// callWriter runs ti's writer, checking for types that were still being built
// (recursive types) when the caller was made.
func callWriter(ti *typeinfo, b *encBuffer, v reflect.Value) error {
	if ti.encErr != nil {
		return ti.encErr
	}
	return ti.write(b, v)
}

func writeRawValue(b *encBuffer, v reflect.Value) error {
	b.buf = append(b.buf, v.Bytes()...)
	return nil
}

func writeUint(b *encBuffer, v reflect.Value) error {
	b.buf = AppendUint64(b.buf, v.Uint())
	return nil
}

func writeBool(b *encBuffer, v reflect.Value) error {
	b.writeBool(v.Bool())
	return nil
}

func writeString(b *encBuffer, v reflect.Value) error {
	b.writeString(v.String())
	return nil
}

func writeByteSlice(b *encBuffer, v reflect.Value) error {
	b.writeBytes(v.Bytes())
	return nil
}

func writeByteArray(b *encBuffer, v reflect.Value) error {
	if !v.CanAddr() {
		// Bytes needs addressable arrays; copy (rare: arrays in interfaces).
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		v = c
	}
	b.writeBytes(v.Bytes())
	return nil
}

func writeBigIntPtr(b *encBuffer, v reflect.Value) error {
	i := v.Interface().(*big.Int)
	if i == nil {
		b.buf = append(b.buf, strOffset)
		return nil
	}
	return b.writeBigInt(i)
}

func writeBigIntValue(b *encBuffer, v reflect.Value) error {
	if !v.CanAddr() {
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		v = c
	}
	return b.writeBigInt(v.Addr().Interface().(*big.Int))
}

func writeInterface(b *encBuffer, v reflect.Value) error {
	if v.IsNil() {
		b.buf = append(b.buf, listOffset)
		return nil
	}
	e := v.Elem()
	ti := cachedTypeInfo(e.Type())
	if ti.encErr != nil {
		return ti.encErr
	}
	return ti.write(b, e)
}

func makeEncoderWriter(typ reflect.Type) writer {
	if typ.Implements(encoderType) {
		return func(b *encBuffer, v reflect.Value) error {
			return v.Interface().(Encoder).EncodeRLP(b)
		}
	}
	// Pointer receiver: call it on the value's address, or on a copy when the
	// value is not addressable (e.g. passed to Encode directly).
	return func(b *encBuffer, v reflect.Value) error {
		if !v.CanAddr() {
			c := reflect.New(typ).Elem()
			c.Set(v)
			v = c
		}
		return v.Addr().Interface().(Encoder).EncodeRLP(b)
	}
}

func makePtrWriter(key typeKey) (writer, error) {
	ei := elemInfo(key.typ.Elem())
	if ei.encErr != nil {
		return nil, ei.encErr
	}
	nk := key.nilKind
	if !key.nilOK {
		nk = defaultNilKind(key.typ.Elem())
	}
	empty := byte(listOffset)
	if nk == nilString {
		empty = strOffset
	}
	return func(b *encBuffer, v reflect.Value) error {
		if v.IsNil() {
			b.buf = append(b.buf, empty)
			return nil
		}
		return callWriter(ei, b, v.Elem())
	}, nil
}

func makeListWriter(key typeKey) (writer, error) {
	ei := elemInfo(key.typ.Elem())
	if ei.encErr != nil {
		return nil, ei.encErr
	}
	if key.tail {
		// Tail elements continue the enclosing struct's list.
		return func(b *encBuffer, v reflect.Value) error {
			for i := range v.Len() {
				if err := callWriter(ei, b, v.Index(i)); err != nil {
					return err
				}
			}
			return nil
		}, nil
	}
	return func(b *encBuffer, v reflect.Value) error {
		l := b.list()
		for i := range v.Len() {
			if err := callWriter(ei, b, v.Index(i)); err != nil {
				return err
			}
		}
		b.listEnd(l)
		return nil
	}, nil
}

func makeStructWriter(typ reflect.Type) (writer, error) {
	fields, err := structFields(typ)
	if err != nil {
		return nil, err
	}
	for _, f := range fields {
		if f.info.encErr != nil {
			return nil, fieldError(typ, f, f.info.encErr)
		}
	}
	firstOptional := len(fields)
	for i, f := range fields {
		if f.optional {
			firstOptional = i
			break
		}
	}
	if firstOptional == len(fields) {
		return func(b *encBuffer, v reflect.Value) error {
			l := b.list()
			for i := range fields {
				f := &fields[i]
				if err := callWriter(f.info, b, v.Field(f.index)); err != nil {
					return err
				}
			}
			b.listEnd(l)
			return nil
		}, nil
	}
	return func(b *encBuffer, v reflect.Value) error {
		// Omit trailing optional fields that hold their zero value.
		last := len(fields) - 1
		for ; last >= firstOptional; last-- {
			if !v.Field(fields[last].index).IsZero() {
				break
			}
		}
		l := b.list()
		for i := range fields[:last+1] {
			f := &fields[i]
			if err := callWriter(f.info, b, v.Field(f.index)); err != nil {
				return err
			}
		}
		b.listEnd(l)
		return nil
	}, nil
}

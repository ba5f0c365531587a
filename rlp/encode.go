package rlp

import (
	"bytes"
	"io"
	"math/big"
	"reflect"
)

// Encoder is implemented by types that encode themselves. EncodeRLP must write
// exactly one value (a type standing for several values, like RawValue, may
// write any well-formed sequence). The io.Writer may be the package's internal
// buffer: NewEncoderBuffer(w) and Encode(w, ...) then write into it directly.
type Encoder interface {
	EncodeRLP(io.Writer) error
}

// Encode writes the encoding of val to w.
func Encode(w io.Writer, val any) error {
	var eb *encBuffer
	switch d := w.(type) {
	case *encBuffer:
		eb = d // an EncodeRLP implementation encoding its parts: write in place
	case EncoderBuffer:
		eb = d.buf
	case *EncoderBuffer:
		eb = d.buf
	}
	if eb != nil {
		buf, err := appendValue(eb.buf, val)
		eb.buf = buf
		return err
	}
	b := getEncBuffer()
	defer putEncBuffer(b)
	buf, err := appendValue(b.buf, val)
	b.buf = buf
	if err != nil {
		return err
	}
	_, err = w.Write(buf)
	return err
}

// EncodeToBytes returns the encoding of val.
func EncodeToBytes(val any) ([]byte, error) {
	// A lone byte string needs no buffer: size the result exactly.
	switch v := val.(type) {
	case []byte:
		return appendBytesExact(v), nil
	case string:
		return appendBytesExact([]byte(v)), nil
	}
	b := getEncBuffer()
	buf, err := appendValue(b.buf, val)
	var out []byte
	if err == nil {
		out = append([]byte(nil), buf...) // exact size, no zeroing
	}
	b.buf = buf
	putEncBuffer(b)
	return out, err
}

// AppendEncoded appends the encoding of val to dst.
func AppendEncoded(dst []byte, val any) ([]byte, error) {
	out, err := appendValue(dst, val)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// appendBytesExact returns the string encoding of p in an exactly sized slice.
func appendBytesExact(p []byte) []byte {
	if len(p) == 1 && p[0] < strOffset {
		return []byte{p[0]}
	}
	var hdr [9]byte
	h := appendHeader(hdr[:0], strOffset, uint64(len(p)))
	// bytes.Join allocates without zeroing the memory it is about to fill.
	return bytes.Join([][]byte{h, p}, nil)
}

func appendValue(buf []byte, val any) ([]byte, error) {
	if val == nil {
		return append(buf, listOffset), nil // like a nil interface value
	}
	rv := reflect.ValueOf(val)
	ti := cachedTypeInfo(rv.Type())
	if ti.encErr != nil {
		return buf, ti.encErr
	}
	return ti.write(buf, rv)
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
func callWriter(ti *typeinfo, buf []byte, v reflect.Value) ([]byte, error) {
	if ti.encErr != nil {
		return buf, ti.encErr
	}
	return ti.write(buf, v)
}

func writeRawValue(buf []byte, v reflect.Value) ([]byte, error) {
	return append(buf, v.Bytes()...), nil
}

func writeUint(buf []byte, v reflect.Value) ([]byte, error) {
	return AppendUint64(buf, v.Uint()), nil
}

func writeBool(buf []byte, v reflect.Value) ([]byte, error) {
	return appendBool(buf, v.Bool()), nil
}

func writeString(buf []byte, v reflect.Value) ([]byte, error) {
	return appendString(buf, v.String()), nil
}

func writeByteSlice(buf []byte, v reflect.Value) ([]byte, error) {
	return appendBytes(buf, v.Bytes()), nil
}

func writeByteArray(buf []byte, v reflect.Value) ([]byte, error) {
	if !v.CanAddr() {
		// Bytes needs an addressable array; copy (rare: arrays in interfaces).
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		v = c
	}
	return appendBytes(buf, v.Bytes()), nil
}

func writeBigIntPtr(buf []byte, v reflect.Value) ([]byte, error) {
	i := v.Interface().(*big.Int)
	if i == nil {
		return append(buf, strOffset), nil
	}
	return appendBigInt(buf, i)
}

func writeBigIntValue(buf []byte, v reflect.Value) ([]byte, error) {
	if !v.CanAddr() {
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		v = c
	}
	return appendBigInt(buf, v.Addr().Interface().(*big.Int))
}

func writeInterface(buf []byte, v reflect.Value) ([]byte, error) {
	if v.IsNil() {
		return append(buf, listOffset), nil
	}
	e := v.Elem()
	ti := cachedTypeInfo(e.Type())
	if ti.encErr != nil {
		return buf, ti.encErr
	}
	return ti.write(buf, e)
}

// callEncoder runs a custom EncodeRLP with a buffer wrapping buf.
func callEncoder(buf []byte, enc Encoder) ([]byte, error) {
	b := encBufferPool.Get().(*encBuffer)
	saved := b.buf
	b.buf = buf
	err := enc.EncodeRLP(b)
	buf = b.buf
	b.buf = saved[:0]
	encBufferPool.Put(b)
	return buf, err
}

func makeEncoderWriter(typ reflect.Type) writer {
	if typ.Implements(encoderType) {
		return func(buf []byte, v reflect.Value) ([]byte, error) {
			return callEncoder(buf, v.Interface().(Encoder))
		}
	}
	// Pointer receiver: call it on the value's address, or on a copy when the
	// value is not addressable (e.g. passed to Encode directly).
	return func(buf []byte, v reflect.Value) ([]byte, error) {
		if !v.CanAddr() {
			c := reflect.New(typ).Elem()
			c.Set(v)
			v = c
		}
		return callEncoder(buf, v.Addr().Interface().(Encoder))
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
	return func(buf []byte, v reflect.Value) ([]byte, error) {
		if v.IsNil() {
			return append(buf, empty), nil
		}
		return callWriter(ei, buf, v.Elem())
	}, nil
}

func makeListWriter(key typeKey) (writer, error) {
	ei := elemInfo(key.typ.Elem())
	if ei.encErr != nil {
		return nil, ei.encErr
	}
	writeElems := func(buf []byte, v reflect.Value) ([]byte, error) {
		var err error
		for i := range v.Len() {
			if buf, err = callWriter(ei, buf, v.Index(i)); err != nil {
				return buf, err
			}
		}
		return buf, nil
	}
	if key.tail {
		// Tail elements continue the enclosing struct's list.
		return writeElems, nil
	}
	return func(buf []byte, v reflect.Value) ([]byte, error) {
		buf, l := listStart(buf)
		buf, err := writeElems(buf, v)
		if err != nil {
			return buf, err
		}
		return listEnd(buf, l), nil
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
	return func(buf []byte, v reflect.Value) ([]byte, error) {
		last := len(fields) - 1
		// Omit trailing optional fields that hold their zero value.
		for ; last >= firstOptional; last-- {
			if !v.Field(fields[last].index).IsZero() {
				break
			}
		}
		buf, l := listStart(buf)
		var err error
		for i := range fields[:last+1] {
			f := &fields[i]
			if buf, err = callWriter(f.info, buf, v.Field(f.index)); err != nil {
				return buf, err
			}
		}
		return listEnd(buf, l), nil
	}, nil
}

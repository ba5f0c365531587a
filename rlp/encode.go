package rlp

import (
	"io"
	"math/big"
	"reflect"
	"unsafe"
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
		return appendBytesExact(unsafe.Slice(unsafe.StringData(v), len(v))), nil
	}
	b := getEncBuffer()
	buf, err := appendValue(b.buf, val)
	var out []byte
	if err == nil {
		out = newBytes(len(buf))
		copy(out, buf)
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
	out := newBytes(len(h) + len(p))
	copy(out[copy(out, h):], p)
	return out
}

// appendValue appends the encoding of the value held by val.
func appendValue(buf []byte, val any) ([]byte, error) {
	if val == nil {
		return append(buf, listOffset), nil // like a nil interface value
	}
	typ := reflect.TypeOf(val)
	ti := cachedTypeInfo(typ)
	if ti.encErr != nil {
		return buf, ti.encErr
	}
	data := (*eface)(unsafe.Pointer(&val)).data
	if ti.ptrElem != nil {
		// A pointer: the data word points at the element.
		if data == nil {
			return append(buf, ti.ptrEmpty), nil
		}
		return callWriter(ti.ptrElem, buf, data)
	}
	if typ == bigIntPtr {
		return writeBigIntPtr(buf, unsafe.Pointer(&data))
	}
	if ti.privateCopy {
		c := reflect.New(typ)
		c.Elem().Set(reflect.ValueOf(val))
		return ti.write(buf, c.UnsafePointer())
	}
	if !ti.direct {
		// The interface points at (a read-only copy of) the value.
		return ti.write(buf, data)
	}
	// The value is the data word itself and needs an address.
	word := data
	return ti.write(buf, unsafe.Pointer(&word))
}

// writer appends the encoding of the value at p. It must not modify the value:
// p may point at read-only memory.
type writer func(buf []byte, p unsafe.Pointer) ([]byte, error)

func makeWriter(key typeKey, ti *typeinfo) (writer, error) {
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
		return makePtrWriter(key, ti)
	case reflect.PointerTo(typ).Implements(encoderType):
		return makeEncoderWriter(typ), nil
	case isUint(kind):
		return makeUintWriter(typ), nil
	case kind == reflect.Bool:
		return writeBool, nil
	case kind == reflect.String:
		return writeString, nil
	case kind == reflect.Slice && isByteElem(typ.Elem()):
		return writeByteSlice, nil
	case kind == reflect.Array && isByteElem(typ.Elem()):
		n := typ.Len()
		return func(buf []byte, p unsafe.Pointer) ([]byte, error) {
			return appendBytes(buf, unsafe.Slice((*byte)(p), n)), nil
		}, nil
	case kind == reflect.Slice || kind == reflect.Array:
		return makeListWriter(key)
	case kind == reflect.Struct:
		return makeStructWriter(typ)
	case kind == reflect.Interface:
		return makeInterfaceWriter(typ), nil
	default:
		return nil, unsupported(typ)
	}
}

// callWriter runs ti's writer, checking for types that were still being built
// (recursive types) when the caller was made.
func callWriter(ti *typeinfo, buf []byte, p unsafe.Pointer) ([]byte, error) {
	if ti.encErr != nil {
		return buf, ti.encErr
	}
	return ti.write(buf, p)
}

func writeRawValue(buf []byte, p unsafe.Pointer) ([]byte, error) {
	return append(buf, *(*[]byte)(p)...), nil
}

func makeUintWriter(typ reflect.Type) writer {
	switch typ.Size() {
	case 1:
		return func(buf []byte, p unsafe.Pointer) ([]byte, error) {
			return AppendUint64(buf, uint64(*(*uint8)(p))), nil
		}
	case 2:
		return func(buf []byte, p unsafe.Pointer) ([]byte, error) {
			return AppendUint64(buf, uint64(*(*uint16)(p))), nil
		}
	case 4:
		return func(buf []byte, p unsafe.Pointer) ([]byte, error) {
			return AppendUint64(buf, uint64(*(*uint32)(p))), nil
		}
	default:
		return func(buf []byte, p unsafe.Pointer) ([]byte, error) {
			return AppendUint64(buf, *(*uint64)(p)), nil
		}
	}
}

func writeBool(buf []byte, p unsafe.Pointer) ([]byte, error) {
	return appendBool(buf, *(*bool)(p)), nil
}

func writeString(buf []byte, p unsafe.Pointer) ([]byte, error) {
	return appendString(buf, *(*string)(p)), nil
}

func writeByteSlice(buf []byte, p unsafe.Pointer) ([]byte, error) {
	return appendBytes(buf, *(*[]byte)(p)), nil
}

func writeBigIntPtr(buf []byte, p unsafe.Pointer) ([]byte, error) {
	i := *(**big.Int)(p)
	if i == nil {
		return append(buf, strOffset), nil
	}
	return appendBigInt(buf, i)
}

func writeBigIntValue(buf []byte, p unsafe.Pointer) ([]byte, error) {
	return appendBigInt(buf, (*big.Int)(p))
}

func makeInterfaceWriter(typ reflect.Type) writer {
	if typ.NumMethod() == 0 {
		return func(buf []byte, p unsafe.Pointer) ([]byte, error) {
			return appendValue(buf, *(*any)(p))
		}
	}
	return func(buf []byte, p unsafe.Pointer) ([]byte, error) {
		// A non-empty interface converts to any without allocating.
		return appendValue(buf, reflect.NewAt(typ, p).Elem().Interface())
	}
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
	// The method set of *T holds EncodeRLP whether its receiver is T or *T.
	return func(buf []byte, p unsafe.Pointer) ([]byte, error) {
		return callEncoder(buf, reflect.NewAt(typ, p).Interface().(Encoder))
	}
}

// needsPrivateCopy reports whether encoding a value of type t may call a
// pointer-receiver EncodeRLP on memory inside the value itself. Values held by
// interfaces are immutable (possibly read-only memory), so such values are
// copied before encoding.
func needsPrivateCopy(t reflect.Type) bool {
	switch {
	case t == bigIntType || t == rawValueType:
		return false
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface &&
		!t.Implements(encoderType) && reflect.PointerTo(t).Implements(encoderType):
		return true
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && needsPrivateCopy(f.Type) {
				return true
			}
		}
	case t.Kind() == reflect.Array:
		return needsPrivateCopy(t.Elem())
	}
	return false
}

func makePtrWriter(key typeKey, ptrInfo *typeinfo) (writer, error) {
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
	ptrInfo.ptrElem, ptrInfo.ptrEmpty = ei, empty
	return func(buf []byte, p unsafe.Pointer) ([]byte, error) {
		elem := *(*unsafe.Pointer)(p)
		if elem == nil {
			return append(buf, empty), nil
		}
		return callWriter(ei, buf, elem)
	}, nil
}

func makeListWriter(key typeKey) (writer, error) {
	typ := key.typ
	ei := elemInfo(typ.Elem())
	if ei.encErr != nil {
		return nil, ei.encErr
	}
	esize := typ.Elem().Size()
	elems := func(p unsafe.Pointer) (unsafe.Pointer, int) {
		h := (*sliceHeader)(p)
		return h.data, h.len
	}
	if typ.Kind() == reflect.Array {
		n := typ.Len()
		elems = func(p unsafe.Pointer) (unsafe.Pointer, int) { return p, n }
	}
	writeElems := func(buf []byte, p unsafe.Pointer) ([]byte, error) {
		data, n := elems(p)
		var err error
		for i := range n {
			if buf, err = callWriter(ei, buf, unsafe.Add(data, uintptr(i)*esize)); err != nil {
				return buf, err
			}
		}
		return buf, nil
	}
	if key.tail {
		// Tail elements continue the enclosing struct's list.
		return writeElems, nil
	}
	return func(buf []byte, p unsafe.Pointer) ([]byte, error) {
		buf, l := listStart(buf)
		buf, err := writeElems(buf, p)
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
	return func(buf []byte, p unsafe.Pointer) ([]byte, error) {
		last := len(fields) - 1
		// Omit trailing optional fields that hold their zero value.
		for ; last >= firstOptional; last-- {
			f := &fields[last]
			if !reflect.NewAt(f.typ, unsafe.Add(p, f.offset)).Elem().IsZero() {
				break
			}
		}
		buf, l := listStart(buf)
		var err error
		for i := range fields[:last+1] {
			f := &fields[i]
			if buf, err = callWriter(f.info, buf, unsafe.Add(p, f.offset)); err != nil {
				return buf, err
			}
		}
		return listEnd(buf, l), nil
	}, nil
}

package rlp

import (
	"reflect"
	"unsafe"
)

// The codecs work on pointers to values rather than on reflect.Values: the
// per-type functions are built once with reflection, and the hot path then only
// does pointer arithmetic. This file holds the few layout facts that relies on.

// eface is the layout of an empty interface value.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// sliceHeader is the layout of any slice value.
type sliceHeader struct {
	data unsafe.Pointer
	len  int
	cap  int
}

// isDirectIface reports whether values of t are stored in an interface's data
// word itself rather than behind a pointer to a copy.
func isDirectIface(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Struct:
		return t.NumField() == 1 && isDirectIface(t.Field(0).Type)
	case reflect.Array:
		return t.Len() == 1 && isDirectIface(t.Elem())
	}
	return false
}

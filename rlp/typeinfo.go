package rlp

import (
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
)

// typeinfo holds the encoder and decoder built once per type (and tags).
// Composite types refer to their element's *typeinfo, which lets recursive
// types be built: the pointer exists before its functions are filled in.
type typeinfo struct {
	decode decoder
	decErr error
	write  writer
	encErr error

	// For pointer types other than *big.Int: the element and the encoding of nil.
	ptrElem  *typeinfo
	ptrEmpty byte

	direct      bool // values are stored in an interface's data word itself
	privateCopy bool // copy values out of interfaces before encoding (see needsPrivateCopy)
}

// nilKind is the empty value a nil pointer encodes as.
type nilKind uint8

const (
	nilDefault nilKind = iota // decided by the element type; nil pointers still decode
	nilString
	nilList
)

// tags are the struct tags that change how one field's type is handled.
type tags struct {
	nilOK    bool    // empty value decodes as nil pointer ("nil", "nilString", "nilList")
	nilKind  nilKind // explicit kind for nilOK
	tail     bool
	optional bool
	ignored  bool
}

// typeKey identifies a cached typeinfo. Only the tags that change the type's
// own coding are part of it (optional is handled by the struct).
type typeKey struct {
	typ     reflect.Type
	nilOK   bool
	nilKind nilKind
	tail    bool
}

var typeCache struct {
	cur atomic.Pointer[map[typeKey]*typeinfo] // published, read without locking
	mu  sync.Mutex                            // serialises building
	// building holds typeinfos created by the build in progress (guarded by mu).
	building map[typeKey]*typeinfo
}

func cachedTypeInfo(typ reflect.Type) *typeinfo {
	if m := typeCache.cur.Load(); m != nil {
		if ti := (*m)[typeKey{typ: typ}]; ti != nil {
			return ti
		}
	}
	return buildTypeInfo(typeKey{typ: typ})
}

func buildTypeInfo(key typeKey) *typeinfo {
	typeCache.mu.Lock()
	defer typeCache.mu.Unlock()
	if m := typeCache.cur.Load(); m != nil {
		if ti := (*m)[key]; ti != nil {
			return ti
		}
	}
	typeCache.building = make(map[typeKey]*typeinfo)
	ti := infoWhileBuilding(key)
	// Publish a copy of the old map extended with everything built.
	next := make(map[typeKey]*typeinfo)
	if m := typeCache.cur.Load(); m != nil {
		for k, v := range *m {
			next[k] = v
		}
	}
	for k, v := range typeCache.building {
		next[k] = v
	}
	typeCache.cur.Store(&next)
	typeCache.building = nil
	return ti
}

// infoWhileBuilding returns the typeinfo for key, building it if needed.
// typeCache.mu must be held.
func infoWhileBuilding(key typeKey) *typeinfo {
	if m := typeCache.cur.Load(); m != nil {
		if ti := (*m)[key]; ti != nil {
			return ti
		}
	}
	if ti := typeCache.building[key]; ti != nil {
		return ti
	}
	ti := new(typeinfo)
	typeCache.building[key] = ti
	ti.direct = isDirectIface(key.typ)
	ti.privateCopy = needsPrivateCopy(key.typ)
	ti.decode, ti.decErr = makeDecoder(key)
	ti.write, ti.encErr = makeWriter(key, ti)
	return ti
}

func elemInfo(typ reflect.Type) *typeinfo {
	return infoWhileBuilding(typeKey{typ: typ})
}

var (
	encoderType  = reflect.TypeFor[Encoder]()
	decoderType  = reflect.TypeFor[Decoder]()
	bigIntType   = reflect.TypeFor[big.Int]()
	bigIntPtr    = reflect.TypeFor[*big.Int]()
	rawValueType = reflect.TypeFor[RawValue]()
)

func isUint(k reflect.Kind) bool {
	return k >= reflect.Uint && k <= reflect.Uintptr
}

// isByteElem reports whether typ is a byte type that is not its own
// Encoder/Decoder, so that arrays and slices of it are byte strings.
func isByteElem(typ reflect.Type) bool {
	return typ.Kind() == reflect.Uint8 && !typ.Implements(encoderType) &&
		!reflect.PointerTo(typ).Implements(decoderType)
}

// defaultNilKind is the empty value of typ, used for nil pointers to typ.
func defaultNilKind(typ reflect.Type) nilKind {
	k := typ.Kind()
	if isUint(k) || k == reflect.String || k == reflect.Bool ||
		((k == reflect.Slice || k == reflect.Array) && isByteElem(typ.Elem())) {
		return nilString
	}
	return nilList
}

// structField is one encoded field of a struct.
type structField struct {
	index    int
	offset   uintptr
	typ      reflect.Type
	name     string
	info     *typeinfo
	optional bool // this or an earlier field has "optional"
	tail     bool
}

// structFields analyses typ's exported fields and their tags.
func structFields(typ reflect.Type) ([]structField, error) {
	lastExported := -1
	for i := range typ.NumField() {
		if typ.Field(i).IsExported() {
			lastExported = i
		}
	}
	var fields []structField
	var firstOptional string
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		ts, err := parseTags(typ, f, i == lastExported)
		if err != nil {
			return nil, err
		}
		if ts.ignored {
			continue
		}
		if ts.optional || ts.tail {
			if firstOptional == "" {
				firstOptional = f.Name
			}
		} else if firstOptional != "" {
			return nil, &TypeError{Type: typ, Field: f.Name, Err: ErrInvalidTag,
				Reason: fmt.Sprintf("must be optional because preceding field %q is optional", firstOptional)}
		}
		key := typeKey{typ: f.Type, nilOK: ts.nilOK, nilKind: ts.nilKind, tail: ts.tail}
		fields = append(fields, structField{
			index: i, offset: f.Offset, typ: f.Type, name: f.Name, info: infoWhileBuilding(key),
			optional: firstOptional != "", tail: ts.tail,
		})
	}
	return fields, nil
}

func parseTags(typ reflect.Type, f reflect.StructField, last bool) (tags, error) {
	var ts tags
	tagErr := func(tag, reason string) error {
		return &TypeError{Type: typ, Field: f.Name, Tag: tag, Reason: reason, Err: ErrInvalidTag}
	}
	for _, t := range strings.Split(f.Tag.Get("rlp"), ",") {
		switch t = strings.TrimSpace(t); t {
		case "":
		case "-":
			ts.ignored = true
		case "nil", "nilString", "nilList":
			if f.Type.Kind() != reflect.Pointer {
				return ts, tagErr(t, "field is not a pointer")
			}
			ts.nilOK = true
			switch t {
			case "nil":
				ts.nilKind = defaultNilKind(f.Type.Elem())
			case "nilString":
				ts.nilKind = nilString
			case "nilList":
				ts.nilKind = nilList
			}
		case "optional":
			if ts.tail {
				return ts, tagErr(t, `also has "tail" tag`)
			}
			ts.optional = true
		case "tail":
			if !last {
				return ts, tagErr(t, "must be on last field")
			}
			if ts.optional {
				return ts, tagErr(t, `also has "optional" tag`)
			}
			if f.Type.Kind() != reflect.Slice {
				return ts, tagErr(t, "field type is not slice")
			}
			ts.tail = true
		default:
			return ts, tagErr(t, "unknown tag")
		}
	}
	return ts, nil
}

// fieldError attributes a field type's build error to the enclosing struct.
func fieldError(typ reflect.Type, f structField, err error) error {
	if te, ok := err.(*TypeError); ok && te.Err == ErrInvalidTag {
		return err
	}
	return &TypeError{Type: typ, Field: f.name, Err: ErrUnsupportedType, Reason: err.Error()}
}

func unsupported(typ reflect.Type) error {
	var reason string
	switch typ.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		reason = "RLP has no signed integers; use an unsigned type"
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		reason = "RLP has no floating-point numbers"
	case reflect.Map:
		reason = "maps have no defined order; use a slice of pairs"
	case reflect.Interface:
		reason = "cannot decode into a non-empty interface"
	}
	return &TypeError{Type: typ, Err: ErrUnsupportedType, Reason: reason}
}

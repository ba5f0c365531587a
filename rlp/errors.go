package rlp

import (
	"errors"
	"io"
	"reflect"
	"strings"
)

// EOL is returned by Stream methods when the end of the current list has been
// reached. It is returned unwrapped so callers can compare with ==.
//
//lint:ignore ST1012 the name is part of the API go-ethereum users know.
var EOL = errors.New("rlp: end of list")

// Sentinel errors for malformed or unsuitable input. Decoding functions return
// them wrapped in a *DecodeError; test with errors.Is.
var (
	ErrExpectedString   = errors.New("rlp: expected input string or byte")
	ErrExpectedList     = errors.New("rlp: expected input list")
	ErrCanonInt         = errors.New("rlp: non-canonical integer (leading zero bytes)")
	ErrCanonSize        = errors.New("rlp: non-canonical size information")
	ErrElemTooLarge     = errors.New("rlp: element is larger than containing list")
	ErrValueTooLarge    = errors.New("rlp: value size exceeds available input length")
	ErrMoreThanOneValue = errors.New("rlp: input contains more than one value")
	ErrUintOverflow     = errors.New("rlp: uint overflow")
	ErrNegativeBigInt   = errors.New("rlp: cannot encode negative big.Int")
	ErrInvalidBool      = errors.New("rlp: invalid boolean value")
	ErrTooFewElements   = errors.New("rlp: input list has too few elements")
	ErrTooManyElements  = errors.New("rlp: input list has too many elements")
	ErrStringTooLong    = errors.New("rlp: input string too long")
	ErrStringTooShort   = errors.New("rlp: input string too short")
	ErrWrongSize        = errors.New("rlp: input value has wrong size")
	ErrWrongEmptyKind   = errors.New("rlp: wrong kind of empty value")
	ErrTooDeep          = errors.New("rlp: lists nested too deeply")
	ErrNotInList        = errors.New("rlp: call of ListEnd outside of any list")
	ErrNotAtEOL         = errors.New("rlp: call of ListEnd not positioned at end of list")
	ErrNoPointer        = errors.New("rlp: value given to Decode must be a pointer")
	ErrDecodeIntoNil    = errors.New("rlp: pointer given to Decode must not be nil")
	ErrUnsupportedType  = errors.New("rlp: type is not RLP-serializable")
	ErrInvalidTag       = errors.New("rlp: invalid struct tag")
)

// ErrNonCanonicalSize reports a long-form size with leading zero bytes. It is a
// case of ErrCanonSize: errors.Is(ErrNonCanonicalSize, ErrCanonSize) holds.
var ErrNonCanonicalSize error = &subError{"rlp: non-canonical size (leading zero bytes in length)", ErrCanonSize}

// subError is a sentinel that also matches a broader sentinel with errors.Is.
type subError struct {
	msg    string
	parent error
}

func (e *subError) Error() string        { return e.msg }
func (e *subError) Is(target error) bool { return target == e.parent }

// DecodeError reports a decoding failure together with where it happened: the Go
// type being decoded and the path of fields and indices from the top-level
// value. It unwraps to the cause, usually one of the Err* sentinels.
type DecodeError struct {
	Err  error        // cause
	Type reflect.Type // type whose decoding failed
	Root reflect.Type // type of the top-level value passed to Decode, if known

	path []string // innermost element first
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Path returns the field/index path from the top-level value to the failing
// element, like ".Caps[2]". It is empty when the top-level value failed.
func (e *DecodeError) Path() string {
	var sb strings.Builder
	for i := len(e.path) - 1; i >= 0; i-- {
		sb.WriteString(e.path[i])
	}
	return sb.String()
}

func (e *DecodeError) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "rlp: ")
	var sb strings.Builder
	sb.WriteString("rlp: ")
	sb.WriteString(msg)
	if len(e.path) > 0 && e.Root != nil {
		sb.WriteString(" for ")
		sb.WriteString(e.Root.String())
		sb.WriteString(e.Path())
	} else if e.Type != nil {
		sb.WriteString(" for ")
		sb.WriteString(e.Type.String())
		sb.WriteString(e.Path())
	}
	return sb.String()
}

// wrapErr attaches type information to an error raised while decoding a value
// of type typ. EOL and io.EOF stay unwrapped: callers compare them with ==.
func wrapErr(err error, typ reflect.Type) error {
	switch err.(type) {
	case nil, *DecodeError:
		return err
	}
	if err == EOL || err == io.EOF {
		return err
	}
	return &DecodeError{Err: err, Type: typ}
}

// addPath records that err happened inside the element named by step.
func addPath(err error, step string) error {
	if de, ok := err.(*DecodeError); ok {
		de.path = append(de.path, step)
	}
	return err
}

// TypeError reports a Go type that cannot be encoded or decoded, or a misuse
// of struct tags. It unwraps to ErrUnsupportedType or ErrInvalidTag.
type TypeError struct {
	Type   reflect.Type // offending type (the struct, for tag errors)
	Field  string       // struct field name, if the problem is a field
	Tag    string       // offending tag, for tag errors
	Reason string
	Err    error
}

func (e *TypeError) Unwrap() error { return e.Err }

func (e *TypeError) Error() string {
	var sb strings.Builder
	if e.Err == ErrInvalidTag {
		sb.WriteString("rlp: invalid struct tag")
		if e.Tag != "" {
			sb.WriteString(` "` + e.Tag + `"`)
		}
		sb.WriteString(" for field " + e.Type.String() + "." + e.Field)
	} else {
		sb.WriteString("rlp: type " + e.Type.String() + " is not RLP-serializable")
		if e.Field != "" {
			sb.WriteString(" (field " + e.Field + ")")
		}
	}
	if e.Reason != "" {
		sb.WriteString(": " + e.Reason)
	}
	return sb.String()
}

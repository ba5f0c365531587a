package enr

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/rlp"
)

// list encodes items (each already RLP) as an RLP list.
func list(items ...[]byte) []byte {
	payload := bytes.Join(items, nil)
	return append(appendListHeader(nil, len(payload)), payload...)
}

func str(s string) []byte { return appendString(nil, []byte(s)) }

var sig64 = str(strings.Repeat("s", 64))

func TestDecodeMalformed(t *testing.T) {
	one := []byte{0x01}
	tests := []struct {
		name  string
		input []byte
		want  []error // all must match
	}{
		{"empty input", nil, []error{ErrMalformed}},
		{"string, not list", str("abc"), []error{ErrMalformed, rlp.ErrExpectedList}},
		{"single byte", []byte{0x05}, []error{ErrMalformed, rlp.ErrExpectedList}},
		{"truncated list", []byte{0xC5, 0x01}, []error{ErrMalformed, rlp.ErrValueTooLarge}},
		{"non-canonical list size", append([]byte{0xF8, 0x02}, 0x80, 0x01), []error{ErrMalformed, rlp.ErrCanonSize}},
		{"empty list", list(), []error{ErrIncompleteList}},
		{"signature only", list(sig64), []error{ErrIncompleteList}},
		{"signature is a list", list(list(), one), []error{ErrMalformed, rlp.ErrExpectedString}},
		{"seq is a list", list(sig64, list()), []error{ErrMalformed, rlp.ErrExpectedString}},
		{"seq with leading zero", list(sig64, []byte{0x82, 0x00, 0x01}), []error{ErrMalformed, rlp.ErrCanonInt}},
		{"seq zero byte", list(sig64, []byte{0x00}), []error{ErrMalformed, rlp.ErrCanonInt}},
		{"seq over 64 bits", list(sig64, append([]byte{0x89}, bytes.Repeat([]byte{1}, 9)...)), []error{ErrMalformed, rlp.ErrUintOverflow}},
		{"non-canonical single-byte string", list(sig64, one, []byte{0x81, 0x05}, one), []error{ErrMalformed, rlp.ErrCanonSize}},
		{"odd number of k/v elements", list(sig64, one, str("id"), str("v4"), str("ip")), []error{ErrIncompletePair}},
		{"key is a list", list(sig64, one, list(), str("v4")), []error{ErrMalformed, rlp.ErrExpectedString}},
		{"keys not sorted", list(sig64, one, str("udp"), one, str("id"), str("v4")), []error{ErrNotSorted}},
		{"duplicate key", list(sig64, one, str("id"), str("v4"), str("id"), str("v5")), []error{ErrDuplicateKey}},
		{"element overruns list", append([]byte{0xC3}, 0x80, 0x01, 0x82), []error{ErrMalformed}},
		{"malformed nested value", list(sig64, one, str("eth"), list([]byte{0x81, 0x05})), []error{ErrMalformed, rlp.ErrCanonSize}},
		{"too big", list(sig64, one, str("x"), str(strings.Repeat("x", 250))), []error{ErrTooBig}},
		{"trailing data", append(list(sig64, one), 0x00), []error{ErrTrailingData}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			err := r.UnmarshalBinary(tt.input)
			checkErrs(t, "UnmarshalBinary", err, tt.want)
			_, err = ParseText(textPrefix + base64.RawURLEncoding.EncodeToString(tt.input))
			checkErrs(t, "ParseText", err, tt.want)
			// Through a stream, trailing data is the caller's business, and
			// the end of input is reported as io.EOF.
			if len(tt.input) == 0 {
				if err := rlp.DecodeBytes(tt.input, &r); err != io.EOF {
					t.Errorf("rlp.DecodeBytes: %v, want io.EOF", err)
				}
			} else if !errors.Is(tt.want[0], ErrTrailingData) {
				err = rlp.DecodeBytes(tt.input, &r)
				checkErrs(t, "rlp.DecodeBytes", err, tt.want[:1])
			}
		})
	}
}

func checkErrs(t *testing.T, what string, err error, want []error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %v", what, want)
		return
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("%s: %v, want %v", what, err, w)
		}
	}
}

func TestDecodeAccepts(t *testing.T) {
	one := []byte{0x01}
	// Keys and signature may be single bytes (RLP "Byte" kind), keys may be
	// empty, values may be nested lists.
	for _, in := range [][]byte{
		list(sig64, one),
		list([]byte{0x05}, []byte{0x80}),
		list(str(""), one, str(""), one, str("a"), list(list(one), str("x"))),
		list(sig64, one, []byte{0x61}, one, str("b"), one),
	} {
		var r Record
		if err := r.UnmarshalBinary(in); err != nil {
			t.Errorf("%x: %v", in, err)
			continue
		}
		if got := mustBinary(t, &r); !bytes.Equal(got, in) {
			t.Errorf("re-encoded %x, want %x", got, in)
		}
	}
}

func TestParseTextErrors(t *testing.T) {
	valid := signedRecord(t, UDP(30303)).String()
	b64 := strings.TrimPrefix(valid, textPrefix)
	tests := []struct {
		name  string
		input string
		want  error
	}{
		{"empty", "", ErrMissingPrefix},
		{"no prefix", b64, ErrMissingPrefix},
		{"upper-case prefix", "ENR:" + b64, ErrMissingPrefix},
		{"enode URL", "enode://abcd@1.2.3.4:1", ErrMissingPrefix},
		{"standard alphabet", "enr:" + strings.Repeat("+/", 20), ErrInvalidBase64},
		{"padding", valid + "==", ErrInvalidBase64},
		{"line break", "enr:" + b64[:10] + "\n" + b64[10:], ErrInvalidBase64},
		{"carriage return", "enr:" + b64[:10] + "\r" + b64[10:], ErrInvalidBase64},
		{"space", "enr:" + b64[:10] + " " + b64[10:], ErrInvalidBase64},
		{"impossible length", "enr:AAAAA", ErrInvalidBase64},
		{"non-zero padding bits", "enr:-EB", ErrInvalidBase64},
		{"too long", "enr:" + strings.Repeat("A", 404), ErrTooBig},
		{"trailing data", "enr:" + base64.RawURLEncoding.EncodeToString(append(mustBinary(t, signedRecord(t)), 0x80)), ErrTrailingData},
		{"empty record", "enr:", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseText(tt.input)
			if !errors.Is(err, tt.want) {
				t.Errorf("ParseText(%q): %v, want %v", tt.input, err, tt.want)
			}
		})
	}
	var r Record
	if err := r.UnmarshalText([]byte(valid)); err != nil {
		t.Fatal(err)
	}
	if txt, err := r.MarshalText(); err != nil || string(txt) != valid {
		t.Fatalf("MarshalText = %s, %v", txt, err)
	}
}

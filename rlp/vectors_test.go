package rlp

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"
	"testing"
)

// vector is one case of the ethereum/tests RLP files.
type vector struct {
	In  json.RawMessage `json:"in"`
	Out string          `json:"out"`
}

func loadVectors(t testing.TB, file string) map[string]vector {
	t.Helper()
	data, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]vector
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		t.Fatalf("%s: no vectors", file)
	}
	return m
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorValue converts a vector's "in" to the Go value to encode: string,
// uint64, *big.Int ("#digits" or too large for uint64) or []any.
func vectorValue(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var conv func(any) any
	conv = func(v any) any {
		switch v := v.(type) {
		case string:
			if strings.HasPrefix(v, "#") {
				i, ok := new(big.Int).SetString(v[1:], 10)
				if !ok {
					t.Fatalf("bad bignum %q", v)
				}
				return i
			}
			return v
		case json.Number:
			i, ok := new(big.Int).SetString(string(v), 10)
			if !ok {
				t.Fatalf("bad number %q", v)
			}
			if i.IsUint64() {
				return i.Uint64()
			}
			return i
		case []any:
			out := make([]any, len(v))
			for i := range v {
				out[i] = conv(v[i])
			}
			return out
		default:
			t.Fatalf("unexpected vector value %T", v)
			return nil
		}
	}
	return conv(v)
}

// generic turns an input value into the form Decode produces for `any`.
func generic(v any) any {
	switch v := v.(type) {
	case string:
		return []byte(v)
	case uint64:
		return new(big.Int).SetUint64(v).Bytes()
	case *big.Int:
		return v.Bytes()
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = generic(v[i])
		}
		return out
	}
	panic(fmt.Sprintf("generic: %T", v))
}

func genericEqual(a, b any) bool {
	switch a := a.(type) {
	case []byte:
		bb, ok := b.([]byte)
		return ok && bytes.Equal(a, bb)
	case []any:
		bl, ok := b.([]any)
		if !ok || len(a) != len(bl) {
			return false
		}
		for i := range a {
			if !genericEqual(a[i], bl[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func TestVectorsValid(t *testing.T) {
	for name, vec := range loadVectors(t, "rlptest.json") {
		t.Run(name, func(t *testing.T) {
			in := vectorValue(t, vec.In)
			want := unhex(t, vec.Out)

			// Encode.
			got, err := EncodeToBytes(in)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encode mismatch\n got %x\nwant %x", got, want)
			}
			var buf bytes.Buffer
			if err := Encode(&buf, in); err != nil || !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("Encode: %v, %x", err, buf.Bytes())
			}

			// Decode into the matching Go type.
			switch in := in.(type) {
			case string:
				var s string
				if err := DecodeBytes(want, &s); err != nil || s != in {
					t.Fatalf("decode string: %v, %q", err, s)
				}
			case uint64:
				var u uint64
				if err := DecodeBytes(want, &u); err != nil || u != in {
					t.Fatalf("decode uint64: %v, %d", err, u)
				}
			case *big.Int:
				var b *big.Int
				if err := DecodeBytes(want, &b); err != nil || b.Cmp(in) != 0 {
					t.Fatalf("decode big: %v, %v", err, b)
				}
			}
			// Decode generically, from bytes and from a reader.
			var x any
			if err := DecodeBytes(want, &x); err != nil {
				t.Fatalf("decode any: %v", err)
			}
			if !genericEqual(x, generic(in)) {
				t.Fatalf("decode any: got %v want %v", x, generic(in))
			}
			var y any
			if err := Decode(onlyReader{bytes.NewReader(want)}, &y); err != nil || !genericEqual(y, x) {
				t.Fatalf("decode any from reader: %v %v", err, y)
			}
			var raw RawValue
			if err := DecodeBytes(want, &raw); err != nil || !bytes.Equal(raw, want) {
				t.Fatalf("decode raw: %v %x", err, raw)
			}
			// Re-encoding the generic value gives the same bytes.
			again, err := EncodeToBytes(x)
			if err != nil || !bytes.Equal(again, want) {
				t.Fatalf("re-encode: %v %x", err, again)
			}
		})
	}
}

func TestVectorsInvalid(t *testing.T) {
	for name, vec := range loadVectors(t, "invalidRLPTest.json") {
		t.Run(name, func(t *testing.T) {
			b := unhex(t, vec.Out)
			var x any
			err := DecodeBytes(b, &x)
			if err == nil {
				t.Fatalf("decode any accepted %x as %v", b, x)
			}
			var raw RawValue
			if err := DecodeBytes(b, &raw); err == nil {
				t.Fatalf("decode RawValue accepted %x", b)
			}
			var y any
			if err := Decode(onlyReader{bytes.NewReader(b)}, &y); err == nil {
				// Decode reads one value and stops before trailing data, which
				// DecodeBytes rejects; it must never accept the whole input.
				if full, _ := EncodeToBytes(y); bytes.Equal(full, b) {
					t.Fatalf("reader decode accepted all of %x", b)
				}
			}
			t.Logf("%x: %v", b, err)
			if !isKnownErr(err) {
				t.Errorf("error %v is not one of the package's sentinels", err)
			}
		})
	}
}

func TestVectorsRandom(t *testing.T) {
	for name, vec := range loadVectors(t, "randomRLPTest-example.json") {
		t.Run(name, func(t *testing.T) {
			b := unhex(t, vec.Out)
			var x any
			if err := DecodeBytes(b, &x); err != nil {
				t.Fatal(err)
			}
			var raw RawValue
			if err := DecodeBytes(b, &raw); err != nil {
				t.Fatal(err)
			}
			out, err := EncodeToBytes(x)
			if err != nil || !bytes.Equal(out, b) {
				t.Fatalf("re-encode: %v %x", err, out)
			}
		})
	}
}

// onlyReader hides every method but Read, forcing Stream to buffer itself.
type onlyReader struct{ r *bytes.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func isKnownErr(err error) bool {
	for _, s := range []error{
		ErrExpectedString, ErrExpectedList, ErrCanonInt, ErrCanonSize, ErrNonCanonicalSize,
		ErrElemTooLarge, ErrValueTooLarge, ErrMoreThanOneValue, ErrUintOverflow, ErrTooDeep,
		io.EOF,
	} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

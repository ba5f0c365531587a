package rlp

import (
	"bytes"
	"io"
	"math/big"
	"net"
	"reflect"
	"testing"
)

type fuzzHello struct {
	Version    uint64
	Name       string
	Caps       []fuzzCap
	ListenPort uint64
	ID         []byte
	Rest       []RawValue `rlp:"tail"`
}

type fuzzCap struct {
	Name    string
	Version uint
}

type fuzzNeighbors struct {
	Nodes []struct {
		IP       net.IP
		UDP, TCP uint16
		ID       [64]byte
	}
	Expiration uint64
	Rest       []RawValue `rlp:"tail"`
}

type fuzzTags struct {
	A uint32
	B *[]uint8 `rlp:"nil"`
	C *fuzzCap `rlp:"nilList"`
	D *[2]byte `rlp:"nilString"`
	E bool
	F *big.Int  `rlp:"optional"`
	G *[]uint16 `rlp:"optional"`
	H []any     `rlp:"tail"`
}

// fuzzTargets are the decode targets; canonical ones re-encode to their input.
var fuzzTargets = []struct {
	new       func() any
	canonical bool
}{
	{func() any { return new(any) }, true},
	{func() any { return new(RawValue) }, true},
	{func() any { return new(uint8) }, true},
	{func() any { return new(uint16) }, true},
	{func() any { return new(uint32) }, true},
	{func() any { return new(uint64) }, true},
	{func() any { return new(bool) }, true},
	{func() any { return new(string) }, true},
	{func() any { return new([]byte) }, true},
	{func() any { return new([4]byte) }, true},
	{func() any { return new(*big.Int) }, true},
	{func() any { return new([]uint64) }, true},
	{func() any { return new([3][]string) }, true},
	{func() any { return new(fuzzHello) }, true},
	{func() any { return new(fuzzNeighbors) }, true},
	{func() any { return new(fuzzTags) }, true},
	{func() any { return new(recursive) }, true},
	{func() any { return new(optionalFields) }, false}, // explicit trailing zeros are dropped
	{func() any { return new(pairDecoder) }, true},
}

func addVectorSeeds(f *testing.F) {
	for _, file := range []string{"rlptest.json", "invalidRLPTest.json", "randomRLPTest-example.json"} {
		for _, vec := range loadVectors(f, file) {
			f.Add(unhex(f, vec.Out))
		}
	}
	for _, tt := range decTests {
		f.Add(unhexMust(tt.input))
	}
}

// rootErr strips DecodeError wrappers.
func rootErr(err error) error {
	for {
		de, ok := err.(*DecodeError)
		if !ok {
			return err
		}
		err = de.Err
	}
}

func FuzzDecode(f *testing.F) {
	addVectorSeeds(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		for _, target := range fuzzTargets {
			v := target.new()
			err := DecodeBytes(input, v)

			// The reader path agrees, value and error.
			w := target.new()
			s := NewStream(bytes.NewReader(input), 0)
			rerr := s.Decode(w)
			if rerr == nil {
				if _, _, kerr := s.Kind(); kerr != io.EOF {
					rerr = ErrMoreThanOneValue
				}
			}
			if rootErr(err) != rootErr(rerr) {
				t.Fatalf("%T: DecodeBytes error %v, Stream error %v", v, err, rerr)
			}
			if err != nil {
				continue
			}
			if !reflect.DeepEqual(v, w) {
				t.Fatalf("%T: DecodeBytes and Stream disagree:\n%#v\n%#v", v, v, w)
			}
			out, err := EncodeToBytes(v)
			if err != nil {
				t.Fatalf("%T: re-encode failed: %v", v, err)
			}
			if target.canonical && !bytes.Equal(out, input) {
				t.Fatalf("%T: re-encoded %x, input %x", v, out, input)
			}
			// Whatever we accept decodes again to the same value.
			u := target.new()
			if err := DecodeBytes(out, u); err != nil || !reflect.DeepEqual(u, v) {
				t.Fatalf("%T: decode of re-encoding: %v", v, err)
			}
		}
		// A RawValue is accepted exactly when generic decoding is.
		var x any
		var raw RawValue
		if (DecodeBytes(input, &x) == nil) != (DecodeBytes(input, &raw) == nil) {
			t.Fatalf("any and RawValue disagree on %x", input)
		}
	})
}

func FuzzSplit(f *testing.F) {
	addVectorSeeds(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		k, content, rest, err := Split(input)
		if err != nil {
			if _, _, serr := SplitString(input); serr == nil {
				t.Fatal("SplitString accepted what Split rejected")
			}
			return
		}
		if len(content)+len(rest) > len(input) {
			t.Fatal("content and rest exceed input")
		}
		// The head of the input re-encodes from kind and content.
		var head []byte
		switch k {
		case Byte:
			if len(content) != 1 || content[0] >= 0x80 {
				t.Fatalf("bad Byte content %x", content)
			}
			head = content
		case String:
			head = appendBytes(nil, content)
		case List:
			head = append(appendHeader(nil, listOffset, uint64(len(content))), content...)
		}
		if !bytes.Equal(append(head, rest...), input) {
			t.Fatalf("split %v %x %x does not reassemble %x", k, content, rest, input)
		}
		if k == List {
			if n, err := CountValues(content); err == nil {
				// Counting and decoding as []RawValue agree.
				var elems []RawValue
				if derr := DecodeBytes(head, &elems); derr == nil && len(elems) != n {
					t.Fatalf("CountValues %d, decoded %d elements", n, len(elems))
				}
			}
		}
		if x, r, err := SplitUint64(input); err == nil {
			if !bytes.Equal(append(AppendUint64(nil, x), r...), input) {
				t.Fatalf("SplitUint64 %d does not reassemble %x", x, input)
			}
		}
	})
}

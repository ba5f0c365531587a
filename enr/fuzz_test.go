package enr

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/trellis-p2p/trellis/rlp"
)

func fuzzSeeds(f *testing.F) [][]byte {
	_, raw := loadEIP778(f)
	seeds := [][]byte{raw}
	var r Record
	r.SetSeq(1 << 40)
	r.Set(IPv4(netip.MustParseAddr("10.1.2.3")))
	r.Set(IPv6(netip.MustParseAddr("2001:db8::7")))
	r.Set(TCP(30303))
	r.Set(UDP6(30301))
	r.Set(RawEntry{Key: "eth", Value: rlp.RawValue{0xC7, 0xC6, 0x84, 1, 2, 3, 4, 0x80}})
	if err := SignV4(&r, testKey(f)); err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, mustBinary(f, &r))
	return append(seeds,
		list(sig64, []byte{0x01}),
		list(sig64, []byte{0x01}, str("udp"), []byte{0x01}, str("id"), str("v4")),
		list(),
	)
}

// checkDecoded asserts what must hold for every record a decoder accepts.
func checkDecoded(t *testing.T, r *Record, input []byte) {
	if len(input) > SizeLimit || r.Size() != len(input) {
		t.Fatalf("accepted %d bytes, Size %d", len(input), r.Size())
	}
	enc, err := r.MarshalBinary()
	if err != nil || !bytes.Equal(enc, input) {
		t.Fatalf("re-encoding differs: %x, %v", enc, err)
	}
	txt, err := ParseText(r.String())
	if err != nil {
		t.Fatalf("own text form rejected: %v", err)
	}
	if enc2 := mustBinary(t, txt); !bytes.Equal(enc2, input) {
		t.Fatalf("text round trip differs: %x", enc2)
	}
	keys := r.Keys()
	if !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
		t.Fatalf("keys not sorted and unique: %q", keys)
	}
	// Verification either succeeds or fails with one of the typed errors.
	if err := r.Verify(); err != nil {
		var ke *KeyError
		switch {
		case errors.Is(err, ErrInvalidSig), errors.Is(err, ErrMissingScheme),
			errors.Is(err, ErrUnknownScheme), errors.As(err, &ke):
		default:
			t.Fatalf("Verify: untyped error %v", err)
		}
	}
	// Loading the standard entries never panics, whatever the values.
	for _, e := range []Entry{new(ID), new(IPv4), new(IPv6), new(TCP), new(UDP), new(TCP6), new(UDP6), new(Secp256k1)} {
		r.Load(e)
	}
	// Changing the record and signing again works unless it grew too big.
	cpy := *r
	cpy.Set(UDP(1))
	if err := SignV4(&cpy, testKey(t)); err == nil {
		if err := cpy.Verify(); err != nil {
			t.Fatalf("re-signed record does not verify: %v", err)
		}
	} else if !errors.Is(err, ErrTooBig) {
		t.Fatalf("SignV4: %v", err)
	}
}

func FuzzDecodeRLP(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		var r Record
		err := r.UnmarshalBinary(input)
		// Decoding from a stream accepts exactly the same records.
		var sr Record
		serr := rlp.DecodeBytes(input, &sr)
		if (err == nil) != (serr == nil) {
			t.Fatalf("UnmarshalBinary: %v, rlp.DecodeBytes: %v", err, serr)
		}
		if err != nil {
			return
		}
		checkDecoded(t, &r, input)
		if !bytes.Equal(mustBinary(t, &sr), input) {
			t.Fatal("stream-decoded record re-encodes differently")
		}
	})
}

func FuzzParseText(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		var r Record
		if r.UnmarshalBinary(s) == nil {
			f.Add(r.String())
		}
	}
	f.Add("enr:")
	f.Add("enr:-EB")
	f.Fuzz(func(t *testing.T, input string) {
		r, err := ParseText(input)
		if err != nil {
			return
		}
		if r.String() != input {
			t.Fatalf("text form not reproduced:\n got %s\nwant %s", r.String(), input)
		}
		checkDecoded(t, r, mustBinary(t, r))
	})
}

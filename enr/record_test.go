package enr

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/rlp"
)

func testKey(t testing.TB) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.HexToPrivateKey("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signedRecord(t testing.TB, entries ...Entry) *Record {
	t.Helper()
	var r Record
	for _, e := range entries {
		r.Set(e)
	}
	if err := SignV4(&r, testKey(t)); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestSetLoadDelete(t *testing.T) {
	var r Record
	r.Set(UDP(30303))
	r.Set(IPv4(netip.MustParseAddr("10.0.0.1")))
	r.Set(ID("v4"))
	r.Set(TCP(30304))
	r.Set(UDP(30305)) // replaces
	if got, want := r.Keys(), []string{"id", "ip", "tcp", "udp"}; !slices.Equal(got, want) {
		t.Fatalf("keys %q, want %q", got, want)
	}
	var udp UDP
	if err := r.Load(&udp); err != nil || udp != 30305 {
		t.Fatalf("udp = %d, %v", udp, err)
	}
	r.Delete("tcp")
	r.Delete("nope")
	if got, want := r.Keys(), []string{"id", "ip", "udp"}; !slices.Equal(got, want) {
		t.Fatalf("after Delete: keys %q, want %q", got, want)
	}
	var tcp TCP
	err := r.Load(&tcp)
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != "tcp" || !errors.Is(err, ErrNotFound) || !IsNotFound(err) {
		t.Fatalf("Load of deleted key: %v", err)
	}
	if r.Seq() != 0 || r.Signed() {
		t.Fatal("changes to an unsigned record touched seq or signature")
	}
}

func TestChangesDropSignature(t *testing.T) {
	steps := []struct {
		name    string
		change  func(r *Record)
		wantSeq uint64
	}{
		{"Set", func(r *Record) { r.Set(TCP(1)) }, 6},
		{"Delete", func(r *Record) { r.Delete("udp") }, 6},
		{"SetSeq", func(r *Record) { r.SetSeq(42) }, 42},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var r Record
			r.SetSeq(5)
			r.Set(UDP(30303))
			if err := SignV4(&r, testKey(t)); err != nil {
				t.Fatal(err)
			}
			s.change(&r)
			if r.Signed() || r.Signature() != nil {
				t.Error("record still signed after change")
			}
			if r.Seq() != s.wantSeq {
				t.Errorf("seq %d, want %d", r.Seq(), s.wantSeq)
			}
			if _, err := r.MarshalBinary(); !errors.Is(err, ErrUnsigned) {
				t.Errorf("MarshalBinary after change: %v, want ErrUnsigned", err)
			}
			if err := r.Verify(); !errors.Is(err, ErrUnsigned) {
				t.Errorf("Verify after change: %v, want ErrUnsigned", err)
			}
		})
	}
	t.Run("DeleteMissing", func(t *testing.T) {
		r := signedRecord(t, UDP(1))
		seq := r.Seq()
		r.Delete("tcp")
		if !r.Signed() || r.Seq() != seq {
			t.Error("deleting a missing key changed the record")
		}
	})
}

func TestResignUnchanged(t *testing.T) {
	r := signedRecord(t, UDP(30303))
	enc1, _ := r.MarshalBinary()
	if err := SignV4(r, testKey(t)); err != nil {
		t.Fatal(err)
	}
	enc2, _ := r.MarshalBinary()
	if r.Seq() != 0 || !bytes.Equal(enc1, enc2) {
		t.Errorf("re-signing unchanged record: seq %d, same bytes %v", r.Seq(), bytes.Equal(enc1, enc2))
	}
	other, _ := crypto.GenerateKey()
	if err := SignV4(r, other); err != nil {
		t.Fatal(err)
	}
	if r.Seq() != 1 {
		t.Errorf("signing with another key: seq %d, want 1", r.Seq())
	}
}

func TestRecordCopiesAreIndependent(t *testing.T) {
	r := signedRecord(t, UDP(30303), TCP(30303))
	cpy := *r
	cpy.Set(UDP(1))
	cpy.Delete("tcp")
	var udp UDP
	if err := r.Load(&udp); err != nil || udp != 30303 || !r.Has("tcp") || !r.Signed() {
		t.Fatalf("original changed through a copy: udp %d, keys %q", udp, r.Keys())
	}
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestSignTooBig(t *testing.T) {
	var r Record
	r.Set(RawEntry{Key: "big", Value: mustEncode(t, make([]byte, 200))})
	before := r.String()
	if err := SignV4(&r, testKey(t)); !errors.Is(err, ErrTooBig) {
		t.Fatalf("SignV4: %v, want ErrTooBig", err)
	}
	if r.String() != before || r.Signed() {
		t.Fatal("failed SignV4 modified the record")
	}
	// Just below the limit signs fine.
	var ok Record
	ok.Set(RawEntry{Key: "big", Value: mustEncode(t, make([]byte, 100))})
	if err := SignV4(&ok, testKey(t)); err != nil || ok.Size() > SizeLimit {
		t.Fatalf("SignV4: %v, size %d", err, ok.Size())
	}
}

func TestUnsignedText(t *testing.T) {
	var r Record
	r.Set(UDP(30303))
	if _, err := r.MarshalText(); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("MarshalText: %v", err)
	}
	if err := r.EncodeRLP(&bytes.Buffer{}); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("EncodeRLP: %v", err)
	}
	// String still shows the content, with an empty signature.
	dec, err := ParseText(r.String())
	if err != nil {
		t.Fatal(err)
	}
	if !dec.Signed() || len(dec.Signature()) != 0 || !slices.Equal(dec.Keys(), []string{"udp"}) {
		t.Fatalf("decoded %v", dec.Keys())
	}
	if err := dec.Verify(); !errors.Is(err, ErrMissingScheme) {
		t.Fatalf("Verify: %v", err)
	}
	if r.Size() != len(mustBinary(t, dec)) {
		t.Fatalf("Size %d, encoding %d", r.Size(), len(mustBinary(t, dec)))
	}
}

func TestEntries(t *testing.T) {
	var r Record
	ip4 := netip.MustParseAddr("203.0.113.9")
	ip6 := netip.MustParseAddr("2001:db8::1")
	r.Set(IPv4(ip4))
	r.Set(IPv6(ip6))
	r.Set(TCP6(1))
	r.Set(UDP6(2))
	r.Set(QUIC(3))
	r.Set(QUIC6(4))
	r.Set(Generic{Key: "gen", Value: []uint{1, 2}})
	r.Set(RawEntry{Key: "eth", Value: rlp.RawValue{0xC7, 0xC6, 0x84, 1, 2, 3, 4, 0x80}})

	var (
		gip4  IPv4
		gip6  IPv6
		tcp6  TCP6
		udp6  UDP6
		quic  QUIC
		quic6 QUIC6
		gen   []uint
		eth   RawEntry
	)
	eth.Key = "eth"
	for _, e := range []Entry{&gip4, &gip6, &tcp6, &udp6, &quic, &quic6, Generic{Key: "gen", Value: &gen}, &eth} {
		if err := r.Load(e); err != nil {
			t.Fatalf("Load %s: %v", e.ENRKey(), err)
		}
	}
	if netip.Addr(gip4) != ip4 || netip.Addr(gip6) != ip6 || tcp6 != 1 || udp6 != 2 || quic != 3 || quic6 != 4 {
		t.Error("loaded values differ")
	}
	if !slices.Equal(gen, []uint{1, 2}) || !bytes.Equal(eth.Value, []byte{0xC7, 0xC6, 0x84, 1, 2, 3, 4, 0x80}) {
		t.Errorf("gen %v eth %x", gen, eth.Value)
	}

	if e := IPEntry(netip.MustParseAddr("::ffff:1.2.3.4")); e.ENRKey() != "ip" || netip.Addr(e.(IPv4)) != netip.MustParseAddr("1.2.3.4") {
		t.Errorf("IPEntry(4in6) = %#v", e)
	}
	if e := IPEntry(netip.MustParseAddr("fe80::1%eth0")); e.ENRKey() != "ip6" || netip.Addr(e.(IPv6)).Zone() != "" {
		t.Errorf("IPEntry(zoned) = %#v", e)
	}
	if IPEntry(netip.Addr{}) != nil {
		t.Error("IPEntry(invalid) != nil")
	}
}

func TestSetPanicsOnBadEntry(t *testing.T) {
	for _, e := range []Entry{
		IPv4(netip.MustParseAddr("::1")),
		IPv6(netip.MustParseAddr("1.2.3.4")),
		IPv4(netip.Addr{}),
		RawEntry{Key: "x", Value: []byte{0x82, 1}},
		RawEntry{Key: "x", Value: []byte{1, 2}},
		Generic{Key: "x", Value: func() {}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Set(%#v) did not panic", e)
				}
			}()
			var r Record
			r.Set(e)
		}()
	}
}

func TestLoadInvalidValues(t *testing.T) {
	tests := []struct {
		key   string
		value []byte
		entry Entry
		want  error
	}{
		{"ip", []byte{0x83, 1, 2, 3}, new(IPv4), ErrInvalidValue},
		{"ip", []byte{0xC4, 1, 2, 3, 4}, new(IPv4), rlp.ErrExpectedString},
		{"ip6", []byte{0x84, 1, 2, 3, 4}, new(IPv6), ErrInvalidValue},
		{"udp", []byte{0x83, 1, 0, 0}, new(UDP), ErrInvalidValue},
		{"udp", []byte{0x82, 0, 1}, new(UDP), rlp.ErrCanonInt},
		{"udp", []byte{0x81, 5}, new(UDP), rlp.ErrCanonSize},
		{"tcp", []byte{0xC0}, new(TCP), rlp.ErrExpectedString},
		{"id", []byte{0xC0}, new(ID), rlp.ErrExpectedString},
		{"secp256k1", append([]byte{0xA1, 0x05}, make([]byte, 32)...), new(Secp256k1), ErrInvalidPubkey},
		{"secp256k1", []byte{0x82, 2, 3}, new(Secp256k1), ErrInvalidPubkey},
	}
	for _, tt := range tests {
		var r Record
		r.setRaw(tt.key, tt.value)
		err := r.Load(tt.entry)
		var ke *KeyError
		if !errors.Is(err, tt.want) || !errors.As(err, &ke) || ke.Key != tt.key || IsNotFound(err) {
			t.Errorf("Load %s from %x: %v, want %v in a KeyError", tt.key, tt.value, err, tt.want)
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	key := testKey(t)
	resign := func(mod func(r *Record)) *Record {
		r := signedRecord(t, UDP(30303))
		raw := mustBinary(t, r)
		var dec Record
		if err := dec.UnmarshalBinary(raw); err != nil {
			t.Fatal(err)
		}
		mod(&dec)
		return &dec
	}
	// withSig re-encodes a record's content with an arbitrary signature.
	withSig := func(r *Record, sig []byte) *Record {
		var dec Record
		if err := dec.UnmarshalBinary(r.encodeUnchecked(sig)); err != nil {
			t.Fatal(err)
		}
		return &dec
	}
	base := signedRecord(t, UDP(30303))
	sig := base.Signature()
	highS := highSSig(sig)
	flipped := bytes.Clone(sig)
	flipped[10] ^= 1

	var noID Record
	noID.Set(Secp256k1(*key.PubKey()))
	var otherID Record
	otherID.Set(ID("v5"))
	var noKey Record
	noKey.Set(IDv4)
	var badKey Record
	badKey.Set(IDv4)
	badKey.setRaw("secp256k1", []byte{0x82, 2, 3})

	tests := []struct {
		name string
		r    *Record
		want error
	}{
		{"unsigned", &Record{}, ErrUnsigned},
		{"missing id", withSig(&noID, sig), ErrMissingScheme},
		{"unknown id", withSig(&otherID, sig), ErrUnknownScheme},
		{"missing key", withSig(&noKey, sig), ErrNotFound},
		{"invalid key", withSig(&badKey, sig), ErrInvalidPubkey},
		{"empty signature", withSig(base, []byte{}), ErrInvalidSig},
		{"short signature", withSig(base, sig[:63]), ErrInvalidSig},
		{"long signature", withSig(base, append(bytes.Clone(sig), 0)), ErrInvalidSig},
		{"flipped bit", withSig(base, flipped), ErrInvalidSig},
		{"high S", withSig(base, highS), ErrInvalidSig},
		{"other seq", resign(func(r *Record) { *r = *withSig(withSeq(r, 9), sig) }), ErrInvalidSig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.r.Verify(); !errors.Is(err, tt.want) {
				t.Errorf("Verify: %v, want %v", err, tt.want)
			}
			if _, err := VerifyV4(tt.r); !errors.Is(err, tt.want) {
				t.Errorf("VerifyV4: %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := VerifyV4(withSig(base, sig)); err != nil {
		t.Errorf("VerifyV4 of a valid record: %v", err)
	}
}

func withSeq(r *Record, seq uint64) *Record {
	cpy := *r
	cpy.SetSeq(seq)
	return &cpy
}

// highSSig returns the other valid signature (R, N-S) of the same digest,
// which v4 verification must reject as malleable.
func highSSig(sig []byte) []byte {
	out := bytes.Clone(sig)
	// N-S computed with big-endian subtraction.
	n := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
		0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
	}
	borrow := 0
	for i := 31; i >= 0; i-- {
		d := int(n[i]) - int(sig[32+i]) - borrow
		borrow = 0
		if d < 0 {
			d += 256
			borrow = 1
		}
		out[32+i] = byte(d)
	}
	return out
}

func TestSetSig(t *testing.T) {
	var r Record
	r.Set(ID("test"))
	if err := r.SetSig(acceptAll{}, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if !r.Signed() || !bytes.Equal(r.Signature(), []byte{1, 2, 3}) {
		t.Fatalf("signature %x", r.Signature())
	}
	if err := r.VerifySignature(SchemeMap{"test": acceptAll{}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(); !errors.Is(err, ErrUnknownScheme) {
		t.Fatalf("Verify with default schemes: %v", err)
	}
	var dec Record
	if err := dec.UnmarshalBinary(mustBinary(t, &r)); err != nil || !bytes.Equal(dec.Signature(), []byte{1, 2, 3}) {
		t.Fatalf("round trip: %v", err)
	}
	if err := r.SetSig(nil, nil); err != nil || r.Signed() {
		t.Fatalf("SetSig(nil, nil): %v, signed %v", err, r.Signed())
	}
	if err := r.SetSig(V4ID{}, make([]byte, 64)); err == nil {
		t.Fatal("SetSig accepted an invalid v4 signature")
	}
	r.Set(RawEntry{Key: "big", Value: mustEncode(t, make([]byte, 300))})
	if err := r.SetSig(acceptAll{}, []byte{}); !errors.Is(err, ErrTooBig) {
		t.Fatalf("SetSig of a big record: %v", err)
	}
}

type acceptAll struct{}

func (acceptAll) Verify(*Record, []byte) error { return nil }
func (acceptAll) NodeAddr(*Record) []byte      { return make([]byte, 32) }

func TestDecodeStream(t *testing.T) {
	r := signedRecord(t, UDP(30303), TCP(30303))
	raw := mustBinary(t, r)
	// A record inside a list, as discovery packets carry them.
	msg := mustEncode(t, []any{uint(7), rlp.RawValue(raw), "tail"})
	var dec struct {
		N    uint
		R    Record
		Tail string
	}
	if err := rlp.DecodeBytes(msg, &dec); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustBinary(t, &dec.R), raw) || dec.Tail != "tail" {
		t.Fatal("record in a list did not round-trip")
	}
	if err := dec.R.Verify(); err != nil {
		t.Fatal(err)
	}
	// An oversized record is refused before its bytes are read.
	big := append([]byte{0xF9, 0x01, 0x2D}, make([]byte, 301)...)
	var r2 Record
	if err := rlp.DecodeBytes(big, &r2); !errors.Is(err, ErrTooBig) {
		t.Fatalf("oversized record from a stream: %v", err)
	}
}

func mustEncode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := rlp.EncodeToBytes(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustBinary(t testing.TB, r *Record) []byte {
	t.Helper()
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeyErrorMessages(t *testing.T) {
	var r Record
	err := r.Load(new(TCP))
	if !strings.Contains(err.Error(), `missing key "tcp"`) {
		t.Errorf("message %q", err)
	}
	r.setRaw("tcp", []byte{0xC0})
	if err := r.Load(new(TCP)); !strings.Contains(err.Error(), `key "tcp"`) {
		t.Errorf("message %q", err)
	}
}

func TestDecodeRecordList(t *testing.T) {
	a := mustBinary(t, signedRecord(t, UDP(1)))
	b := mustBinary(t, signedRecord(t, UDP(2)))
	var recs []Record
	if err := rlp.DecodeBytes(list(a, b), &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || !bytes.Equal(mustBinary(t, &recs[1]), b) {
		t.Fatalf("decoded %d records", len(recs))
	}
	var empty []Record
	if err := rlp.DecodeBytes(list(), &empty); err != nil || len(empty) != 0 {
		t.Fatalf("empty list: %v", err)
	}
}

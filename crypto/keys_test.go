package crypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// go-ethereum's crypto test key and the address derived from it.
const (
	testPrivHex = "289c2857d4598e37fb9647507e47a309d6133539bf21a8b9cb6df88fd5232032"
	testAddrHex = "970e8128ab834e8eac17ab8e3812f010678cf791"
)

// Group order N and field prime P of secp256k1.
const (
	hexN = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
	hexP = "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testRand is a deterministic entropy source for key generation in tests.
func testRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return rand.NewChaCha8(s)
}

func TestKnownKeyAddress(t *testing.T) {
	k, err := HexToPrivateKey(testPrivHex)
	if err != nil {
		t.Fatal(err)
	}
	pub := MarshalPubkey(k.PubKey())
	if len(pub) != PubkeyLength || pub[0] != 4 {
		t.Fatalf("bad marshalled pubkey %x", pub)
	}
	addr := Keccak256(pub[1:])[12:]
	if got := hex.EncodeToString(addr); got != testAddrHex {
		t.Fatalf("address %s, want %s", got, testAddrHex)
	}
	if got := hex.EncodeToString(FromPrivateKey(k)); got != testPrivHex {
		t.Fatalf("FromPrivateKey %s, want %s", got, testPrivHex)
	}
}

func TestToPrivateKey(t *testing.T) {
	nMinus1 := mustHex(t, hexN)
	nMinus1[31]--
	one := make([]byte, 32)
	one[31] = 1
	for _, ok := range [][]byte{one, nMinus1, mustHex(t, testPrivHex)} {
		k, err := ToPrivateKey(ok)
		if err != nil {
			t.Fatalf("ToPrivateKey(%x): %v", ok, err)
		}
		if !bytes.Equal(FromPrivateKey(k), ok) {
			t.Fatalf("round trip of %x gave %x", ok, FromPrivateKey(k))
		}
	}
	bad := map[string][]byte{
		"nil":      nil,
		"short":    make([]byte, 31),
		"long":     make([]byte, 33),
		"zero":     make([]byte, 32),
		"N":        mustHex(t, hexN),
		"all ones": bytes.Repeat([]byte{0xff}, 32),
		"N+1":      func() []byte { b := mustHex(t, hexN); b[31]++; return b }(),
	}
	for name, b := range bad {
		if _, err := ToPrivateKey(b); !errors.Is(err, ErrInvalidPrivateKey) {
			t.Errorf("%s: err = %v, want ErrInvalidPrivateKey", name, err)
		}
	}
}

func TestHexToPrivateKey(t *testing.T) {
	bad := []string{"", "0x" + testPrivHex, testPrivHex[:62], testPrivHex + "00", strings.Repeat("g", 64), strings.Repeat("0", 64), hexN}
	for _, s := range bad {
		if _, err := HexToPrivateKey(s); !errors.Is(err, ErrInvalidPrivateKey) {
			t.Errorf("HexToPrivateKey(%q): err = %v, want ErrInvalidPrivateKey", s, err)
		}
	}
	if _, err := HexToPrivateKey(strings.ToUpper(testPrivHex)); err != nil {
		t.Errorf("upper-case hex rejected: %v", err)
	}
}

func TestGenerateKeyFrom(t *testing.T) {
	a, err := GenerateKeyFrom(testRand(1))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenerateKeyFrom(testRand(1))
	c, _ := GenerateKeyFrom(testRand(2))
	if !a.Key.Equals(&b.Key) || a.Key.Equals(&c.Key) {
		t.Fatal("GenerateKeyFrom is not a function of its entropy")
	}
	if _, err := GenerateKeyFrom(bytes.NewReader(make([]byte, 5))); err == nil {
		t.Fatal("short entropy accepted")
	}
	if _, err := GenerateKey(); err != nil {
		t.Fatal(err)
	}
}

func TestPubkeyRoundTrip(t *testing.T) {
	r := testRand(3)
	for i := 0; i < 50; i++ {
		k, _ := GenerateKeyFrom(r)
		p := k.PubKey()
		u := MarshalPubkey(p)
		p2, err := UnmarshalPubkey(u)
		if err != nil || !p2.IsEqual(p) {
			t.Fatalf("UnmarshalPubkey(%x) = %v, %v", u, p2, err)
		}
		c := CompressPubkey(p)
		if len(c) != CompressedPubkeyLength || c[0] != 2+u[64]&1 || !bytes.Equal(c[1:], u[1:33]) {
			t.Fatalf("CompressPubkey = %x for %x", c, u)
		}
		p3, err := DecompressPubkey(c)
		if err != nil || !p3.IsEqual(p) {
			t.Fatalf("DecompressPubkey(%x) = %v, %v", c, p3, err)
		}
	}
}

func TestUnmarshalPubkeyInvalid(t *testing.T) {
	good := MarshalPubkey(mustKey(t).PubKey())
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	p := mustHex(t, hexP)
	cases := map[string][]byte{
		"nil":        nil,
		"short":      good[:64],
		"long":       append(bytes.Clone(good), 0),
		"compressed": CompressPubkey(mustKey(t).PubKey()),
		"prefix 00":  mod(func(b []byte) []byte { b[0] = 0; return b }),
		"prefix 02":  mod(func(b []byte) []byte { b[0] = 2; return b }),
		// A hybrid encoding of a valid point: secp256k1.ParsePubKey takes it,
		// go-ethereum does not.
		"hybrid":       mod(func(b []byte) []byte { b[0] = 6 + b[64]&1; return b }),
		"off curve":    mod(func(b []byte) []byte { b[64] ^= 1; return b }),
		"X = P":        mod(func(b []byte) []byte { copy(b[1:], p); return b }),
		"Y = P":        mod(func(b []byte) []byte { copy(b[33:], p); return b }),
		"infinity":     append([]byte{4}, make([]byte, 64)...),
		"all ones":     bytes.Repeat([]byte{0xff}, 65),
		"prefix only":  {4},
		"X+P aliasing": mod(func(b []byte) []byte { copy(b[33:], p); b[64] = 0x30; return b }),
	}
	for name, b := range cases {
		if _, err := UnmarshalPubkey(b); !errors.Is(err, ErrInvalidPubkey) {
			t.Errorf("%s: err = %v, want ErrInvalidPubkey", name, err)
		}
	}
}

func TestDecompressPubkeyInvalid(t *testing.T) {
	good := CompressPubkey(mustKey(t).PubKey())
	cases := map[string][]byte{
		"nil":          nil,
		"short":        good[:32],
		"long":         append(bytes.Clone(good), 0),
		"uncompressed": MarshalPubkey(mustKey(t).PubKey()),
		"prefix 04":    append([]byte{4}, good[1:]...),
		"prefix 00":    append([]byte{0}, good[1:]...),
		"X = P":        append([]byte{2}, mustHex(t, hexP)...),
		// x = 5: 5^3+7 = 132 is not a square mod P.
		"no point": append([]byte{2}, mustHex(t, "0000000000000000000000000000000000000000000000000000000000000005")...),
	}
	for name, b := range cases {
		if _, err := DecompressPubkey(b); !errors.Is(err, ErrInvalidPubkey) {
			t.Errorf("%s: err = %v, want ErrInvalidPubkey", name, err)
		}
	}
}

func mustKey(t testing.TB) *PrivateKey {
	t.Helper()
	k, err := HexToPrivateKey(testPrivHex)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

package keccak

import (
	"bytes"
	"encoding"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/sha3"
)

func TestKnownDigests(t *testing.T) { bothSponges(t, testKnownDigests) }

func testKnownDigests(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
		{"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
	} {
		got := Sum256([]byte(tc.in))
		if hex.EncodeToString(got[:]) != tc.want {
			t.Errorf("Keccak256(%q) = %x, want %s", tc.in, got, tc.want)
		}
	}
}

// TestAgainstXCrypto feeds both implementations the same writes, cut at
// random points so every alignment of the lane path is exercised, and
// compares intermediate digests.
func TestAgainstXCrypto(t *testing.T) { bothSponges(t, testAgainstXCrypto) }

func testAgainstXCrypto(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		var mine State
		ref := sha3.NewLegacyKeccak256()
		for w := 0; w < 12; w++ {
			p := make([]byte, rng.IntN(400))
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			mine.Write(p)
			ref.Write(p)
			if got, want := mine.Sum(nil), ref.Sum(nil); !bytes.Equal(got, want) {
				t.Fatalf("iter %d write %d: digest %x, want %x", iter, w, got, want)
			}
		}
	}
}

func TestMarshalInterop(t *testing.T) { bothSponges(t, testMarshalInterop) }

func testMarshalInterop(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 50; iter++ {
		p := make([]byte, rng.IntN(1000))
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		ref := sha3.NewLegacyKeccak256()
		ref.Write(p)
		enc, err := ref.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var s State
		if err := s.UnmarshalBinary(enc); err != nil {
			t.Fatalf("importing x/crypto state: %v", err)
		}
		if !bytes.Equal(s.Sum(nil), ref.Sum(nil)) {
			t.Fatal("imported state digests differently")
		}
		mine, _ := s.MarshalBinary()
		if !bytes.Equal(mine, enc) {
			t.Fatal("re-serialised state differs from x/crypto's")
		}
		back := sha3.NewLegacyKeccak256()
		if err := back.(encoding.BinaryUnmarshaler).UnmarshalBinary(mine); err != nil {
			t.Fatalf("x/crypto rejects our state: %v", err)
		}
	}
}

func TestUnmarshalRejects(t *testing.T) { bothSponges(t, testUnmarshalRejects) }

func testUnmarshalRejects(t *testing.T) {
	var s State
	good, _ := s.MarshalBinary()
	for name, mutate := range map[string]func([]byte) []byte{
		"short":     func(b []byte) []byte { return b[:len(b)-1] },
		"magic":     func(b []byte) []byte { b[3] = 0x08; return b },
		"rate":      func(b []byte) []byte { b[4] = 72; return b },
		"n":         func(b []byte) []byte { b[len(b)-2] = Rate; return b },
		"squeezing": func(b []byte) []byte { b[len(b)-1] = 1; return b },
	} {
		b := mutate(bytes.Clone(good))
		if err := s.UnmarshalBinary(b); err != ErrInvalidState {
			t.Errorf("%s: err = %v, want ErrInvalidState", name, err)
		}
	}
}

func TestSumDoesNotAllocate(t *testing.T) { bothSponges(t, testSumDoesNotAllocate) }

func testSumDoesNotAllocate(t *testing.T) {
	var s State
	var out [Size]byte
	buf := make([]byte, 1040)
	if n := testing.AllocsPerRun(100, func() {
		s.Write(buf)
		s.Sum256(&out)
	}); n != 0 {
		t.Fatalf("Write+Sum256 allocates %v times", n)
	}
}

// bothSponges runs a test with the crypto/sha3 sponge and with the Go
// one, the Go one on each permutation: the generated Go and, where the
// CPU has it, the assembly.
func bothSponges(t *testing.T, test func(t *testing.T)) {
	savedStd, savedAsm := useStd, useAsm
	defer func() { useStd, useAsm = savedStd, savedAsm }()
	if !stdOK {
		t.Log("crypto/sha3 route unavailable; testing the Go sponge only")
	}
	if stdOK {
		useStd = true
		t.Run("std", test)
	}
	useStd, useAsm = false, false
	t.Run("go", test)
	if asmOK {
		useAsm = true
		t.Run("asm", test)
	}
}

func TestStdRouteAvailable(t *testing.T) {
	if !stdOK {
		t.Fatal("the crypto/sha3 self-test failed; without the assembly permutation, rlpx falls back to the slower Go one")
	}
	if useStd == asmOK {
		t.Fatalf("useStd %v with an assembly permutation %v: the assembly is the faster", useStd, asmOK)
	}
}

func FuzzAgainstXCrypto(f *testing.F) {
	f.Add([]byte("abc"), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		c := int(cut) % (len(data) + 1)
		var s State
		ref := sha3.NewLegacyKeccak256()
		s.Write(data[:c])
		ref.Write(data[:c])
		s.Write(data[c:])
		ref.Write(data[c:])
		if !bytes.Equal(s.Sum(nil), ref.Sum(nil)) {
			t.Fatal("digest mismatch")
		}
	})
}

func BenchmarkWrite64KGo(b *testing.B) {
	savedStd, savedAsm := useStd, useAsm
	useStd, useAsm = false, false
	defer func() { useStd, useAsm = savedStd, savedAsm }()
	BenchmarkWrite64K(b)
}

func BenchmarkWrite64KStd(b *testing.B) {
	if !stdOK {
		b.Skip("crypto/sha3 route unavailable")
	}
	saved := useStd
	useStd = true
	defer func() { useStd = saved }()
	BenchmarkWrite64K(b)
}

// BenchmarkWrite64K absorbs on the route the package chose.
func BenchmarkWrite64K(b *testing.B) {
	var s State
	buf := make([]byte, 65536)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		s.Write(buf)
	}
}

func BenchmarkXCryptoWrite64K(b *testing.B) {
	h := sha3.NewLegacyKeccak256()
	buf := make([]byte, 65536)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		h.Write(buf)
	}
}

func BenchmarkSum256State(b *testing.B) {
	var s State
	var out [Size]byte
	for b.Loop() {
		s.Sum256(&out)
	}
}

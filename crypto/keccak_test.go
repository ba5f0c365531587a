package crypto

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/crypto/sha3"
)

func TestKeccak256Vectors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
		{"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
		{"The quick brown fox jumps over the lazy dog", "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(Keccak256([]byte(tt.in))); got != tt.want {
			t.Errorf("Keccak256(%q) = %s, want %s", tt.in, got, tt.want)
		}
		h := Keccak256Hash([]byte(tt.in))
		if got := hex.EncodeToString(h[:]); got != tt.want {
			t.Errorf("Keccak256Hash(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func refKeccak(data []byte) []byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(data)
	return h.Sum(nil)
}

func randBytes(r *rand.ChaCha8, n int) []byte {
	b := make([]byte, n)
	r.Read(b)
	return b
}

// TestKeccakAgainstXCrypto compares with golang.org/x/crypto's legacy Keccak
// across lengths that straddle every block boundary up to four blocks, and
// some long inputs.
func TestKeccakAgainstXCrypto(t *testing.T) {
	r := testRand(10)
	lengths := []int{1 << 16, 1<<20 + 7}
	for n := 0; n <= 4*136+1; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		data := randBytes(r, n)
		if got, want := Keccak256(data), refKeccak(data); !bytes.Equal(got, want) {
			t.Fatalf("length %d: %x, want %x", n, got, want)
		}
	}
}

// TestKeccakWriteSplits feeds the same input in every two-piece split and in
// random multi-piece splits: the digest must not depend on how it was cut.
func TestKeccakWriteSplits(t *testing.T) {
	r := testRand(11)
	for _, n := range []int{0, 1, 7, 8, 9, 135, 136, 137, 271, 272, 273, 300} {
		data := randBytes(r, n)
		want := refKeccak(data)
		for i := 0; i <= n; i++ {
			for _, j := range []int{i, (i + n) / 2, n} {
				d := NewKeccak256()
				d.Write(data[:i])
				d.Write(data[i:j])
				d.Write(data[j:])
				if got := d.Sum(nil); !bytes.Equal(got, want) {
					t.Fatalf("n=%d split %d/%d: %x, want %x", n, i, j, got, want)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		data := randBytes(r, rng.IntN(2000))
		d := NewKeccak256()
		for rest := data; len(rest) > 0; {
			k := min(len(rest), rng.IntN(300))
			d.Write(rest[:k])
			rest = rest[k:]
		}
		if got, want := d.Sum(nil), refKeccak(data); !bytes.Equal(got, want) {
			t.Fatalf("random split of %d bytes: %x, want %x", len(data), got, want)
		}
	}
}

// TestKeccakSumKeepsState interleaves Sum with Write, as the RLPx MAC does.
func TestKeccakSumKeepsState(t *testing.T) {
	r := testRand(12)
	d := NewKeccak256()
	var all []byte
	for i := 0; i < 50; i++ {
		chunk := randBytes(r, i*7)
		d.Write(chunk)
		all = append(all, chunk...)
		prefix := []byte("prefix")
		got := d.Sum(prefix)
		if !bytes.Equal(got[:6], prefix) || !bytes.Equal(got[6:], refKeccak(all)) {
			t.Fatalf("step %d: Sum = %x", i, got)
		}
		if again := d.Sum(nil); !bytes.Equal(again, got[6:]) {
			t.Fatalf("step %d: second Sum differs", i)
		}
	}
	if d.Size() != 32 || d.BlockSize() != 136 {
		t.Fatalf("Size %d BlockSize %d", d.Size(), d.BlockSize())
	}
	d.Reset()
	if got := d.Sum(nil); !bytes.Equal(got, refKeccak(nil)) {
		t.Fatalf("after Reset: %x", got)
	}
}

// TestKeccakRead checks squeezing: any chunking of Read yields the same
// stream as x/crypto's, the first 32 bytes are the digest, and Read then
// Reset gives a fresh sponge.
func TestKeccakRead(t *testing.T) {
	r := testRand(13)
	for _, n := range []int{0, 5, 135, 136, 500} {
		data := randBytes(r, n)
		ref := sha3.NewLegacyKeccak256()
		ref.Write(data)
		want := make([]byte, 1000)
		ref.(interface{ Read([]byte) (int, error) }).Read(want)
		if !bytes.Equal(want[:32], refKeccak(data)) {
			t.Fatal("reference squeeze does not start with the digest")
		}
		for _, chunk := range []int{1, 3, 8, 13, 32, 136, 137, 1000} {
			d := NewKeccak256()
			d.Write(data)
			var got []byte
			for len(got) < len(want) {
				buf := make([]byte, min(chunk, len(want)-len(got)))
				if k, err := d.Read(buf); k != len(buf) || err != nil {
					t.Fatalf("Read = %d, %v", k, err)
				}
				got = append(got, buf...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("n=%d chunk=%d: squeezed stream differs", n, chunk)
			}
		}
	}
	d := NewKeccak256()
	d.Write([]byte("abc"))
	d.Read(make([]byte, 10))
	mustPanic(t, "Write after Read", func() { d.Write([]byte("x")) })
	mustPanic(t, "Sum after Read", func() { d.Sum(nil) })
	d.Reset()
	d.Write([]byte("abc"))
	if got := d.Sum(nil); !bytes.Equal(got, refKeccak([]byte("abc"))) {
		t.Fatal("Reset after Read does not restart")
	}
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

func TestKeccakVariadic(t *testing.T) {
	parts := [][]byte{[]byte("a"), nil, []byte(strings.Repeat("b", 200)), []byte("c")}
	if got, want := Keccak256(parts...), refKeccak(bytes.Join(parts, nil)); !bytes.Equal(got, want) {
		t.Fatalf("Keccak256(parts...) = %x, want %x", got, want)
	}
}

func TestKeccakAllocations(t *testing.T) {
	data := make([]byte, 300)
	if n := testing.AllocsPerRun(100, func() { Keccak256Hash(data, data) }); n != 0 {
		t.Errorf("Keccak256Hash allocates %v times", n)
	}
	d := NewKeccak256()
	buf := make([]byte, 0, 32)
	if n := testing.AllocsPerRun(100, func() { d.Write(data); buf = d.Sum(buf[:0]) }); n != 0 {
		t.Errorf("Write+Sum allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { Keccak256(data) }); n > 1 {
		t.Errorf("Keccak256 allocates %v times", n)
	}
}

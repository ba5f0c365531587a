package keccak

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/sha3"
)

// TestPermuteZero checks the permutation alone: Keccak-f[1600] of the
// all-zero state, as published in the Keccak team's intermediate values.
func TestPermuteZero(t *testing.T) {
	var a [25]uint64
	permute(&a)
	if a[0] != 0xF1258F7940E1DDE7 || a[1] != 0x84D5CCF933C0478A || a[24] != 0xEAF1FF7B5CECA249 {
		t.Fatalf("f(0) = %016X %016X ... %016X", a[0], a[1], a[24])
	}
}

func refKeccak(data []byte) []byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(data)
	return h.Sum(nil)
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestOneShotLengths compares the one-shot Sum256 with x/crypto at every
// length across four blocks (so on both sides of oneShotStdMin) and some
// long inputs, whole and cut into parts.
func TestOneShotLengths(t *testing.T) { bothSponges(t, testOneShotLengths) }

func testOneShotLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	lengths := []int{1 << 16, 1<<20 + 7}
	for n := 0; n <= 5*Rate+1; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		data := randBytes(r, n)
		want := refKeccak(data)
		if got := Sum256(data); !bytes.Equal(got[:], want) {
			t.Fatalf("length %d: %x, want %x", n, got, want)
		}
		c := n / 3
		if got := Sum256(data[:c], nil, data[c:2*c], data[2*c:]); !bytes.Equal(got[:], want) {
			t.Fatalf("length %d in parts: %x, want %x", n, got, want)
		}
	}
}

// TestWriteSplits feeds the same input in every two- and three-piece split:
// the digest must not depend on how it was cut.
func TestWriteSplits(t *testing.T) { bothSponges(t, testWriteSplits) }

func testWriteSplits(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	for _, n := range []int{0, 1, 7, 8, 9, 135, 136, 137, 271, 272, 273, 300} {
		data := randBytes(r, n)
		want := refKeccak(data)
		for i := 0; i <= n; i++ {
			for _, j := range []int{i, (i + n) / 2, n} {
				var s State
				s.Write(data[:i])
				s.Write(data[i:j])
				s.Write(data[j:])
				if got := s.Sum(nil); !bytes.Equal(got, want) {
					t.Fatalf("n=%d split %d/%d: %x, want %x", n, i, j, got, want)
				}
			}
		}
	}
}

// TestRead checks squeezing: any chunking of Read yields x/crypto's output
// stream, whose first 32 bytes are the digest; Write and Sum then panic,
// and Reset gives a fresh sponge.
func TestRead(t *testing.T) { bothSponges(t, testRead) }

func testRead(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	for _, n := range []int{0, 5, 135, 136, 500} {
		data := randBytes(r, n)
		ref := sha3.NewLegacyKeccak256()
		ref.Write(data)
		want := make([]byte, 1000)
		ref.(interface{ Read([]byte) (int, error) }).Read(want)
		for _, chunk := range []int{1, 3, 8, 13, 32, 136, 137, 1000} {
			var s State
			s.Write(data)
			var got []byte
			for len(got) < len(want) {
				buf := make([]byte, min(chunk, len(want)-len(got)))
				if k, err := s.Read(buf); k != len(buf) || err != nil {
					t.Fatalf("Read = %d, %v", k, err)
				}
				got = append(got, buf...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("n=%d chunk=%d: squeezed stream differs", n, chunk)
			}
		}
	}
	var s State
	s.Write([]byte("abc"))
	s.Read(make([]byte, 10))
	mustPanic(t, "Write after Read", func() { s.Write([]byte("x")) })
	mustPanic(t, "Sum after Read", func() { s.Sum(nil) })
	if _, err := s.MarshalBinary(); err != ErrInvalidState {
		t.Errorf("MarshalBinary after Read: err = %v, want ErrInvalidState", err)
	}
	s.Reset()
	s.Write([]byte("abc"))
	if got := s.Sum(nil); !bytes.Equal(got, refKeccak([]byte("abc"))) {
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

func TestOneShotDoesNotAllocate(t *testing.T) { bothSponges(t, testOneShotDoesNotAllocate) }

func testOneShotDoesNotAllocate(t *testing.T) {
	for _, n := range []int{32, 2000} {
		data := make([]byte, n)
		if a := testing.AllocsPerRun(100, func() { Sum256(data, data) }); a != 0 {
			t.Errorf("Sum256 of %d bytes allocates %v times", 2*n, a)
		}
	}
}

func BenchmarkPermute(b *testing.B) {
	var a [25]uint64
	b.SetBytes(Rate)
	for b.Loop() {
		permute(&a)
	}
}

// BenchmarkSum256OneShot measures both routes of the one-shot Sum256 per
// input size; oneShotStdMin is where the std route starts to win.
func BenchmarkSum256OneShot(b *testing.B) {
	for _, n := range []int{32, 64, 136, 272, 544, 1024, 4096} {
		data := make([]byte, n)
		b.Run(sizeName(n)+"/go", func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				var g goSponge
				var out [Size]byte
				g.write(data)
				g.sum256(&out)
			}
		})
		b.Run(sizeName(n)+"/std", func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				s := sha3Template
				var out [Size]byte
				s.Write(data)
				stdSum256(&s, &out)
			}
		})
	}
}

func sizeName(n int) string {
	if n >= 1024 {
		return string(rune('0'+n/1024)) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

package keccak

import (
	"testing"
	"unsafe"
)

func TestAbsorber(t *testing.T) { bothSponges(t, testAbsorber) }

// testAbsorber feeds the same pieces to a State and an Absorber, one of
// them forked from a State halfway, and compares digests after each piece.
func testAbsorber(t *testing.T) {
	input := make([]byte, 3*Rate+7)
	for i := range input {
		input[i] = byte(i*13 + 5)
	}
	for _, step := range []int{1, 7, Rate - 1, Rate, Rate + 1, 200} {
		var s State
		var a, forked Absorber
		var want, got, gotForked [Size]byte
		for off := 0; off < len(input); off += step {
			p := input[off:min(off+step, len(input))]
			s.Write(p)
			a.Write(p)
			if off == 2*step {
				forked.Set(&s)
			} else if off > 2*step {
				forked.Write(p)
			}
			s.Sum256(&want)
			a.Sum256(&got)
			if got != want {
				t.Fatalf("step %d, %d bytes: digest %x, want %x", step, off+len(p), got, want)
			}
			if off >= 2*step {
				forked.Sum256(&gotForked)
				if gotForked != want {
					t.Fatalf("step %d, %d bytes: forked digest %x, want %x", step, off+len(p), gotForked, want)
				}
			}
		}
		if want != Sum256(input) {
			t.Fatalf("step %d: State digest differs from the one-shot digest", step)
		}
	}
	var empty Absorber
	var d [Size]byte
	empty.Sum256(&d)
	if d != Sum256() {
		t.Fatalf("empty Absorber digest %x", d)
	}
}

func TestAbsorberDoesNotAllocate(t *testing.T) { bothSponges(t, testAbsorberDoesNotAllocate) }

func testAbsorberDoesNotAllocate(t *testing.T) {
	var a Absorber
	var out [Size]byte
	buf := make([]byte, 1040)
	if n := testing.AllocsPerRun(100, func() {
		a.Write(buf)
		a.Sum256(&out)
	}); n != 0 {
		t.Fatalf("Write+Sum256 allocates %v times", n)
	}
}

func TestAbsorberSetSqueezingPanics(t *testing.T) {
	var s State
	s.Write([]byte("x"))
	s.Read(make([]byte, 1))
	defer func() {
		if recover() == nil {
			t.Fatal("Set of a squeezing State did not panic")
		}
	}()
	var a Absorber
	a.Set(&s)
}

// The point of Absorber is its size: about half a State's.
func TestAbsorberSize(t *testing.T) {
	if a, s := unsafe.Sizeof(Absorber{}), unsafe.Sizeof(State{}); a > s/2+40 {
		t.Fatalf("Absorber is %d bytes, State %d", a, s)
	}
}

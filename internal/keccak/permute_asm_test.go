//go:build amd64 && !purego

package keccak

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

func needAVX512(t testing.TB) {
	if !cpu.X86.HasAVX512F {
		t.Skip("CPU or OS lacks AVX-512F: permuteAVX512 cannot run here")
	}
}

// TestPermuteAVX512Zero checks the all-zero state, where a layout or index
// error in the assembly still shows because round constants spread through.
func TestPermuteAVX512Zero(t *testing.T) {
	needAVX512(t)
	var want, got [25]uint64
	for i := range 50 {
		permute(&want)
		permuteAVX512(&got)
		if got != want {
			t.Fatalf("application %d of f to the zero state:\ngot  %016x\nwant %016x", i+1, got, want)
		}
	}
}

func TestPermuteAVX512Random(t *testing.T) {
	needAVX512(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		var want [25]uint64
		for j := range want {
			want[j] = r.Uint64()
		}
		got := want
		in := want
		permute(&want)
		permuteAVX512(&got)
		if got != want {
			t.Fatalf("state %d: f(%016x)\ngot  %016x\nwant %016x", i, in, got, want)
		}
	}
}

// TestPermuteAVX512Lanes checks each input bit's effect apart, so that a
// wrong lane or rotation shows as one differing bit pattern.
func TestPermuteAVX512Lanes(t *testing.T) {
	needAVX512(t)
	for lane := range 25 {
		for _, bit := range []uint{0, 1, 31, 63} {
			var want [25]uint64
			want[lane] = 1 << bit
			got := want
			permute(&want)
			permuteAVX512(&got)
			if got != want {
				t.Fatalf("lane %d bit %d:\ngot  %016x\nwant %016x", lane, bit, got, want)
			}
		}
	}
}

func BenchmarkPermuteAVX512(b *testing.B) {
	needAVX512(b)
	var a [25]uint64
	b.SetBytes(Rate)
	for b.Loop() {
		permuteAVX512(&a)
	}
}

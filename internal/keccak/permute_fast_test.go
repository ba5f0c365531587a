package keccak

import (
	"math/rand/v2"
	"testing"
)

// TestPermuteFast checks the hook the sponge may use instead of permute,
// where this build and CPU set one.
func TestPermuteFast(t *testing.T) {
	if permuteFast == nil {
		t.Skip("no faster permutation for this build and CPU: permuteFast is nil")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 10000 {
		var want [25]uint64
		for j := range want {
			want[j] = r.Uint64()
		}
		got := want
		permute(&want)
		permuteFast(&got)
		if got != want {
			t.Fatalf("state %d: got %016x, want %016x", i, got, want)
		}
	}
}

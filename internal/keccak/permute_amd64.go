//go:build amd64 && !purego

package keccak

import "golang.org/x/sys/cpu"

//go:generate go run genasm.go

// permuteAsm is Keccak-f[1600] on a (lane (x, y) at a[x+5y]) with the state
// held in seven ymm registers; genasm.go explains the layout and the round.
// It needs AVX-512F and AVX-512VL (ternary logic, rotates, two-table
// permutes and blends on ymm registers, and Y16-Y31) and AVX2 (loads and
// stores of 128-bit halves).
//
//go:noescape
func permuteAsm(a *[25]uint64)

// permuteFast is a faster Keccak-f[1600] than permute, with the same
// contract, or nil where there is none.
var permuteFast = pickPermuteFast()

func pickPermuteFast() func(a *[25]uint64) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL {
		return nil
	}
	// A self-test, against the Go permutation on a state with every lane
	// distinct: should the assembly ever misbehave on some CPU or kernel,
	// the package stays correct on the slower path.
	var want, got [25]uint64
	for i := range want {
		want[i] = 0x9e3779b97f4a7c15 * uint64(i+1)
	}
	got = want
	permute(&want)
	permuteAsm(&got)
	if got != want {
		return nil
	}
	return permuteAsm
}

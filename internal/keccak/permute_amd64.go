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

// asmOK reports that permuteAsm can run here: the CPU has the features and
// the assembly passed a self-test against the Go permutation.
var asmOK = asmSelfTest()

func asmSelfTest() bool {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL {
		return false
	}
	// A state with every lane distinct: should the assembly ever misbehave
	// on some CPU or kernel, the package stays correct on the slower path.
	var want, got [25]uint64
	for i := range want {
		want[i] = 0x9e3779b97f4a7c15 * uint64(i+1)
	}
	got = want
	permute(&want)
	permuteAsm(&got)
	return got == want
}

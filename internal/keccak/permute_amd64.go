//go:build amd64 && !purego

package keccak

//go:generate go run genasm.go

// permuteAVX512 is Keccak-f[1600] on a (lane (x, y) at a[x+5y]) with the
// state held in five zmm registers; genasm.go explains the design. It
// needs AVX-512F (cpu.X86.HasAVX512F, which also checks that the OS saves
// the zmm and mask registers).
//
//go:noescape
func permuteAVX512(a *[25]uint64)

// permuteFast is a faster Keccak-f[1600] than permute, with the same
// contract, or nil where there is none. It stays nil here too: on the Zen 4
// this was measured on, permuteAVX512 runs no faster than permute (about
// 298 ns against 287-306 ns for a 136-byte block in the same run).
var permuteFast func(a *[25]uint64)

//go:build !amd64 || purego

package keccak

// permuteFast is a faster Keccak-f[1600] than permute, with the same
// contract, or nil where there is none: this build has no assembly.
var permuteFast func(a *[25]uint64)

// permuteAsm stands in for the assembly so that tests and benchmarks build
// everywhere.
func permuteAsm(a *[25]uint64) { permute(a) }

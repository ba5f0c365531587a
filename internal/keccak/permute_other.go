//go:build !amd64 || purego

package keccak

// asmOK reports that permuteAsm can run here: never, in this build.
const asmOK = false

// permuteAsm stands in for the assembly so that tests and benchmarks build
// everywhere.
func permuteAsm(a *[25]uint64) { permute(a) }

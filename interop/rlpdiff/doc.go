// Package rlpdiff holds differential fuzzing and benchmarks comparing Trellis's
// rlp package with go-ethereum's.
package rlpdiff

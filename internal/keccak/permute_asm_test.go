//go:build amd64 && !purego

package keccak

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

func needAsm(t testing.TB) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL {
		t.Skip("CPU or OS lacks AVX2, AVX-512F or AVX-512VL: permuteAsm cannot run here")
	}
}

// TestPermuteAsmZero iterates from the all-zero state, where a layout or
// index error still shows because the round constants spread through.
func TestPermuteAsmZero(t *testing.T) {
	needAsm(t)
	var want, got [25]uint64
	for i := range 50 {
		permute(&want)
		permuteAsm(&got)
		if got != want {
			t.Fatalf("application %d of f to the zero state:\ngot  %016x\nwant %016x", i+1, got, want)
		}
	}
}

// checkAsm applies both permutations to a copy of in and fails the test
// if they differ.
func checkAsm(t *testing.T, in [25]uint64, what string) {
	t.Helper()
	want, got := in, in
	permute(&want)
	permuteAsm(&got)
	if got != want {
		t.Fatalf("%s: f(%016x)\ngot  %016x\nwant %016x", what, in, got, want)
	}
}

func TestPermuteAsmRandom(t *testing.T) {
	needAsm(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		var in [25]uint64
		for j := range in {
			in[j] = r.Uint64()
		}
		checkAsm(t, in, fmt.Sprintf("state %d", i))
	}
}

// TestPermuteAsmBits checks every single-bit state, so that a wrong lane,
// slot or rotation shows as its own differing pattern.
func TestPermuteAsmBits(t *testing.T) {
	needAsm(t)
	for lane := range 25 {
		for bit := range 64 {
			var in [25]uint64
			in[lane] = 1 << bit
			checkAsm(t, in, fmt.Sprintf("lane %d bit %d", lane, bit))
		}
	}
}

func BenchmarkPermuteAsm(b *testing.B) {
	needAsm(b)
	var a [25]uint64
	b.SetBytes(Rate)
	for b.Loop() {
		permuteAsm(&a)
	}
}

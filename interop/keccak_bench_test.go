package interop

import (
	"bytes"
	"testing"

	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/trellis-p2p/trellis/crypto"
)

// TestKeccak256MatchesGeth cross-checks the digests of the three
// implementations benchmarked below over lengths around the 136-byte block.
func TestKeccak256MatchesGeth(t *testing.T) {
	data := make([]byte, 3*136+2)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for n := 0; n <= len(data); n++ {
		want := gethcrypto.Keccak256(data[:n])
		if got := crypto.Keccak256(data[:n]); !bytes.Equal(got, want) {
			t.Fatalf("trellis, %d bytes: %x, want %x", n, got, want)
		}
	}
}

// BenchmarkKeccak256_1MiB hashes 1 MiB in one call with Trellis's crypto
// package and go-ethereum's (its amd64 assembly permutation). The
// golang.org/x/crypto figures are BenchmarkKeccak256XCrypto in package crypto:
// importing x/crypto here would need it as a direct requirement in go.mod.
func BenchmarkKeccak256_1MiB(b *testing.B) {
	data := make([]byte, 1<<20)
	b.Run("trellis", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			crypto.Keccak256Hash(data)
		}
	})
	b.Run("geth", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			gethcrypto.Keccak256Hash(data)
		}
	})
}

// BenchmarkKeccak256_32B is the small-input case (node IDs, handshake
// digests), where per-call overhead dominates.
func BenchmarkKeccak256_32B(b *testing.B) {
	data := make([]byte, 32)
	b.Run("trellis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			crypto.Keccak256Hash(data)
		}
	})
	b.Run("geth", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			gethcrypto.Keccak256Hash(data)
		}
	})
}

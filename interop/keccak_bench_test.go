package interop

import (
	"bytes"
	"testing"

	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/sha3"

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
		if got := xcryptoSum(data[:n]); !bytes.Equal(got[:], want) {
			t.Fatalf("x/crypto, %d bytes: %x, want %x", n, got, want)
		}
	}
}

// xcryptoSum is golang.org/x/crypto's legacy Keccak-256, the third
// implementation measured side by side.
func xcryptoSum(data []byte) (out [32]byte) {
	h := sha3.NewLegacyKeccak256()
	h.Write(data)
	h.Sum(out[:0])
	return out
}

// BenchmarkKeccak256_1MiB hashes 1 MiB in one call with Trellis's crypto
// package, go-ethereum's (its amd64 assembly permutation) and x/crypto's.
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
	b.Run("xcrypto", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			xcryptoSum(data)
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
	b.Run("xcrypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			xcryptoSum(data)
		}
	})
}

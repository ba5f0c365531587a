package crypto

import (
	"fmt"
	"testing"

	"golang.org/x/crypto/sha3"
)

var keccakSizes = []int{32, 64, 136, 1 << 10, 1 << 20}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkKeccak256 measures the one-shot Keccak256Hash path.
func BenchmarkKeccak256(b *testing.B) {
	for _, n := range keccakSizes {
		data := make([]byte, n)
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				Keccak256Hash(data)
			}
		})
	}
}

// BenchmarkKeccak256XCrypto is golang.org/x/crypto/sha3's legacy Keccak on
// the same inputs, for comparison (the go-ethereum figures are in interop/).
func BenchmarkKeccak256XCrypto(b *testing.B) {
	for _, n := range keccakSizes {
		data := make([]byte, n)
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			h := sha3.NewLegacyKeccak256()
			var out [32]byte
			for b.Loop() {
				h.Reset()
				h.Write(data)
				h.Sum(out[:0])
			}
		})
	}
}

// BenchmarkKeccakMAC mimics an RLPx frame MAC update: absorb a 16-byte seed
// and a frame, taking a digest after each (rlpx.md "MAC").
func BenchmarkKeccakMAC(b *testing.B) {
	for _, n := range []int{64, 1 << 10, 16 << 10} {
		frame := make([]byte, n)
		seed := make([]byte, 16)
		b.Run(sizeName(n), func(b *testing.B) {
			d := NewKeccak256()
			buf := make([]byte, 0, 32)
			b.SetBytes(int64(n + 16))
			b.ReportAllocs()
			for b.Loop() {
				d.Write(seed)
				buf = d.Sum(buf[:0])
				d.Write(frame)
				buf = d.Sum(buf[:0])
			}
		})
	}
}

func BenchmarkGenerateKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := GenerateKey(); err != nil {
			b.Fatal(err)
		}
	}
}

// The signature and ECDH benchmarks run each operation on this package
// (internal/ec) and on decred's ecdsa package, which it replaced (and which
// go-ethereum's pure-Go build uses), side by side in one binary so that
// the comparison survives a noisy machine.

func BenchmarkSign(b *testing.B) {
	k := mustKey(b)
	digest := Keccak256([]byte("benchmark"))
	b.Run("impl=trellis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Sign(digest, k); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=decred", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			decredSign(digest, k)
		}
	})
}

func BenchmarkEcrecover(b *testing.B) {
	k := mustKey(b)
	digest := Keccak256([]byte("benchmark"))
	sig, _ := Sign(digest, k)
	b.Run("impl=trellis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Ecrecover(digest, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=decred", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := decredRecover(digest, sig)
			if err != nil {
				b.Fatal(err)
			}
			p.SerializeUncompressed()
		}
	})
}

func BenchmarkVerifySignature(b *testing.B) {
	k := mustKey(b)
	digest := Keccak256([]byte("benchmark"))
	sig, _ := Sign(digest, k)
	for _, enc := range []struct {
		name string
		pub  []byte
	}{{"uncompressed", MarshalPubkey(k.PubKey())}, {"compressed", CompressPubkey(k.PubKey())}} {
		b.Run(enc.name+"/impl=trellis", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !VerifySignature(enc.pub, digest, sig[:64]) {
					b.Fatal("rejected")
				}
			}
		})
		b.Run(enc.name+"/impl=decred", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !decredVerify(enc.pub, digest, sig[:64]) {
					b.Fatal("rejected")
				}
			}
		})
	}
}

func BenchmarkECDH(b *testing.B) {
	k := mustKey(b)
	other, _ := GenerateKeyFrom(testRand(20))
	pub := other.PubKey()
	b.Run("impl=trellis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ECDH(k, pub)
		}
	})
	b.Run("impl=decred", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			decredECDH(k, pub)
		}
	})
}

func BenchmarkUnmarshalPubkey(b *testing.B) {
	enc := MarshalPubkey(mustKey(b).PubKey())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalPubkey(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecompressPubkey(b *testing.B) {
	enc := CompressPubkey(mustKey(b).PubKey())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecompressPubkey(enc); err != nil {
			b.Fatal(err)
		}
	}
}

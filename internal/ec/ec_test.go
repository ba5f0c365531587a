package ec

import (
	"bytes"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// randScalar returns a scalar biased towards edge cases.
func randScalar(rng *rand.Rand) secp256k1.ModNScalar {
	var k secp256k1.ModNScalar
	var b [32]byte
	switch rng.IntN(8) {
	case 0:
		k.SetInt(uint32(rng.IntN(40) + 1))
	case 1:
		k.SetInt(uint32(rng.IntN(40) + 1))
		k.Negate()
	case 2: // one half of the GLV split is small
		for i := 16; i < 32; i++ {
			b[i] = byte(rng.Uint32())
		}
		k.SetBytes(&b)
	case 3:
		b[0] = 0xff
		for i := 1; i < 32; i++ {
			b[i] = byte(rng.Uint32())
		}
		k.SetBytes(&b)
	default:
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		k.SetBytes(&b)
	}
	if k.IsZero() {
		k.SetInt(1)
	}
	return k
}

// decredPoint returns a random point as decred's and ours.
func decredPoint(rng *rand.Rand) (*secp256k1.PublicKey, *Point) {
	k := randScalar(rng)
	var j secp256k1.JacobianPoint
	secp256k1.ScalarBaseMultNonConst(&k, &j)
	j.ToAffine()
	pub := secp256k1.NewPublicKey(&j.X, &j.Y)
	raw := (*[64]byte)(pub.SerializeUncompressed()[1:])
	p, ok := ParsePoint(raw)
	if !ok {
		panic("ParsePoint rejected a decred point")
	}
	return pub, p
}

func decredMultX(k *secp256k1.ModNScalar, pub *secp256k1.PublicKey) (x [32]byte, inf bool) {
	var j, r secp256k1.JacobianPoint
	pub.AsJacobian(&j)
	secp256k1.ScalarMultNonConst(k, &j, &r)
	if r.Z.IsZero() {
		return x, true
	}
	r.ToAffine()
	r.X.PutBytesUnchecked(x[:])
	return x, false
}

func TestScalarMultMatchesDecred(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 400; i++ {
		pub, p := decredPoint(rng)
		k := randScalar(rng)
		want, _ := decredMultX(&k, pub)
		got, ok := ScalarMultX(&k, p)
		if !ok || got != want {
			t.Fatalf("k=%v: got %x (ok %v), want %x", k, got, ok, want)
		}
	}
	// k·P with k = n - 1 is -P: same X.
	_, p := decredPoint(rng)
	var k secp256k1.ModNScalar
	k.SetInt(1).Negate()
	if x, ok := ScalarMultX(&k, p); !ok || x != p.a.x.bytes() {
		t.Fatal("(n-1)·P has the wrong X")
	}
	k.Zero()
	if _, ok := ScalarMultX(&k, p); ok {
		t.Fatal("0·P is not infinity")
	}
}

func TestScalarBaseMultMatchesDecred(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for i := 0; i < 1000; i++ {
		k := randScalar(rng)
		var j secp256k1.JacobianPoint
		secp256k1.ScalarBaseMultNonConst(&k, &j)
		j.ToAffine()
		want := secp256k1.NewPublicKey(&j.X, &j.Y).SerializeUncompressed()[1:]
		if got := ScalarBaseMult(&k); !bytes.Equal(got[:], want) {
			t.Fatalf("k=%v: got %x, want %x", k, got, want)
		}
	}
}

func TestSignMatchesDecred(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for i := 0; i < 300; i++ {
		d := randScalar(rng)
		var digest [32]byte
		for j := range digest {
			digest[j] = byte(rng.Uint32())
		}
		got := SignRecoverable(&d, &digest)
		want := ecdsa.SignCompact(secp256k1.NewPrivateKey(&d), digest[:], false)
		if !bytes.Equal(got[:64], want[1:]) || got[64] != want[0]-27 {
			t.Fatalf("signature %x, decred %x", got, want)
		}
	}
}

func TestRecoverMultX(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for i := 0; i < 300; i++ {
		signer := randScalar(rng)
		d := randScalar(rng)
		var digest [32]byte
		for j := range digest {
			digest[j] = byte(rng.Uint32())
		}
		sig := SignRecoverable(&signer, &digest)
		compact := append([]byte{27 + sig[64]}, sig[:64]...)
		q, _, err := ecdsa.RecoverCompact(compact, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		want, _ := decredMultX(&d, q)
		got, err := RecoverMultX(&d, &digest, &sig)
		if err != nil || got != want {
			t.Fatalf("got %x (%v), want %x", got, err, want)
		}
	}
}

// TestRecoverRejects compares the rejection of malformed signatures with
// decred's RecoverCompact.
func TestRecoverRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	d := randScalar(rng)
	nBytes := secp256k1.Params().N.FillBytes(make([]byte, 32))
	for i := 0; i < 3000; i++ {
		var sig [65]byte
		var digest [32]byte
		for j := range sig {
			sig[j] = byte(rng.Uint32())
		}
		sig[64] %= 5
		switch rng.IntN(6) {
		case 0: // r small, so that r + n < p is possible
			clear(sig[:16])
		case 1:
			copy(sig[:32], nBytes)
		case 2:
			clear(sig[32:64])
		case 3:
			copy(sig[32:64], nBytes)
		}
		compact := append([]byte{27 + sig[64]}, sig[:64]...)
		q, _, werr := ecdsa.RecoverCompact(compact, digest[:])
		if sig[64] > 3 {
			// decred reads V = 4 as "compressed key" flag; Ethereum
			// signatures have no such flag.
			werr = ErrSigValue
		}
		got, err := RecoverMultX(&d, &digest, &sig)
		if (err == nil) != (werr == nil) {
			t.Fatalf("sig %x: err %v, decred %v", sig, err, werr)
		}
		if err == nil {
			if want, _ := decredMultX(&d, q); got != want {
				t.Fatalf("sig %x: wrong shared secret", sig)
			}
		}
	}
}

func TestGLVConstants(t *testing.T) {
	n := secp256k1.Params().N
	p := secp256k1.Params().P
	lb := lambda.Bytes()
	l := new(big.Int).SetBytes(lb[:])
	if new(big.Int).Exp(l, big.NewInt(3), n).Cmp(big.NewInt(1)) != 0 {
		t.Fatal("λ³ ≠ 1 mod n")
	}
	bb := beta.bytes()
	bt := new(big.Int).SetBytes(bb[:])
	if new(big.Int).Exp(bt, big.NewInt(3), p).Cmp(big.NewInt(1)) != 0 {
		t.Fatal("β³ ≠ 1 mod p")
	}
	// φ(G) = λ·G
	got := ScalarBaseMult(&lambda)
	var bx fe
	bx.mul(&generator.x, &beta)
	if x := bx.bytes(); !bytes.Equal(got[:32], x[:]) {
		t.Fatal("φ(G) ≠ λ·G")
	}
	// The split reassembles k and keeps both halves below 2^128.
	rng := rand.New(rand.NewPCG(21, 22))
	for i := 0; i < 5000; i++ {
		k := randScalar(rng)
		k1, k2, neg1, neg2 := splitK(&k)
		s1, s2 := scalarFromLimbs(k1), scalarFromLimbs(k2)
		if neg1 {
			s1.Negate()
		}
		if neg2 {
			s2.Negate()
		}
		s2.Mul(&lambda).Add(&s1)
		if !s2.Equals(&k) {
			t.Fatalf("split of %v does not reassemble", k)
		}
	}
}

func scalarFromLimbs(l [2]uint64) secp256k1.ModNScalar {
	var b [32]byte
	for i := 0; i < 8; i++ {
		b[31-i] = byte(l[0] >> (8 * i))
		b[23-i] = byte(l[1] >> (8 * i))
	}
	var s secp256k1.ModNScalar
	s.SetBytes(&b)
	return s
}

func TestWNAF(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for i := 0; i < 2000; i++ {
		k := [2]uint64{rng.Uint64(), rng.Uint64()}
		if i%3 == 0 {
			k[1] = ^uint64(0)
		}
		naf, n := wnaf(k)
		sum := new(big.Int)
		for j := n - 1; j >= 0; j-- {
			sum.Lsh(sum, 1)
			sum.Add(sum, big.NewInt(int64(naf[j])))
			if d := naf[j]; d != 0 && (d%2 == 0 || d > 15 || d < -15) {
				t.Fatalf("bad digit %d", d)
			}
		}
		want := new(big.Int).Lsh(new(big.Int).SetUint64(k[1]), 64)
		want.Or(want, new(big.Int).SetUint64(k[0]))
		if sum.Cmp(want) != 0 {
			t.Fatalf("wnaf(%x) sums to %x", want, sum)
		}
	}
}

func TestParsePoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	pub, _ := decredPoint(rng)
	raw := *(*[64]byte)(pub.SerializeUncompressed()[1:])
	if _, ok := ParsePoint(&raw); !ok {
		t.Fatal("valid point rejected")
	}
	off := raw
	off[63] ^= 1
	if _, ok := ParsePoint(&off); ok {
		t.Fatal("point off the curve accepted")
	}
	var big [64]byte
	for i := range big {
		big[i] = 0xff
	}
	if _, ok := ParsePoint(&big); ok {
		t.Fatal("coordinates >= p accepted")
	}
}

func FuzzScalarMult(f *testing.F) {
	f.Add(make([]byte, 32), make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xff}, 32), bytes.Repeat([]byte{0x01}, 32))
	f.Fuzz(func(t *testing.T, kb, pb []byte) {
		var kbuf, pbuf [32]byte
		copy(kbuf[:], kb)
		copy(pbuf[:], pb)
		var k, pk secp256k1.ModNScalar
		k.SetBytes(&kbuf)
		pk.SetBytes(&pbuf)
		if pk.IsZero() {
			pk.SetInt(1)
		}
		var j secp256k1.JacobianPoint
		secp256k1.ScalarBaseMultNonConst(&pk, &j)
		j.ToAffine()
		pub := secp256k1.NewPublicKey(&j.X, &j.Y)
		p, ok := ParsePoint((*[64]byte)(pub.SerializeUncompressed()[1:]))
		if !ok {
			t.Fatal("ParsePoint rejected a valid point")
		}
		want, inf := decredMultX(&k, pub)
		got, ok := ScalarMultX(&k, p)
		if ok == inf || (ok && got != want) {
			t.Fatalf("k=%x: got %x ok=%v, want %x inf=%v", kbuf, got, ok, want, inf)
		}
		if !k.IsZero() {
			var jb secp256k1.JacobianPoint
			secp256k1.ScalarBaseMultNonConst(&k, &jb)
			jb.ToAffine()
			wantB := secp256k1.NewPublicKey(&jb.X, &jb.Y).SerializeUncompressed()[1:]
			if gotB := ScalarBaseMult(&k); !bytes.Equal(gotB[:], wantB) {
				t.Fatalf("base mult of %x differs", kbuf)
			}
		}
	})
}

func BenchmarkScalarMult(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	_, p := decredPoint(rng)
	k := randScalar(rng)
	cpuBench(b, func() {
		ScalarMultX(&k, p)
	})
}

func BenchmarkDecredScalarMult(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	pub, _ := decredPoint(rng)
	k := randScalar(rng)
	cpuBench(b, func() {
		decredMultX(&k, pub)
	})
}

func BenchmarkScalarBaseMult(b *testing.B) {
	k := randScalar(rand.New(rand.NewPCG(2, 2)))
	cpuBench(b, func() {
		ScalarBaseMult(&k)
	})
}

func BenchmarkDecredScalarBaseMult(b *testing.B) {
	k := randScalar(rand.New(rand.NewPCG(2, 2)))
	cpuBench(b, func() {
		var j secp256k1.JacobianPoint
		secp256k1.ScalarBaseMultNonConst(&k, &j)
		j.ToAffine()
	})
}

func BenchmarkSign(b *testing.B) {
	d := randScalar(rand.New(rand.NewPCG(3, 3)))
	var digest [32]byte
	cpuBench(b, func() {
		digest[0]++
		SignRecoverable(&d, &digest)
	})
}

func BenchmarkRecoverMultX(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	signer, d := randScalar(rng), randScalar(rng)
	var digest [32]byte
	sig := SignRecoverable(&signer, &digest)
	cpuBench(b, func() {
		RecoverMultX(&d, &digest, &sig)
	})
}

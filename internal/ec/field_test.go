package ec

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

var bigP, _ = new(big.Int).SetString("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F", 16)

func (z *fe) big() *big.Int {
	b := new(big.Int)
	for i := 3; i >= 0; i-- {
		b.Lsh(b, 64)
		b.Or(b, new(big.Int).SetUint64(z[i]))
	}
	return b
}

// randFE returns a field element biased towards edge cases: values near 0,
// near p, at and above p (weakly reduced), and near 2^256.
func randFE(rng *rand.Rand) fe {
	var z fe
	switch rng.IntN(6) {
	case 0:
		z[0] = rng.Uint64() % 8
	case 1:
		z = feP
		z[0] -= rng.Uint64() % 8
	case 2:
		z = feP
		z[0] += rng.Uint64() % pc // p <= z < 2^256
	case 3:
		z = fe{^uint64(0) - rng.Uint64()%8, ^uint64(0), ^uint64(0), ^uint64(0)}
	default:
		z = fe{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
	}
	return z
}

func checkFE(t *testing.T, op string, got *fe, want *big.Int, in ...*fe) {
	t.Helper()
	want = new(big.Int).Mod(want, bigP)
	g := got.big()
	if g.Cmp(new(big.Int).Lsh(big.NewInt(1), 256)) >= 0 {
		t.Fatalf("%s: result out of range", op)
	}
	if new(big.Int).Mod(g, bigP).Cmp(want) != 0 {
		t.Fatalf("%s(%v): got %x, want %x", op, in, g, want)
	}
}

func TestFieldOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20000; i++ {
		x, y := randFE(rng), randFE(rng)
		bx, by := x.big(), y.big()
		var z fe
		z.add(&x, &y)
		checkFE(t, "add", &z, new(big.Int).Add(bx, by), &x, &y)
		z.sub(&x, &y)
		checkFE(t, "sub", &z, new(big.Int).Sub(bx, by), &x, &y)
		z.neg(&x)
		checkFE(t, "neg", &z, new(big.Int).Neg(bx), &x)
		z.mul(&x, &y)
		checkFE(t, "mul", &z, new(big.Int).Mul(bx, by), &x, &y)
		z.sqr(&x)
		checkFE(t, "sqr", &z, new(big.Int).Mul(bx, bx), &x)
		z.mulGeneric(&x, &y)
		checkFE(t, "mulGeneric", &z, new(big.Int).Mul(bx, by), &x, &y)
		z.sqrGeneric(&x)
		checkFE(t, "sqrGeneric", &z, new(big.Int).Mul(bx, bx), &x)
		n := x
		n.normalize()
		if n.big().Cmp(new(big.Int).Mod(bx, bigP)) != 0 {
			t.Fatalf("normalize(%x) = %x", bx, n.big())
		}
		if i%20 == 0 {
			z.inv(&x)
			want := new(big.Int).ModInverse(new(big.Int).Mod(bx, bigP), bigP)
			if want == nil {
				want = new(big.Int)
			}
			checkFE(t, "inv", &z, want, &x)
			ok := z.sqrt(&x)
			wantOK := big.Jacobi(new(big.Int).Mod(bx, bigP), bigP) >= 0
			if ok != wantOK {
				t.Fatalf("sqrt(%x) ok = %v, want %v", bx, ok, wantOK)
			}
			if ok {
				checkFE(t, "sqrt^2", &fe{}, new(big.Int).Sub(new(big.Int).Mul(z.big(), z.big()), bx))
			}
		}
	}
}

func TestFieldBytes(t *testing.T) {
	var b [32]byte
	for i := range b {
		b[i] = 0xff
	}
	var z fe
	if z.setBytes(&b) {
		t.Fatal("2^256-1 accepted as below p")
	}
	pb := feP.bytes()
	if pb != [32]byte{} {
		t.Fatal("p does not encode as 0")
	}
	pRaw := [32]byte{}
	for i := range pRaw {
		pRaw[i] = 0xff
	}
	pRaw[27], pRaw[28], pRaw[29], pRaw[30], pRaw[31] = 0xfe, 0xff, 0xff, 0xfc, 0x2f
	if z.setBytes(&pRaw) {
		t.Fatal("p accepted as below p")
	}
	pRaw[31] = 0x2e
	if !z.setBytes(&pRaw) || z.bytes() != pRaw {
		t.Fatal("p-1 does not round-trip")
	}
}

func BenchmarkFieldMul(b *testing.B) {
	x := fe{1, 2, 3, 4}
	y := fe{5, 6, 7, 8}
	cpuBench(b, func() {
		x.mul(&x, &y)
	})
}

func BenchmarkFieldMulGeneric(b *testing.B) {
	x := fe{1, 2, 3, 4}
	y := fe{5, 6, 7, 8}
	cpuBench(b, func() {
		x.mulGeneric(&x, &y)
	})
}

func BenchmarkFieldSqr(b *testing.B) {
	x := fe{1, 2, 3, 4}
	cpuBench(b, func() {
		x.sqr(&x)
	})
}

func BenchmarkFieldInv(b *testing.B) {
	x := fe{1, 2, 3, 4}
	cpuBench(b, func() {
		x.inv(&x)
	})
}

func BenchmarkDecredFieldMul(b *testing.B) {
	var x, y secp256k1.FieldVal
	x.SetInt(12345)
	y.SetInt(6789)
	x.Square().Square().Square().Square().Square().Square().Square().Square()
	y.Square().Square().Square().Square().Square().Square().Square().Square()
	cpuBench(b, func() {
		x.Mul(&y)
	})
}

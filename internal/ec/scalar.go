package ec

import (
	"encoding/binary"
	"encoding/hex"
	"math/bits"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// GLV endomorphism (Gallant, Lambert, Vanstone, CRYPTO 2001): secp256k1 has
// an efficiently computable map φ(x, y) = (βx, y) with φ(P) = λP. Splitting
// k = k1 + k2·λ (mod n) with |k1|, |k2| < 2^128 lets one pass of 128
// doublings serve both halves. The basis vectors and the rounding constants
// g1 = round(2^384·b2/n), g2 = round(2^384·(-b1)/n) were derived with the
// extended Euclidean algorithm on (n, λ) (Guide to Elliptic Curve
// Cryptography, algorithm 3.74); TestGLVConstants re-checks them.
var (
	lambda  = scalarHex("5363ad4cc05c30e0a5261c028812645a122e22ea20816678df02967c1b23bd72")
	beta    = feHex("7ae96a2b657c07106e64479eac3434e99cf0497512f58995c1396c28719501ee")
	minusB1 = scalarHex("00000000000000000000000000000000e4437ed6010e88286f547fa90abfe4c3")
	minusB2 = scalarHex("fffffffffffffffffffffffffffffffe8a280ac50774346dd765cda83db1562c")
	g1      = limbsHex("3086d221a7d46bcde86c90e49284eb153daa8a1471e8ca7fe893209a45dbb031")
	g2      = limbsHex("e4437ed6010e88286f547fa90abfe4c4221208ac9df506c61571b4ae8ac47f71")
)

func mustHex32(s string) (b [32]byte) {
	if n, err := hex.Decode(b[:], []byte(s)); err != nil || n != 32 {
		panic("ec: bad constant " + s)
	}
	return b
}

func scalarHex(s string) secp256k1.ModNScalar {
	b := mustHex32(s)
	var k secp256k1.ModNScalar
	if k.SetBytes(&b) != 0 {
		panic("ec: constant overflows n")
	}
	return k
}

func feHex(s string) fe {
	b := mustHex32(s)
	var z fe
	if !z.setBytes(&b) {
		panic("ec: constant overflows p")
	}
	return z
}

func limbsHex(s string) [4]uint64 {
	b := mustHex32(s)
	return limbs(&b)
}

func limbs(b *[32]byte) [4]uint64 {
	return [4]uint64{
		binary.BigEndian.Uint64(b[24:]), binary.BigEndian.Uint64(b[16:]),
		binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint64(b[0:]),
	}
}

// mulShift384 returns round(k·g / 2^384) for 256-bit k and g < 2^254, as a
// scalar (the result is below 2^128).
func mulShift384(k, g *[4]uint64) secp256k1.ModNScalar {
	var t [8]uint64
	for i := 0; i < 4; i++ {
		var c uint64
		for j := 0; j < 4; j++ {
			c, t[i+j] = madd(k[i], g[j], t[i+j], c)
		}
		t[i+4] = c
	}
	lo, c := bits.Add64(t[6], t[5]>>63, 0)
	hi := t[7] + c
	var b [32]byte
	binary.BigEndian.PutUint64(b[16:], hi)
	binary.BigEndian.PutUint64(b[24:], lo)
	var s secp256k1.ModNScalar
	s.SetBytes(&b)
	return s
}

// splitK returns k1, k2 with k ≡ ±k1 ± k2·λ (mod n), the magnitudes below
// 2^128 as two little-endian limbs and the signs as neg1, neg2.
func splitK(k *secp256k1.ModNScalar) (k1, k2 [2]uint64, neg1, neg2 bool) {
	kb := k.Bytes()
	kl := limbs(&kb)
	c1 := mulShift384(&kl, &g1)
	c2 := mulShift384(&kl, &g2)
	var s1, s2, t secp256k1.ModNScalar
	s2.Mul2(&c1, &minusB1)
	t.Mul2(&c2, &minusB2)
	s2.Add(&t)
	t.Mul2(&s2, &lambda).Negate()
	s1.Add2(k, &t)
	if s1.IsOverHalfOrder() {
		s1.Negate()
		neg1 = true
	}
	if s2.IsOverHalfOrder() {
		s2.Negate()
		neg2 = true
	}
	b1, b2 := s1.Bytes(), s2.Bytes()
	l1, l2 := limbs(&b1), limbs(&b2)
	return [2]uint64{l1[0], l1[1]}, [2]uint64{l2[0], l2[1]}, neg1, neg2
}

// wnafWidth is the window of the width-w non-adjacent form: digits are odd
// in (-2^(w-1), 2^(w-1)), and any two nonzero digits are at least w
// positions apart.
const wnafWidth = 5

// wnaf returns the width-5 NAF digits of a 128-bit k, least significant
// first, and how many positions are used (at most 129).
func wnaf(k [2]uint64) (naf [130]int8, n int) {
	k0, k1 := k[0], k[1]
	var k2 uint64 // room for the carry of k + |d|
	for k0|k1|k2 != 0 {
		if k0&1 == 1 {
			d := int64(k0 & (1<<wnafWidth - 1))
			if d >= 1<<(wnafWidth-1) {
				d -= 1 << wnafWidth
			}
			naf[n] = int8(d)
			var c uint64
			if d > 0 {
				k0, c = bits.Sub64(k0, uint64(d), 0)
				k1, c = bits.Sub64(k1, 0, c)
				k2 -= c
			} else {
				k0, c = bits.Add64(k0, uint64(-d), 0)
				k1, c = bits.Add64(k1, 0, c)
				k2 += c
			}
		}
		k0 = k0>>1 | k1<<63
		k1 = k1>>1 | k2<<63
		k2 >>= 1
		n++
	}
	return naf, n
}

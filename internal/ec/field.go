package ec

import (
	"encoding/binary"
	"math/bits"
)

// fe is an element of the secp256k1 base field, p = 2^256 - 2^32 - 977, as
// four little-endian 64-bit limbs. Values are kept below 2^256 but not
// necessarily below p ("weakly reduced"); normalize gives the canonical
// form. Limbs of 64 bits with math/bits carries are what make this faster
// than decred's 10x26-bit representation on 64-bit machines.
type fe [4]uint64

// pc is 2^256 - p: folding the part of a value above 2^256 back in costs a
// multiplication by this 33-bit constant.
const pc = 0x1000003D1

var feP = fe{0xFFFFFFFEFFFFFC2F, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF}

// setBytes sets z to the big-endian b and reports whether b < p.
func (z *fe) setBytes(b *[32]byte) bool {
	z[3] = binary.BigEndian.Uint64(b[0:])
	z[2] = binary.BigEndian.Uint64(b[8:])
	z[1] = binary.BigEndian.Uint64(b[16:])
	z[0] = binary.BigEndian.Uint64(b[24:])
	_, borrow := bits.Sub64(z[0], feP[0], 0)
	_, borrow = bits.Sub64(z[1], feP[1], borrow)
	_, borrow = bits.Sub64(z[2], feP[2], borrow)
	_, borrow = bits.Sub64(z[3], feP[3], borrow)
	return borrow == 1
}

// bytes returns the canonical big-endian encoding of z.
func (z *fe) bytes() (b [32]byte) {
	n := *z
	n.normalize()
	binary.BigEndian.PutUint64(b[0:], n[3])
	binary.BigEndian.PutUint64(b[8:], n[2])
	binary.BigEndian.PutUint64(b[16:], n[1])
	binary.BigEndian.PutUint64(b[24:], n[0])
	return b
}

// normalize reduces z below p. z < 2^256 < 2p, so one subtraction of p
// suffices, and z >= p exactly when z + pc carries out of 256 bits.
func (z *fe) normalize() {
	t0, c := bits.Add64(z[0], pc, 0)
	t1, c := bits.Add64(z[1], 0, c)
	t2, c := bits.Add64(z[2], 0, c)
	t3, c := bits.Add64(z[3], 0, c)
	if c != 0 {
		*z = fe{t0, t1, t2, t3}
	}
}

func (z *fe) isZero() bool {
	n := *z
	n.normalize()
	return n[0]|n[1]|n[2]|n[3] == 0
}

func (z *fe) equal(x *fe) bool {
	a, b := *z, *x
	a.normalize()
	b.normalize()
	return a == b
}

func (z *fe) isOdd() bool {
	n := *z
	n.normalize()
	return n[0]&1 == 1
}

// add sets z = x + y.
func (z *fe) add(x, y *fe) {
	z0, c := bits.Add64(x[0], y[0], 0)
	z1, c := bits.Add64(x[1], y[1], c)
	z2, c := bits.Add64(x[2], y[2], c)
	z3, c := bits.Add64(x[3], y[3], c)
	// 2^256 ≡ pc. A second carry leaves a value below pc, so the last fold
	// cannot carry.
	z0, c = bits.Add64(z0, pc&-c, 0)
	z1, c = bits.Add64(z1, 0, c)
	z2, c = bits.Add64(z2, 0, c)
	z3, c = bits.Add64(z3, 0, c)
	if c != 0 {
		z0 += pc
	}
	z[0], z[1], z[2], z[3] = z0, z1, z2, z3
}

// sub sets z = x - y.
func (z *fe) sub(x, y *fe) {
	z0, b := bits.Sub64(x[0], y[0], 0)
	z1, b := bits.Sub64(x[1], y[1], b)
	z2, b := bits.Sub64(x[2], y[2], b)
	z3, b := bits.Sub64(x[3], y[3], b)
	// A borrow wrapped by 2^256; subtracting pc turns that into + p.
	z0, b = bits.Sub64(z0, pc&-b, 0)
	z1, b = bits.Sub64(z1, 0, b)
	z2, b = bits.Sub64(z2, 0, b)
	z3, b = bits.Sub64(z3, 0, b)
	if b != 0 {
		// Only when y exceeded x + p (y weakly reduced, x small): add p
		// once more. Rare, so a branch costs less than another chain.
		z0, b = bits.Sub64(z0, pc, 0)
		z1, b = bits.Sub64(z1, 0, b)
		z2, b = bits.Sub64(z2, 0, b)
		z3, _ = bits.Sub64(z3, 0, b)
	}
	z[0], z[1], z[2], z[3] = z0, z1, z2, z3
}

// neg sets z = -x.
func (z *fe) neg(x *fe) {
	var zero fe
	z.sub(&zero, x)
}

// half sets z = x/2: x, or x + p when x is odd, shifted right by one bit
// (the sum can need 257 bits).
func (z *fe) half(x *fe) {
	mask := -(x[0] & 1)
	t0, c := bits.Add64(x[0], feP[0]&mask, 0)
	t1, c := bits.Add64(x[1], feP[1]&mask, c)
	t2, c := bits.Add64(x[2], feP[2]&mask, c)
	t3, c := bits.Add64(x[3], feP[3]&mask, c)
	z[0] = t0>>1 | t1<<63
	z[1] = t1>>1 | t2<<63
	z[2] = t2>>1 | t3<<63
	z[3] = t3>>1 | c<<63
}

// madd returns a*b + c + d, which always fits in 128 bits.
func madd(a, b, c, d uint64) (hi, lo uint64) {
	hi, lo = bits.Mul64(a, b)
	var carry uint64
	lo, carry = bits.Add64(lo, c, 0)
	hi += carry
	lo, carry = bits.Add64(lo, d, 0)
	hi += carry
	return hi, lo
}

// mul sets z = x * y.
func (z *fe) mul(x, y *fe) {
	if useADX {
		mulADX(z, x, y)
		return
	}
	z.mulGeneric(x, y)
}

// sqr sets z = x^2.
func (z *fe) sqr(x *fe) {
	if useADX {
		sqrADX(z, x)
		return
	}
	z.sqrGeneric(x)
}

func (z *fe) mulGeneric(x, y *fe) {
	x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
	y0, y1, y2, y3 := y[0], y[1], y[2], y[3]
	var c, t0, t1, t2, t3, t4, t5, t6, t7 uint64

	c, t0 = bits.Mul64(x0, y0)
	c, t1 = madd(x0, y1, c, 0)
	c, t2 = madd(x0, y2, c, 0)
	c, t3 = madd(x0, y3, c, 0)
	t4 = c

	c, t1 = madd(x1, y0, t1, 0)
	c, t2 = madd(x1, y1, t2, c)
	c, t3 = madd(x1, y2, t3, c)
	c, t4 = madd(x1, y3, t4, c)
	t5 = c

	c, t2 = madd(x2, y0, t2, 0)
	c, t3 = madd(x2, y1, t3, c)
	c, t4 = madd(x2, y2, t4, c)
	c, t5 = madd(x2, y3, t5, c)
	t6 = c

	c, t3 = madd(x3, y0, t3, 0)
	c, t4 = madd(x3, y1, t4, c)
	c, t5 = madd(x3, y2, t5, c)
	c, t6 = madd(x3, y3, t6, c)
	t7 = c

	z.reduce(t0, t1, t2, t3, t4, t5, t6, t7)
}

// sqrGeneric: the six cross products once, doubled, plus the four squares.
func (z *fe) sqrGeneric(x *fe) {
	x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
	var c, t1, t2, t3, t4, t5, t6, t7 uint64

	c, t1 = bits.Mul64(x0, x1)
	c, t2 = madd(x0, x2, c, 0)
	c, t3 = madd(x0, x3, c, 0)
	t4 = c
	c, t3 = madd(x1, x2, t3, 0)
	c, t4 = madd(x1, x3, t4, c)
	t5 = c
	c, t5 = madd(x2, x3, t5, 0)
	t6 = c

	t7 = t6 >> 63
	t6 = t6<<1 | t5>>63
	t5 = t5<<1 | t4>>63
	t4 = t4<<1 | t3>>63
	t3 = t3<<1 | t2>>63
	t2 = t2<<1 | t1>>63
	t1 <<= 1

	h0, t0 := bits.Mul64(x0, x0)
	h1, l1 := bits.Mul64(x1, x1)
	h2, l2 := bits.Mul64(x2, x2)
	h3, l3 := bits.Mul64(x3, x3)
	t1, c = bits.Add64(t1, h0, 0)
	t2, c = bits.Add64(t2, l1, c)
	t3, c = bits.Add64(t3, h1, c)
	t4, c = bits.Add64(t4, l2, c)
	t5, c = bits.Add64(t5, h2, c)
	t6, c = bits.Add64(t6, l3, c)
	t7, _ = bits.Add64(t7, h3, c)

	z.reduce(t0, t1, t2, t3, t4, t5, t6, t7)
}

// reduce sets z to the 512-bit t0..t7 modulo p, folding the high half in
// with 2^256 ≡ pc twice.
func (z *fe) reduce(t0, t1, t2, t3, t4, t5, t6, t7 uint64) {
	c, r0 := madd(t4, pc, t0, 0)
	c, r1 := madd(t5, pc, t1, c)
	c, r2 := madd(t6, pc, t2, c)
	c, r3 := madd(t7, pc, t3, c)
	// c < 2^34, so c*pc < 2^67.
	h, l := bits.Mul64(c, pc)
	var carry uint64
	r0, carry = bits.Add64(r0, l, 0)
	r1, carry = bits.Add64(r1, h, carry)
	r2, carry = bits.Add64(r2, 0, carry)
	r3, carry = bits.Add64(r3, 0, carry)
	if carry != 0 {
		// The value wrapped to below 2^67 (rare): fold once more, which
		// can carry into r1 but no further.
		r0, carry = bits.Add64(r0, pc, 0)
		r1 += carry
	}
	z[0], z[1], z[2], z[3] = r0, r1, r2, r3
}

// sqrn sets z = x^(2^n).
func (z *fe) sqrn(x *fe, n int) {
	z.sqr(x)
	for i := 1; i < n; i++ {
		z.sqr(z)
	}
}

// powChain computes x^(2^223-1) and x^(2^22-1), x^3 and x^(2^3-1), the
// shared start of the inversion and square root addition chains (the
// exponents p-2 and (p+1)/4 both begin with 223 one bits).
func powChain(x *fe) (x223, x22, x2, x3 fe) {
	var x6, x9, x11, x44, x88, x176, x220, t fe
	x2.sqr(x)
	x2.mul(&x2, x)
	x3.sqr(&x2)
	x3.mul(&x3, x)
	x6.sqrn(&x3, 3)
	x6.mul(&x6, &x3)
	x9.sqrn(&x6, 3)
	x9.mul(&x9, &x3)
	x11.sqrn(&x9, 2)
	x11.mul(&x11, &x2)
	x22.sqrn(&x11, 11)
	x22.mul(&x22, &x11)
	x44.sqrn(&x22, 22)
	x44.mul(&x44, &x22)
	x88.sqrn(&x44, 44)
	x88.mul(&x88, &x44)
	x176.sqrn(&x88, 88)
	x176.mul(&x176, &x88)
	x220.sqrn(&x176, 44)
	x220.mul(&x220, &x44)
	t.sqrn(&x220, 3)
	x223.mul(&t, &x3)
	return x223, x22, x2, x3
}

// inv sets z = 1/x (0 for x = 0) as x^(p-2). In binary p-2 is 223 ones, a
// zero, 22 ones, 0000, 1, 0, 11, 0, 1.
func (z *fe) inv(x *fe) {
	x223, x22, x2, _ := powChain(x)
	var t fe
	t.sqrn(&x223, 23)
	t.mul(&t, &x22)
	t.sqrn(&t, 5)
	t.mul(&t, x)
	t.sqrn(&t, 3)
	t.mul(&t, &x2)
	t.sqrn(&t, 2)
	z.mul(&t, x)
}

// sqrt sets z to a square root of x and reports whether one exists. As
// p ≡ 3 mod 4 the candidate is x^((p+1)/4): 223 ones, a zero, 22 ones,
// 0000, 11, 00 in binary.
func (z *fe) sqrt(x *fe) bool {
	x223, x22, x2, _ := powChain(x)
	var t, check fe
	t.sqrn(&x223, 23)
	t.mul(&t, &x22)
	t.sqrn(&t, 6)
	t.mul(&t, &x2)
	t.sqrn(&t, 2)
	check.sqr(&t)
	ok := check.equal(x)
	*z = t
	return ok
}

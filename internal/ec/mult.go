package ec

import (
	"sync"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// scalarMult returns k·p, variable time. With the GLV split and width-5
// NAFs it costs about 128 doublings and 43 additions, plus a table of 8 odd
// multiples of p and their images under φ (one multiplication each).
//
// The table is built so that the additions can use the cheaper mixed
// formula (libsecp256k1's "effective affine" technique): on the isomorphic
// curve y² = x³ + 7·Z⁶ obtained by scaling with the Z of 2p, 2p is affine,
// so the odd multiples follow by mixed additions; rescaling them to their
// common final Z makes them affine points of one more isomorphic curve.
// The a = 0 formulas never use the curve constant, so the main loop runs on
// that curve unchanged, and the result maps back by multiplying Z by both
// scale factors.
func scalarMult(k *secp256k1.ModNScalar, p *affine) jacobian {
	k1, k2, neg1, neg2 := splitK(k)
	naf1, n1 := wnaf(k1)
	naf2, n2 := wnaf(k2)

	const size = 1 << (wnafWidth - 2)
	var pj, d jacobian
	pj.setAffine(p)
	d.double(&pj)
	var zd2, zd3 fe
	zd2.sqr(&d.z)
	zd3.mul(&zd2, &d.z)
	dA := affine{d.x, d.y}

	// tbl[i] = (2i+1)·p on the d.z-scaled curve; zr[i] = Z_i / Z_(i-1).
	var tbl [size]jacobian
	var zr [size]fe
	tbl[0].x.mul(&p.x, &zd2)
	tbl[0].y.mul(&p.y, &zd3)
	tbl[0].z = fe{1}
	for i := 1; i < size; i++ {
		tbl[i].addAffineZR(&tbl[i-1], &dA, &zr[i])
	}
	// Bring every entry to the last one's Z.
	var tA, tL [size]affine
	var acc, acc2, acc3 fe
	tA[size-1] = affine{tbl[size-1].x, tbl[size-1].y}
	acc = fe{1}
	for i := size - 2; i >= 0; i-- {
		acc.mul(&acc, &zr[i+1])
		acc2.sqr(&acc)
		acc3.mul(&acc2, &acc)
		tA[i].x.mul(&tbl[i].x, &acc2)
		tA[i].y.mul(&tbl[i].y, &acc3)
	}
	for i := range tA {
		tL[i].x.mul(&tA[i].x, &beta)
		tL[i].y = tA[i].y
	}

	var r jacobian
	for i := max(n1, n2) - 1; i >= 0; i-- {
		r.double(&r)
		if d := naf1[i]; d != 0 {
			addDigit(&r, &tA, d, neg1)
		}
		if d := naf2[i]; d != 0 {
			addDigit(&r, &tL, d, neg2)
		}
	}
	r.z.mul(&r.z, &d.z)
	r.z.mul(&r.z, &tbl[size-1].z)
	return r
}

// addDigit adds d·q to r, where tbl holds odd multiples of q and neg says
// that q itself stands negated.
func addDigit(r *jacobian, tbl *[1 << (wnafWidth - 2)]affine, d int8, neg bool) {
	if d < 0 {
		d = -d
		neg = !neg
	}
	q := &tbl[d>>1]
	if neg {
		n := *q
		n.y.neg(&n.y)
		r.addAffine(r, &n)
		return
	}
	r.addAffine(r, q)
}

// Fixed-base multiplication uses a table of multiples of G: with signed
// base-64 digits d_i in [-31, 32], k·G = Σ d_i·2^(6i)·G is at most 44
// mixed additions of table entries T[i][|d_i|-1] = |d_i|·2^(6i)·G and no
// doublings. The table (1408 affine points, 88 KiB) is built on first use
// in well under a millisecond.
const (
	baseWindow  = 6
	baseWindows = (256+baseWindow-1)/baseWindow + 1 // +1 for the final carry
	baseEntries = 1 << (baseWindow - 1)
)

var (
	baseOnce  sync.Once
	baseTable [baseWindows][baseEntries]affine
	generator = affine{
		x: feHex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
		y: feHex("483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"),
	}
)

func initBaseTable() {
	pts := make([]jacobian, baseWindows*baseEntries)
	var base jacobian
	base.setAffine(&generator)
	for i := 0; i < baseWindows; i++ {
		row := pts[i*baseEntries : (i+1)*baseEntries]
		row[0] = base
		for j := 1; j < baseEntries; j++ {
			row[j].add(&row[j-1], &base)
		}
		for range baseWindow {
			base.double(&base)
		}
	}
	aff := batchToAffine(pts)
	for i := range baseTable {
		copy(baseTable[i][:], aff[i*baseEntries:])
	}
}

// scalarBaseMult returns k·G, variable time.
func scalarBaseMult(k *secp256k1.ModNScalar) jacobian {
	baseOnce.Do(initBaseTable)
	kb := k.Bytes()
	kl := limbs(&kb)
	var r jacobian
	carry := int64(0)
	for i := 0; i < baseWindows; i++ {
		d := int64(window(&kl, i*baseWindow)) + carry
		carry = 0
		if d > baseEntries {
			d -= 1 << baseWindow
			carry = 1
		}
		if d == 0 {
			continue
		}
		neg := d < 0
		if neg {
			d = -d
		}
		q := baseTable[i][d-1]
		if neg {
			q.y.neg(&q.y)
		}
		r.addAffine(&r, &q)
	}
	return r
}

// window returns bits [bit, bit+baseWindow) of the 256-bit k (zero past the
// top).
func window(k *[4]uint64, bit int) uint64 {
	if bit >= 256 {
		return 0
	}
	limb, off := bit/64, uint(bit%64)
	v := k[limb] >> off
	if off+baseWindow > 64 && limb < 3 {
		v |= k[limb+1] << (64 - off)
	}
	return v & (1<<baseWindow - 1)
}

package ec

// Points on y² = x³ + 7. Jacobian coordinates (X, Y, Z) stand for the
// affine point (X/Z², Y/Z³); Z = 0 is the point at infinity. The formulas
// are from the Explicit-Formulas Database (hyperelliptic.org/EFD,
// "g1p/auto-shortw-jacobian-0"), which lists them for curves with a = 0.

type affine struct{ x, y fe }

type jacobian struct{ x, y, z fe }

func (p *jacobian) isInfinity() bool { return p.z.isZero() }

func (p *jacobian) setInfinity() { *p = jacobian{} }

func (p *jacobian) setAffine(a *affine) {
	p.x, p.y = a.x, a.y
	p.z = fe{1}
}

// The formulas below are those libsecp256k1 uses for a = 0 (group_impl.h):
// they need a few more multiplications than the EFD's "dbl-2009-l" and
// "add-2007-bl" but far fewer additions and subtractions, which at 64-bit
// limbs cost nearly as much as a multiplication.

// double sets r = 2p (3M + 4S):
//
//	L = 3/2·X², S = Y², T = -X·S
//	X3 = L² + 2T, Y3 = -(L·(X3 + T) + S²), Z3 = Y·Z
//
// There are no points of order two on secp256k1, so Y = 0 only occurs for
// infinity, which stays at Z = 0.
func (r *jacobian) double(p *jacobian) {
	var l, s, t, u fe
	l.sqr(&p.x)
	u.half(&l)
	l.add(&l, &u)
	s.sqr(&p.y)
	t.mul(&p.x, &s)
	t.neg(&t)
	// Z3 first: p.y is still needed and r may alias p.
	r.z.mul(&p.y, &p.z)
	u.sqr(&l)
	r.x.add(&u, &t)
	r.x.add(&r.x, &t)
	u.add(&r.x, &t)
	r.y.mul(&l, &u)
	s.sqr(&s)
	r.y.add(&r.y, &s)
	r.y.neg(&r.y)
}

// add sets r = p + q (12M + 4S), handling infinity and p = ±q:
//
//	U1 = X1·Z2², U2 = X2·Z1², S1 = Y1·Z2³, S2 = Y2·Z1³
//	H = U2 - U1, R = S2 - S1, H2 = -H², H3 = H2·H, T = U1·H2
//	X3 = R² + H3 + 2T, Y3 = S1·H3 - R·(T + X3), Z3 = Z1·Z2·H
func (r *jacobian) add(p, q *jacobian) {
	if p.isInfinity() {
		*r = *q
		return
	}
	if q.isInfinity() {
		*r = *p
		return
	}
	var z22, z12, u1, u2, s1, s2, h, rr, h2, h3, t fe
	z22.sqr(&q.z)
	z12.sqr(&p.z)
	u1.mul(&p.x, &z22)
	u2.mul(&q.x, &z12)
	s1.mul(&p.y, &z22)
	s1.mul(&s1, &q.z)
	s2.mul(&q.y, &z12)
	s2.mul(&s2, &p.z)
	h.sub(&u2, &u1)
	rr.sub(&s2, &s1)
	if h.isZero() {
		if rr.isZero() {
			r.double(p)
		} else {
			r.setInfinity()
		}
		return
	}
	r.z.mul(&p.z, &q.z)
	r.z.mul(&r.z, &h)
	r.finishAdd(&u1, &s1, &h, &rr, &h2, &h3, &t)
}

// addAffine sets r = p + q for an affine q (8M + 3S), the formulas of add
// with Z2 = 1.
func (r *jacobian) addAffine(p *jacobian, q *affine) {
	if p.isInfinity() {
		r.setAffine(q)
		return
	}
	var z12, u1, u2, s1, s2, h, rr, h2, h3, t fe
	z12.sqr(&p.z)
	u1 = p.x
	s1 = p.y
	u2.mul(&q.x, &z12)
	s2.mul(&q.y, &z12)
	s2.mul(&s2, &p.z)
	h.sub(&u2, &u1)
	rr.sub(&s2, &s1)
	if h.isZero() {
		if rr.isZero() {
			r.double(p)
		} else {
			r.setInfinity()
		}
		return
	}
	r.z.mul(&p.z, &h)
	r.finishAdd(&u1, &s1, &h, &rr, &h2, &h3, &t)
}

// addAffineZR is addAffine for p and q that are neither infinity nor equal
// up to sign, and also returns Z3/Z1 (= H) in zr.
func (r *jacobian) addAffineZR(p *jacobian, q *affine, zr *fe) {
	var z12, u1, u2, s1, s2, h, rr, h2, h3, t fe
	z12.sqr(&p.z)
	u1 = p.x
	s1 = p.y
	u2.mul(&q.x, &z12)
	s2.mul(&q.y, &z12)
	s2.mul(&s2, &p.z)
	h.sub(&u2, &u1)
	rr.sub(&s2, &s1)
	*zr = h
	r.z.mul(&p.z, &h)
	r.finishAdd(&u1, &s1, &h, &rr, &h2, &h3, &t)
}

// finishAdd computes X3 and Y3 of add and addAffine from U1, S1, H, R.
func (r *jacobian) finishAdd(u1, s1, h, rr, h2, h3, t *fe) {
	h2.sqr(h)
	h2.neg(h2)
	h3.mul(h2, h)
	t.mul(u1, h2)
	r.x.sqr(rr)
	r.x.add(&r.x, h3)
	r.x.add(&r.x, t)
	r.x.add(&r.x, t)
	t.add(t, &r.x)
	r.y.mul(rr, t)
	h3.mul(h3, s1)
	r.y.sub(h3, &r.y)
}

// toAffine converts p (not infinity) to affine coordinates.
func (p *jacobian) toAffine() affine {
	var zi, zi2, zi3 fe
	zi.inv(&p.z)
	zi2.sqr(&zi)
	zi3.mul(&zi2, &zi)
	var a affine
	a.x.mul(&p.x, &zi2)
	a.y.mul(&p.y, &zi3)
	a.x.normalize()
	a.y.normalize()
	return a
}

// affineX returns only the affine X coordinate of p, which is all ECDH
// needs.
func (p *jacobian) affineX() fe {
	var zi, x fe
	zi.inv(&p.z)
	zi.sqr(&zi)
	x.mul(&p.x, &zi)
	x.normalize()
	return x
}

// onCurve reports whether a satisfies y² = x³ + 7.
func (a *affine) onCurve() bool {
	var y2, x3 fe
	y2.sqr(&a.y)
	x3.sqr(&a.x)
	x3.mul(&x3, &a.x)
	x3.add(&x3, &fe{7})
	return y2.equal(&x3)
}

// batchToAffine converts points (none at infinity) with one inversion
// (Montgomery's trick).
func batchToAffine(ps []jacobian) []affine {
	out := make([]affine, len(ps))
	if len(ps) == 0 {
		return out
	}
	// prefix[i] = z0 * ... * zi
	prefix := make([]fe, len(ps))
	prefix[0] = ps[0].z
	for i := 1; i < len(ps); i++ {
		prefix[i].mul(&prefix[i-1], &ps[i].z)
	}
	var inv fe
	inv.inv(&prefix[len(ps)-1])
	for i := len(ps) - 1; i >= 0; i-- {
		var zi fe
		if i > 0 {
			zi.mul(&inv, &prefix[i-1])
			inv.mul(&inv, &ps[i].z)
		} else {
			zi = inv
		}
		var zi2, zi3 fe
		zi2.sqr(&zi)
		zi3.mul(&zi2, &zi)
		out[i].x.mul(&ps[i].x, &zi2)
		out[i].y.mul(&ps[i].y, &zi3)
		out[i].x.normalize()
		out[i].y.normalize()
	}
	return out
}

// Package ec is the module's secp256k1 arithmetic, behind the crypto
// package's Sign, Ecrecover, VerifySignature and ECDH and the RLPx
// handshake: variable time scalar multiplication (GLV endomorphism, width-5
// NAF), fixed-base multiplication from a precomputed table, ECDSA signing,
// recovery and verification that accept and produce exactly what decred's
// do (RFC 6979 nonces, low S), and the fused recovery + ECDH the RLPx
// recipient uses. Field elements use 64-bit limbs (field.go), which is what
// makes this several times faster than decred's 10x26-bit field on amd64
// and arm64. Scalars are decred's ModNScalar.
//
// Everything here is variable time, like decred's *NonConst functions and
// go-ethereum's pure-Go build (crypto.Sign's doc says so). Building with
// -tags purego replaces the amd64 assembly field multiplication with the Go
// one.
package ec

import (
	"errors"
	"math/bits"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Point is a validated affine point.
type Point struct{ a affine }

// ParsePoint decodes X || Y (64 bytes, big-endian) and checks that both
// coordinates are field elements and the point is on the curve.
func ParsePoint(b *[64]byte) (*Point, bool) {
	var p Point
	if !p.a.x.setBytes((*[32]byte)(b[:32])) || !p.a.y.setBytes((*[32]byte)(b[32:])) {
		return nil, false
	}
	if !p.a.onCurve() {
		return nil, false
	}
	return &p, true
}

// Bytes encodes p as X || Y.
func (p *Point) Bytes() (b [64]byte) {
	x, y := p.a.x.bytes(), p.a.y.bytes()
	copy(b[:32], x[:])
	copy(b[32:], y[:])
	return b
}

// ScalarMultX returns the X coordinate of k·p, the ECDH shared secret of
// rlpx.md. ok is false when the product is the point at infinity (k = 0).
func ScalarMultX(k *secp256k1.ModNScalar, p *Point) (x [32]byte, ok bool) {
	r := scalarMult(k, &p.a)
	if r.isInfinity() {
		return x, false
	}
	ax := r.affineX()
	return ax.bytes(), true
}

// ScalarBaseMult returns k·G as X || Y. k must not be zero.
func ScalarBaseMult(k *secp256k1.ModNScalar) [64]byte {
	r := scalarBaseMult(k)
	p := Point{r.toAffine()}
	return p.Bytes()
}

// Errors from RecoverMultX.
var (
	ErrSigValue    = errors.New("signature value out of range")
	ErrSigPoint    = errors.New("signature R is not a curve point")
	ErrSigInfinity = errors.New("recovered key is the point at infinity")
)

// RecoverMultX returns the X coordinate of d·Q, where Q is the public key
// that made the recoverable signature sig (R || S || V) over digest,
// without computing Q: with Q = r⁻¹(s·R - e·G),
//
//	d·Q = (d·s·r⁻¹)·R + (-d·e·r⁻¹)·G
//
// one variable-base and one fixed-base multiplication, the cost of
// recovering Q alone. The checks on r, s, V and infinity follow SEC 1
// section 4.1.6; d·Q is infinity exactly when Q is (d ≠ 0, prime order).
func RecoverMultX(d *secp256k1.ModNScalar, digest *[32]byte, sig *[65]byte) ([32]byte, error) {
	p, err := recoverMult(d, digest, sig)
	if err != nil {
		return [32]byte{}, err
	}
	x := p.affineX()
	return x.bytes(), nil
}

// Recover returns the public key Q that made the recoverable signature sig
// (R || S || V) over digest, with the checks of decred's
// ecdsa.RecoverCompact (and so of libsecp256k1): r and s in [1, n-1], V at
// most 3, R + n < p when V says R's X overflowed, R on the curve, Q not
// infinity. High S is accepted, as there.
func Recover(digest *[32]byte, sig *[65]byte) (*Point, error) {
	var one secp256k1.ModNScalar
	one.SetInt(1)
	p, err := recoverMult(&one, digest, sig)
	if err != nil {
		return nil, err
	}
	return &Point{p.toAffine()}, nil
}

// recoverMult returns d·Q for the Q that made sig, as a Jacobian point
// that is not infinity.
func recoverMult(d *secp256k1.ModNScalar, digest *[32]byte, sig *[65]byte) (jacobian, error) {
	v := sig[64]
	if v > 3 {
		return jacobian{}, ErrSigValue
	}
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || r.IsZero() || s.SetByteSlice(sig[32:64]) || s.IsZero() {
		return jacobian{}, ErrSigValue
	}
	// R's X coordinate is r, or r + n when V says the original coordinate
	// was at least n (possible because n < p).
	var R affine
	R.x.setBytes((*[32]byte)(sig[:32]))
	if v&2 != 0 {
		if !less(&R.x, &pMinusN) {
			return jacobian{}, ErrSigValue
		}
		R.x.add(&R.x, &orderN)
	}
	var y2 fe
	y2.sqr(&R.x)
	y2.mul(&y2, &R.x)
	y2.add(&y2, &fe{7})
	if !R.y.sqrt(&y2) {
		return jacobian{}, ErrSigPoint
	}
	R.y.normalize()
	if R.y.isOdd() != (v&1 == 1) {
		R.y.neg(&R.y)
		R.y.normalize()
	}

	var e, w, u1, u2 secp256k1.ModNScalar
	e.SetBytes(digest)
	w.InverseValNonConst(&r)
	w.Mul(d)
	u1.Mul2(&s, &w)
	u2.Mul2(&e, &w).Negate()

	p1 := scalarMult(&u1, &R)
	p2 := scalarBaseMult(&u2)
	p1.add(&p1, &p2)
	if p1.isInfinity() {
		return jacobian{}, ErrSigInfinity
	}
	return p1, nil
}

// Verify reports whether (r, s) is an ECDSA signature of digest by q (SEC 1
// section 4.1.4), accepting exactly what decred's Signature.Verify
// accepts: r and s in [1, n-1], any S half, and X(u1·G + u2·Q) ≡ r mod n,
// that is X = r or X = r + n (only possible when r + n < p).
func Verify(q *Point, digest *[32]byte, r, s *secp256k1.ModNScalar) bool {
	if r.IsZero() || s.IsZero() {
		return false
	}
	var e, w, u1, u2 secp256k1.ModNScalar
	e.SetBytes(digest)
	w.InverseValNonConst(s)
	u1.Mul2(&e, &w)
	u2.Mul2(r, &w)
	p1 := scalarMult(&u2, &q.a)
	p2 := scalarBaseMult(&u1)
	p1.add(&p1, &p2)
	if p1.isInfinity() {
		return false
	}
	x := p1.affineX()
	var rf fe
	rb := r.Bytes()
	rf.setBytes(&rb)
	if x.equal(&rf) {
		return true
	}
	if !less(&rf, &pMinusN) {
		return false
	}
	rf.add(&rf, &orderN)
	return x.equal(&rf)
}

// less reports a < b for canonical (fully reduced) a and b.
func less(a, b *fe) bool {
	_, borrow := bits.Sub64(a[0], b[0], 0)
	_, borrow = bits.Sub64(a[1], b[1], borrow)
	_, borrow = bits.Sub64(a[2], b[2], borrow)
	_, borrow = bits.Sub64(a[3], b[3], borrow)
	return borrow == 1
}

// orderN is the group order n as a field element, and pMinusN is p - n:
// an r of a signature can stand for the X coordinate r + n only if r < p - n.
var orderN, pMinusN = func() (fe, fe) {
	var n, d fe
	nb := secp256k1.Params().N.FillBytes(make([]byte, 32))
	n.setBytes((*[32]byte)(nb))
	d.sub(&feP, &n)
	d.normalize()
	return n, d
}()

// FromPublicKey converts a decred public key (the crypto package's
// PublicKey) to a validated point, returned by value so that the hot paths
// of the crypto package do not allocate. ok is false for nil or for
// coordinates off the curve, which secp256k1.NewPublicKey does not reject.
func FromPublicKey(p *secp256k1.PublicKey) (q Point, ok bool) {
	if p == nil {
		return q, false
	}
	var j secp256k1.JacobianPoint
	p.AsJacobian(&j)
	var b [32]byte
	j.X.Normalize().PutBytesUnchecked(b[:])
	ok = q.a.x.setBytes(&b)
	j.Y.Normalize().PutBytesUnchecked(b[:])
	ok = q.a.y.setBytes(&b) && ok
	return q, ok && q.a.onCurve()
}

// PublicKey converts p to a decred public key.
func (p *Point) PublicKey() *secp256k1.PublicKey {
	b := p.Bytes()
	var x, y secp256k1.FieldVal
	x.SetByteSlice(b[:32])
	y.SetByteSlice(b[32:])
	return secp256k1.NewPublicKey(&x, &y)
}

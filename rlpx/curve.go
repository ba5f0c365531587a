package rlpx

import (
	"errors"
	"sync/atomic"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/trellis-p2p/trellis/crypto"
)

// The handshake is dominated by secp256k1 scalar multiplications. This file
// holds the two places where we do fewer of them than the textbook flow.

var (
	errSigValue    = errors.New("signature value out of range")
	errSigPoint    = errors.New("signature R is not a curve point")
	errSigInfinity = errors.New("recovered key is the point at infinity")
)

// recoverECDH returns the X coordinate of d·Q, where Q is the public key
// that produced sig (R || S || V) over digest, without computing Q.
//
// The recipient of an auth message needs the initiator's ephemeral key Q
// only to compute the ephemeral shared secret d·Q (rlpx.md "Initial
// Handshake"). ECDSA public key recovery gives Q = r⁻¹(s·R - e·G), so
//
//	d·Q = (d·s·r⁻¹)·R + (-d·e·r⁻¹)·G
//
// which costs one variable-base and one fixed-base multiplication, the same
// as recovering Q alone; recovering Q and then computing d·Q would add a
// second variable-base multiplication. The checks on r, s, V and the
// point at infinity are those of SEC 1 section 4.1.6; d·Q is infinity
// exactly when Q is, since d is nonzero and the group has prime order.
func recoverECDH(d *secp256k1.ModNScalar, digest *[32]byte, sig *[65]byte) ([32]byte, error) {
	var out [32]byte
	v := sig[64]
	if v > 3 {
		return out, errSigValue
	}
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || r.IsZero() || s.SetByteSlice(sig[32:64]) || s.IsZero() {
		return out, errSigValue
	}

	// R's X coordinate is r, or r + n when V says the original coordinate
	// was at least the group order (possible because n < p).
	var rx secp256k1.FieldVal
	rx.SetByteSlice(sig[:32])
	if v&2 != 0 {
		if rx.IsGtOrEqPrimeMinusOrder() {
			return out, errSigValue
		}
		rx.Add(&orderAsField)
		rx.Normalize()
	}
	var R secp256k1.JacobianPoint
	if !secp256k1.DecompressY(&rx, v&1 != 0, &R.Y) {
		return out, errSigPoint
	}
	R.X.Set(&rx)
	R.Z.SetInt(1)

	var e, w, u1, u2 secp256k1.ModNScalar
	e.SetBytes(digest)
	w.InverseValNonConst(&r)
	w.Mul(d)
	u1.Mul2(&s, &w)
	u2.Mul2(&e, &w).Negate()

	var p1, p2, sum secp256k1.JacobianPoint
	secp256k1.ScalarMultNonConst(&u1, &R, &p1)
	secp256k1.ScalarBaseMultNonConst(&u2, &p2)
	secp256k1.AddNonConst(&p1, &p2, &sum)
	if sum.Z.IsZero() || (sum.X.IsZero() && sum.Y.IsZero()) {
		return out, errSigInfinity
	}
	sum.ToAffine()
	sum.X.PutBytesUnchecked(out[:])
	return out, nil
}

// orderAsField is the group order n as a field element, for r + n above.
var orderAsField = func() secp256k1.FieldVal {
	var f secp256k1.FieldVal
	n := secp256k1.Params().N.FillBytes(make([]byte, 32))
	f.SetByteSlice(n)
	return f
}()

// ecdhX returns the X coordinate of k·p (the "ecdh.agree" of rlpx.md).
func ecdhX(k *crypto.PrivateKey, p *crypto.PublicKey) [32]byte {
	return crypto.ECDH(k, p)
}

// basePoint64 returns k·G as 64 bytes X || Y.
func basePoint64(k *secp256k1.ModNScalar) (out [64]byte) {
	var p secp256k1.JacobianPoint
	secp256k1.ScalarBaseMultNonConst(k, &p)
	p.ToAffine()
	p.X.PutBytesUnchecked(out[:32])
	p.Y.PutBytesUnchecked(out[32:])
	return out
}

// A decred private key does not carry its public key (an ecdsa.PrivateKey
// does), so deriving the initiator-pubk for every dial would cost a
// fixed-base multiplication. A node dials with one key, so one cached entry
// suffices; the scalar is compared, not the pointer, so a key mutated in
// place is never paired with a stale public key.
type cachedPubkey struct {
	key secp256k1.ModNScalar
	pub [64]byte
}

var localPubkeyCache atomic.Pointer[cachedPubkey]

func localPubkey(k *crypto.PrivateKey) *[64]byte {
	if c := localPubkeyCache.Load(); c != nil && c.key.Equals(&k.Key) {
		return &c.pub
	}
	c := &cachedPubkey{key: k.Key, pub: basePoint64(&k.Key)}
	localPubkeyCache.Store(c)
	return &c.pub
}

// parsePubkey64 decodes X || Y (the handshake's pubkey encoding) and checks
// that the point is on the curve.
func parsePubkey64(b *[64]byte) (*crypto.PublicKey, error) {
	var x, y secp256k1.FieldVal
	if x.SetByteSlice(b[:32]) || y.SetByteSlice(b[32:]) {
		return nil, ErrHandshakeKey
	}
	p := secp256k1.NewPublicKey(&x, &y)
	if !p.IsOnCurve() {
		return nil, ErrHandshakeKey
	}
	return p, nil
}

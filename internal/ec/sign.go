package ec

import (
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// SignRecoverable signs a 32-byte digest with the private scalar d and
// returns R || S || V, exactly as decred's ecdsa.SignCompact (and so the
// crypto package's Sign) would: RFC 6979 nonces, S in the lower half of the
// order, V = (R.y odd) | (R.x >= n) << 1. The one fixed-base multiplication
// runs on the table of this package.
func SignRecoverable(d *secp256k1.ModNScalar, digest *[32]byte) (sig [65]byte) {
	var db [32]byte
	d.PutBytes(&db)
	defer clear(db[:])
	var e secp256k1.ModNScalar
	e.SetBytes(digest)
	for iteration := uint32(0); ; iteration++ {
		k := secp256k1.NonceRFC6979(db[:], digest[:], nil, nil, iteration)
		kG := scalarBaseMult(k)
		a := kG.toAffine()
		xb := a.x.bytes()
		var r secp256k1.ModNScalar
		overflow := r.SetBytes(&xb)
		if r.IsZero() {
			k.Zero()
			continue
		}
		v := byte(overflow<<1) | byte(a.y[0]&1)
		var kinv, s secp256k1.ModNScalar
		kinv.InverseValNonConst(k)
		k.Zero()
		s.Mul2(d, &r).Add(&e).Mul(&kinv)
		if s.IsZero() {
			continue
		}
		if s.IsOverHalfOrder() {
			s.Negate()
			v ^= 1
		}
		r.PutBytesUnchecked(sig[:32])
		s.PutBytesUnchecked(sig[32:64])
		sig[64] = v
		return sig
	}
}

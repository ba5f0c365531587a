package crypto

import (
	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/trellis-p2p/trellis/internal/ec"
)

// toPoint converts a decred public key to internal/ec's validated affine
// point. ok is false for a nil key or one whose coordinates (set through
// secp256k1.NewPublicKey, which does not check them) are not on the curve.
func toPoint(p *PublicKey) (q *ec.Point, ok bool) {
	if p == nil {
		return nil, false
	}
	var j secp256k1.JacobianPoint
	p.AsJacobian(&j)
	var b [64]byte
	j.X.Normalize().PutBytesUnchecked(b[:32])
	j.Y.Normalize().PutBytesUnchecked(b[32:])
	return ec.ParsePoint(&b)
}

// fromPoint converts a validated point back to a decred public key.
func fromPoint(q *ec.Point) *PublicKey {
	b := q.Bytes()
	var x, y secp256k1.FieldVal
	x.SetByteSlice(b[:32])
	y.SetByteSlice(b[32:])
	return secp256k1.NewPublicKey(&x, &y)
}

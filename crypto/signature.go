package crypto

import (
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/trellis-p2p/trellis/internal/ec"
)

// The curve arithmetic is internal/ec (64-bit limbs, assembly on amd64),
// several times faster than decred's; it accepts and produces exactly what
// decred's ecdsa package does, which the differential tests check. Keys
// stay decred types.

// maxRecoveryID is the largest V accepted: bit 0 is the parity of R's Y
// coordinate, bit 1 says R's X overflowed N. libsecp256k1 (and so go-ethereum
// with cgo) accepts 0..3; Sign only ever produces 0 or 1.
const maxRecoveryID = 3

// Sign creates a recoverable signature R || S || V over a 32-byte digest.
// The nonce is derived with RFC 6979, so equal inputs give equal signatures,
// and S is always in the lower half of the group order. Signing is variable
// time, as decred's (and so go-ethereum's pure-Go build) is.
func Sign(digest []byte, k *PrivateKey) ([]byte, error) {
	if len(digest) != DigestLength {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidDigest, len(digest), DigestLength)
	}
	if k == nil || k.Key.IsZero() {
		return nil, fmt.Errorf("%w: zero", ErrInvalidPrivateKey)
	}
	sig := ec.SignRecoverable(&k.Key, (*[DigestLength]byte)(digest))
	return sig[:], nil
}

// Ecrecover returns the 65-byte uncompressed public key that produced sig
// (R || S || V) over digest.
func Ecrecover(digest, sig []byte) ([]byte, error) {
	p, err := SigToPub(digest, sig)
	if err != nil {
		return nil, err
	}
	return p.SerializeUncompressed(), nil
}

// SigToPub returns the public key that produced sig (R || S || V) over
// digest. As in go-ethereum, high-S signatures are accepted here; only
// VerifySignature enforces low S.
func SigToPub(digest, sig []byte) (*PublicKey, error) {
	if len(digest) != DigestLength {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidDigest, len(digest), DigestLength)
	}
	if len(sig) != SignatureLength {
		return nil, fmt.Errorf("%w: length %d, want %d", ErrInvalidSignature, len(sig), SignatureLength)
	}
	v := sig[RecoveryIDOffset]
	if v > maxRecoveryID {
		return nil, fmt.Errorf("%w: recovery id %d", ErrInvalidSignature, v)
	}
	q, err := ec.Recover((*[DigestLength]byte)(digest), (*[SignatureLength]byte)(sig))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSignature, err)
	}
	return q.PublicKey(), nil
}

// VerifySignature reports whether sig (R || S, 64 bytes, no V) is a valid
// signature of digest by pubkey (33-byte compressed or 65-byte uncompressed).
// Like go-ethereum it rejects S in the upper half of the group order, which
// removes the (R, N-S) malleability.
func VerifySignature(pubkey, digest, sig []byte) bool {
	if len(sig) != 64 || len(digest) != DigestLength {
		return false
	}
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) {
		return false
	}
	if s.IsOverHalfOrder() {
		return false
	}
	// ParsePubKey accepts the same encodings as go-ethereum's verifier
	// (compressed, uncompressed and the rare hybrid form).
	key, err := secp256k1.ParsePubKey(pubkey)
	if err != nil {
		return false
	}
	q, ok := ec.FromPublicKey(key)
	if !ok {
		return false // unreachable: ParsePubKey checks the curve equation
	}
	return ec.Verify(&q, (*[DigestLength]byte)(digest), &r, &s)
}

// ECDH returns the X coordinate of k*p, the shared secret used by RLPx
// (rlpx.md "ECIES Encryption" and the handshake) and discv5.
//
// The multiplication is variable-time, as it is in go-ethereum's pure-Go
// build (decred's routine). A zero k (an unset PrivateKey) yields all-zero
// output.
func ECDH(k *PrivateKey, p *PublicKey) [32]byte {
	if q, ok := ec.FromPublicKey(p); ok {
		x, _ := ec.ScalarMultX(&k.Key, &q) // zero on infinity, as below
		return x
	}
	// A PublicKey built with secp256k1.NewPublicKey from coordinates off
	// the curve: keep decred's result for it, whatever it is worth.
	var point, result secp256k1.JacobianPoint
	p.AsJacobian(&point)
	secp256k1.ScalarMultNonConst(&k.Key, &point, &result)
	result.ToAffine()
	var out [32]byte
	result.X.PutBytesUnchecked(out[:])
	return out
}

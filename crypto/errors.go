package crypto

import "errors"

// Errors returned by this package. Every failure wraps one of them with
// context, so callers test with errors.Is.
var (
	// ErrInvalidPrivateKey: wrong length, zero, or not below the group order N.
	ErrInvalidPrivateKey = errors.New("crypto: invalid private key")
	// ErrInvalidPubkey: wrong length or prefix, coordinate >= field prime, or
	// not a point on secp256k1.
	ErrInvalidPubkey = errors.New("crypto: invalid public key")
	// ErrInvalidSignature: wrong length, R or S out of range, bad recovery id,
	// or no public key recoverable from it.
	ErrInvalidSignature = errors.New("crypto: invalid signature")
	// ErrInvalidDigest: the digest to sign or recover from is not 32 bytes.
	ErrInvalidDigest = errors.New("crypto: invalid digest length")
	// ErrInvalidKeyFile: a node key file is malformed (length, characters,
	// trailing data). Key value errors wrap ErrInvalidPrivateKey instead.
	ErrInvalidKeyFile = errors.New("crypto: invalid node key file")
)

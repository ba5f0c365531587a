package crypto

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// PrivateKey is a secp256k1 private key.
type PrivateKey = secp256k1.PrivateKey

// PublicKey is a secp256k1 public key (an affine point on the curve).
type PublicKey = secp256k1.PublicKey

// Sizes of the encodings handled by this package.
const (
	SignatureLength        = 64 + 1 // R || S || V
	RecoveryIDOffset       = 64     // index of V in a signature
	DigestLength           = 32     // message digests are Keccak-256 outputs
	PubkeyLength           = 65     // 0x04 || X || Y
	CompressedPubkeyLength = 33     // 0x02/0x03 || X
	PrivateKeyLength       = 32     // big-endian scalar
)

// GenerateKey creates a private key from crypto/rand.
func GenerateKey() (*PrivateKey, error) {
	return GenerateKeyFrom(rand.Reader)
}

// GenerateKeyFrom creates a private key from the entropy in r. It exists for
// deterministic tests; r must be a CSPRNG for real keys.
func GenerateKeyFrom(r io.Reader) (*PrivateKey, error) {
	k, err := secp256k1.GeneratePrivateKeyFromRand(r)
	if err != nil {
		return nil, fmt.Errorf("crypto: generating key: %w", err)
	}
	return k, nil
}

// ToPrivateKey decodes a 32-byte big-endian scalar k with 0 < k < N. Unlike
// go-ethereum's ToECDSAUnsafe, shorter encodings are rejected rather than
// zero-padded.
func ToPrivateKey(b []byte) (*PrivateKey, error) {
	if len(b) != PrivateKeyLength {
		return nil, fmt.Errorf("%w: length %d, want %d", ErrInvalidPrivateKey, len(b), PrivateKeyLength)
	}
	k := new(PrivateKey)
	if overflow := k.Key.SetByteSlice(b); overflow {
		k.Key.Zero()
		return nil, fmt.Errorf("%w: value >= group order", ErrInvalidPrivateKey)
	}
	if k.Key.IsZero() {
		return nil, fmt.Errorf("%w: zero", ErrInvalidPrivateKey)
	}
	return k, nil
}

// FromPrivateKey encodes k as a 32-byte big-endian scalar.
func FromPrivateKey(k *PrivateKey) []byte {
	b := k.Key.Bytes()
	return b[:]
}

// HexToPrivateKey decodes a private key from 64 hex characters (no 0x prefix).
func HexToPrivateKey(s string) (*PrivateKey, error) {
	if len(s) != 2*PrivateKeyLength {
		return nil, fmt.Errorf("%w: %d hex characters, want %d", ErrInvalidPrivateKey, len(s), 2*PrivateKeyLength)
	}
	var b [PrivateKeyLength]byte
	defer clear(b[:])
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPrivateKey, err)
	}
	return ToPrivateKey(b[:])
}

// MarshalPubkey encodes p as 65 bytes: 0x04 || X || Y.
func MarshalPubkey(p *PublicKey) []byte {
	return p.SerializeUncompressed()
}

// UnmarshalPubkey decodes a 65-byte uncompressed public key (0x04 || X || Y),
// checking that both coordinates are field elements and the point is on the
// curve. Hybrid encodings (0x06/0x07) are rejected, as in go-ethereum.
func UnmarshalPubkey(b []byte) (*PublicKey, error) {
	if len(b) != PubkeyLength {
		return nil, fmt.Errorf("%w: length %d, want %d", ErrInvalidPubkey, len(b), PubkeyLength)
	}
	if b[0] != secp256k1.PubKeyFormatUncompressed {
		return nil, fmt.Errorf("%w: prefix %#02x, want 0x04", ErrInvalidPubkey, b[0])
	}
	p, err := secp256k1.ParsePubKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPubkey, err)
	}
	return p, nil
}

// CompressPubkey encodes p as 33 bytes: 0x02 or 0x03 (Y parity) || X.
func CompressPubkey(p *PublicKey) []byte {
	return p.SerializeCompressed()
}

// DecompressPubkey decodes a 33-byte compressed public key, rejecting X
// coordinates that are not field elements or have no point on the curve.
func DecompressPubkey(b []byte) (*PublicKey, error) {
	if len(b) != CompressedPubkeyLength {
		return nil, fmt.Errorf("%w: length %d, want %d", ErrInvalidPubkey, len(b), CompressedPubkeyLength)
	}
	p, err := secp256k1.ParsePubKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPubkey, err)
	}
	return p, nil
}

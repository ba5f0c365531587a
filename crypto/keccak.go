package crypto

import (
	"hash"

	"golang.org/x/crypto/sha3"
)

// KeccakState is a legacy Keccak-256 sponge. Besides hash.Hash it can be
// squeezed with Read, which finalises the state and avoids the copy that Sum
// makes; after Read, Write is not allowed until Reset.
type KeccakState interface {
	hash.Hash
	Read([]byte) (int, error)
}

// NewKeccak256 returns a Keccak-256 sponge (original Keccak padding, as used
// throughout Ethereum, not FIPS 202 SHA3-256).
func NewKeccak256() KeccakState {
	return sha3.NewLegacyKeccak256().(KeccakState)
}

// Keccak256 returns the Keccak-256 digest of the concatenation of data.
func Keccak256(data ...[]byte) []byte {
	h := Keccak256Hash(data...)
	return h[:]
}

// Keccak256Hash is Keccak256 returning an array, free of heap allocations.
func Keccak256Hash(data ...[]byte) (h [32]byte) {
	d := NewKeccak256()
	for _, b := range data {
		d.Write(b)
	}
	d.Read(h[:])
	return h
}

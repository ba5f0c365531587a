package crypto

import (
	"hash"

	"github.com/trellis-p2p/trellis/internal/keccak"
)

// KeccakState is a legacy Keccak-256 sponge. Besides hash.Hash it can be
// squeezed with Read, which finalises the state and yields any amount of
// output; after Read, Write and Sum panic until Reset.
type KeccakState interface {
	hash.Hash
	Read([]byte) (int, error)
}

// NewKeccak256 returns a Keccak-256 sponge (original Keccak padding, as used
// throughout Ethereum, not FIPS 202 SHA3-256). It is the module's one
// implementation (internal/keccak), shared with the RLPx MAC.
func NewKeccak256() KeccakState {
	return keccak.New()
}

// Keccak256 returns the Keccak-256 digest of the concatenation of data.
func Keccak256(data ...[]byte) []byte {
	h := keccak.Sum256(data...)
	return h[:]
}

// Keccak256Hash is Keccak256 returning an array. It does not allocate.
func Keccak256Hash(data ...[]byte) [32]byte {
	return keccak.Sum256(data...)
}

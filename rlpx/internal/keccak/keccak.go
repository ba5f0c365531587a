// Package keccak is a Keccak-256 sponge (the original Keccak padding used by
// Ethereum, not FIPS 202 SHA3-256) built for the RLPx MAC (devp2p rlpx.md,
// "MAC"): the MAC reads a digest of the running state after every header and
// frame, so Sum256 takes that digest without allocating and without
// finalising the state.
package keccak

//go:generate go run gen.go -unroll 12

import (
	"encoding/binary"
	"errors"
	"hash"
)

const (
	// Rate is the number of input bytes absorbed per permutation.
	Rate = (1600 - 2*256) / 8
	// Size is the digest length.
	Size = 32

	rateLanes = Rate / 8
	// dsbyte is Keccak's padding start (0x01), where SHA3 has 0x06.
	dsbyte = 0x01
)

// State is a Keccak-256 sponge. The zero value is an empty hash, ready to
// use. It implements hash.Hash; a State is not safe for concurrent use.
type State struct {
	// a holds the 25 lanes. Input is XORed straight into the first
	// rateLanes lanes (little-endian), so there is no separate buffer.
	a [25]uint64
	// n is the number of bytes absorbed into the current block.
	n int
}

var _ hash.Hash = (*State)(nil)

// New returns an empty Keccak-256 sponge.
func New() *State { return new(State) }

// Size returns the digest length, 32.
func (s *State) Size() int { return Size }

// BlockSize returns the sponge rate, 136.
func (s *State) BlockSize() int { return Rate }

// Reset empties the sponge.
func (s *State) Reset() { *s = State{} }

// Write absorbs p. It never fails.
func (s *State) Write(p []byte) (int, error) {
	written := len(p)
	a := &s.a
	n := s.n
	for len(p) > 0 {
		if n&7 == 0 && len(p) >= 8 {
			// Whole lanes. Input words are read little-endian at any
			// alignment of p; only the state position must be lane aligned.
			i := n >> 3
			for ; i < rateLanes && len(p) >= 8; i++ {
				a[i] ^= binary.LittleEndian.Uint64(p)
				p = p[8:]
			}
			n = i << 3
		} else {
			a[n>>3] ^= uint64(p[0]) << (8 * (n & 7))
			p = p[1:]
			n++
		}
		if n == Rate {
			permute(a)
			n = 0
		}
	}
	s.n = n
	return written, nil
}

// Sum256 writes the digest of everything absorbed so far to out. The state
// is left unchanged, so absorbing can continue.
func (s *State) Sum256(out *[Size]byte) {
	d := s.a
	d[s.n>>3] ^= uint64(dsbyte) << (8 * (s.n & 7))
	d[rateLanes-1] ^= 0x80 << 56
	permute(&d)
	binary.LittleEndian.PutUint64(out[0:], d[0])
	binary.LittleEndian.PutUint64(out[8:], d[1])
	binary.LittleEndian.PutUint64(out[16:], d[2])
	binary.LittleEndian.PutUint64(out[24:], d[3])
}

// Sum appends the digest to b, leaving the state unchanged.
func (s *State) Sum(b []byte) []byte {
	var d [Size]byte
	s.Sum256(&d)
	return append(b, d[:]...)
}

// Sum256 returns the Keccak-256 digest of data.
func Sum256(data []byte) (out [Size]byte) {
	var s State
	s.Write(data)
	s.Sum256(&out)
	return out
}

// The serialised state is the format of golang.org/x/crypto/sha3's legacy
// Keccak-256, so states move between the two implementations:
// magic || rate || 200 state bytes || n || direction (0 = absorbing).
const (
	magic         = "sha\x0b"
	marshaledSize = len(magic) + 1 + 200 + 1 + 1
)

// ErrInvalidState is returned by UnmarshalBinary for input that is not an
// absorbing Keccak-256 state.
var ErrInvalidState = errors.New("keccak: invalid hash state")

// AppendBinary appends the serialised state to b.
func (s *State) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, magic...)
	b = append(b, Rate)
	for _, lane := range s.a {
		b = binary.LittleEndian.AppendUint64(b, lane)
	}
	b = append(b, byte(s.n), 0)
	return b, nil
}

// MarshalBinary returns the serialised state.
func (s *State) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, marshaledSize))
}

// UnmarshalBinary restores a state serialised by MarshalBinary or by
// x/crypto/sha3's legacy Keccak-256. Squeezing states are rejected.
func (s *State) UnmarshalBinary(b []byte) error {
	if len(b) != marshaledSize || string(b[:len(magic)]) != magic {
		return ErrInvalidState
	}
	b = b[len(magic):]
	if b[0] != Rate {
		return ErrInvalidState
	}
	n, dir := int(b[201]), b[202]
	if n >= Rate || dir != 0 {
		return ErrInvalidState
	}
	for i := range s.a {
		s.a[i] = binary.LittleEndian.Uint64(b[1+8*i:])
	}
	s.n = n
	return nil
}

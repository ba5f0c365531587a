// Package keccak is a Keccak-256 sponge (the original Keccak padding used by
// Ethereum, not FIPS 202 SHA3-256) built for the RLPx MAC (devp2p rlpx.md,
// "MAC"): the MAC reads a digest of the running state after every header and
// frame, so Sum256 takes that digest without allocating and without
// finalising the state.
//
// Absorbing is where the time goes, and the standard library's crypto/sha3
// has an assembly Keccak-f[1600] that this package's Go permutation cannot
// match under load. SHA3-256 and Keccak-256 share the rate (136 bytes) and
// differ only in the padding applied when finishing, so a crypto/sha3
// SHA3-256 absorbs exactly as Keccak-256 does. Sum256 applies Keccak's
// padding itself through the serialised state (std.go). A self-test at
// start-up checks the trick against the Go permutation and falls back to
// it if the standard library ever changes its state format.
package keccak

//go:generate go run gen.go -unroll 12

import (
	"crypto/sha3"
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
// use, and a State may be copied by value to fork the hash. It implements
// hash.Hash; a State is not safe for concurrent use.
type State struct {
	std sha3.SHA3 // the sponge when useStd
	g   goSponge  // the sponge otherwise
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
	if useStd {
		return s.std.Write(p)
	}
	s.g.write(p)
	return len(p), nil
}

// Sum256 writes the digest of everything absorbed so far to out. The state
// is left unchanged, so absorbing can continue.
func (s *State) Sum256(out *[Size]byte) {
	if useStd {
		stdSum256(&s.std, out)
		return
	}
	s.g.sum256(out)
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
// Keccak-256 (and crypto/sha3's, with another magic), so states move
// between implementations:
// magic || rate || 200 state bytes || n || direction (0 = absorbing).
const (
	magic         = "sha\x0b"
	magicSHA3     = "sha\x08"
	marshaledSize = len(magic) + 1 + 200 + 1 + 1
	offState      = len(magic) + 1
	offN          = offState + 200
)

// ErrInvalidState is returned by UnmarshalBinary for input that is not an
// absorbing Keccak-256 state.
var ErrInvalidState = errors.New("keccak: invalid hash state")

// AppendBinary appends the serialised state to b.
func (s *State) AppendBinary(b []byte) ([]byte, error) {
	if !useStd {
		return s.g.appendBinary(b), nil
	}
	off := len(b)
	b, err := s.std.AppendBinary(b)
	if err != nil {
		return nil, err
	}
	copy(b[off:], magic)
	return b, nil
}

// MarshalBinary returns the serialised state.
func (s *State) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, marshaledSize))
}

// UnmarshalBinary restores a state serialised by MarshalBinary or by
// x/crypto/sha3's legacy Keccak-256. Squeezing states are rejected.
func (s *State) UnmarshalBinary(b []byte) error {
	if len(b) != marshaledSize || string(b[:len(magic)]) != magic ||
		b[len(magic)] != Rate || int(b[offN]) >= Rate || b[offN+1] != 0 {
		return ErrInvalidState
	}
	if !useStd {
		s.g.unmarshal(b)
		return nil
	}
	var buf [marshaledSize]byte
	copy(buf[:], b)
	copy(buf[:], magicSHA3)
	if err := s.std.UnmarshalBinary(buf[:]); err != nil {
		return ErrInvalidState
	}
	return nil
}

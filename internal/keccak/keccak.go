// Package keccak is the module's one Keccak-256 (the original Keccak padding
// used by Ethereum, not FIPS 202 SHA3-256): crypto.Keccak256 and friends and
// the RLPx MAC (devp2p rlpx.md, "MAC") both run on it. The MAC reads a digest
// of the running state after every header and frame, so State.Sum256 takes
// that digest without allocating and without finalising the state.
//
// Absorbing is where the time goes, and the standard library's crypto/sha3
// has an assembly Keccak-f[1600] that this package's Go permutation cannot
// match under load. SHA3-256 and Keccak-256 share the rate (136 bytes) and
// differ only in the padding applied when finishing, so a crypto/sha3
// SHA3-256 absorbs exactly as Keccak-256 does. Sum256 applies Keccak's
// padding itself through the serialised state (std.go). A self-test at
// start-up checks the trick against the Go permutation and falls back to
// it if the standard library ever changes its state format.
//
// Finishing through the serialised state copies it twice, which costs more
// than the permutation it saves on short input, so the one-shot Sum256
// hashes short input with the Go sponge (see oneShotStdMin).
package keccak

//go:generate go run gen.go

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
	std sha3.SHA3 // the sponge when useStd, until Read
	g   goSponge  // the sponge otherwise, and always once squeezing
	// squeezing is set by the first Read: the input is padded and the
	// state only yields output from then on.
	squeezing bool
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

// Write absorbs p. It never fails; it panics after Read, until Reset.
func (s *State) Write(p []byte) (int, error) {
	if s.squeezing {
		panic("keccak: Write after Read")
	}
	if useStd {
		return s.std.Write(p)
	}
	s.g.write(p)
	return len(p), nil
}

// Sum256 writes the digest of everything absorbed so far to out. The state
// is left unchanged, so absorbing can continue. It panics after Read.
func (s *State) Sum256(out *[Size]byte) {
	if s.squeezing {
		panic("keccak: Sum after Read")
	}
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

// Read pads the input on its first call and then squeezes len(out) bytes
// of output (the first 32 are the digest). After Read, Write and Sum panic
// until Reset. Squeezing always runs on the Go permutation: nobody squeezes
// much, and crypto/sha3 cannot continue a Keccak squeeze.
func (s *State) Read(out []byte) (int, error) {
	if !s.squeezing {
		if useStd {
			var buf [marshaledSize]byte
			b, _ := s.std.AppendBinary(buf[:0])
			s.g.unmarshal(b)
			s.std = sha3.SHA3{}
		}
		s.g.pad()
		s.squeezing = true
	}
	s.g.read(out)
	return len(out), nil
}

// oneShotStdMin is the input length from which Sum256 uses the crypto/sha3
// route. Below it the Go sponge wins, because finishing on crypto/sha3
// copies the serialised state out and in (stdSum256). Measured on amd64
// (AMD EPYC, best of 200 rounds of 200 digests, machine under load), Go vs
// crypto/sha3: 32 B 338 vs 367 ns, 200 B 649 vs 679 ns, 272 B 990 vs
// 975 ns, 680 B 1981 vs 1907 ns. BenchmarkSum256OneShot measures both.
const oneShotStdMin = 2 * Rate

// Sum256 returns the Keccak-256 digest of the concatenation of data,
// without allocating.
func Sum256(data ...[]byte) (out [Size]byte) {
	total := 0
	for _, p := range data {
		total += len(p)
	}
	if !useStd || total < oneShotStdMin {
		var g goSponge
		for _, p := range data {
			g.write(p)
		}
		g.sum256(&out)
		return out
	}
	s := State{std: sha3Template}
	for _, p := range data {
		s.std.Write(p)
	}
	stdSum256(&s.std, &out)
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
// A squeezing state cannot be serialised.
func (s *State) AppendBinary(b []byte) ([]byte, error) {
	if s.squeezing {
		return nil, ErrInvalidState
	}
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
	s.squeezing = false
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

package keccak

import "crypto/sha3"

// Absorber is a Keccak-256 that absorbs input and takes digests of it but
// never squeezes: what a long-running hash such as the RLPx MAC (devp2p
// rlpx.md, "MAC") needs. A State carries two sponges, the crypto/sha3 one
// and the Go one that squeezing and the fallback use; an Absorber carries
// only the Go one, and a crypto/sha3 one beside it only where that route
// is in use (no assembly permutation of our own), which more than halves
// the memory an idle RLPx connection spends on its two MACs.
//
// The zero value is an empty hash, ready to use. An Absorber must not be
// copied after first use (the crypto/sha3 sponge is held by pointer); use
// Set to fork.
type Absorber struct {
	g   goSponge   // the sponge, unless the crypto/sha3 route is in use
	std *sha3.SHA3 // the sponge on the crypto/sha3 route
	// mode is the sponge in use, fixed by the first use: modeStd or modeGo.
	mode uint8
}

const (
	modeUnset = iota
	modeStd
	modeGo
)

func (a *Absorber) pick() {
	if a.mode != modeUnset {
		return
	}
	if useStd {
		a.mode = modeStd
		a.std = new(sha3.SHA3)
		*a.std = sha3Template
	} else {
		a.mode = modeGo
	}
}

// Set makes a hold the same state as s, which is left unchanged. It
// panics if s is squeezing (after Read): such a state cannot absorb.
func (a *Absorber) Set(s *State) {
	if s.squeezing {
		panic("keccak: Absorber.Set of a squeezing State")
	}
	*a = Absorber{}
	a.pick()
	if a.mode == modeStd {
		*a.std = s.std
		return
	}
	a.g = s.g
}

// Write absorbs p. It never fails.
func (a *Absorber) Write(p []byte) (int, error) {
	a.pick()
	if a.mode == modeStd {
		return a.std.Write(p)
	}
	a.g.write(p)
	return len(p), nil
}

// Sum256 writes the digest of everything absorbed so far to out, leaving
// the state unchanged.
func (a *Absorber) Sum256(out *[Size]byte) {
	a.pick()
	if a.mode == modeStd {
		stdSum256(a.std, out)
		return
	}
	a.g.sum256(out)
}

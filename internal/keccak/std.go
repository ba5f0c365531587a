package keccak

import (
	"bytes"
	"crypto/sha3"
)

// stdOK reports that the crypto/sha3 route passed its self-test against
// the Go permutation. useStd selects it as the sponge (see the package
// comment): only when there is no assembly permutation of our own, which
// is faster than crypto/sha3's and needs none of the serialised-state
// copies of stdSum256.
var (
	stdOK  = stdSelfTest()
	useStd = stdOK && !useAsm
)

// sha3Template is an initialised SHA3-256: UnmarshalBinary needs one, and
// copying it avoids the allocation of sha3.New256.
var sha3Template = *sha3.New256()

var keccakPad = [1]byte{0x80}

// stdSum256 finishes a copy of s with Keccak's padding. The serialised
// state exposes the lanes and the position n: XOR the 0x01 of Keccak's
// padding at n, declare the block full but for its last byte, and absorb
// 0x80 there, which completes the padding and runs the permutation. The
// digest is then the first 32 bytes of the state.
func stdSum256(s *sha3.SHA3, out *[Size]byte) {
	var buf [marshaledSize]byte
	b, _ := s.AppendBinary(buf[:0])
	n := int(b[offN])
	b[offState+n] ^= dsbyte
	b[offN] = Rate - 1
	t := sha3Template
	if err := t.UnmarshalBinary(b); err != nil {
		panic("keccak: crypto/sha3 rejected its own state: " + err.Error())
	}
	t.Write(keccakPad[:])
	b, _ = t.AppendBinary(buf[:0])
	copy(out[:], b[offState:])
}

// stdSelfTest compares the crypto/sha3 route with the Go sponge on inputs
// that end at every position of a block, and checks that the state format
// is the one this package expects.
func stdSelfTest() bool {
	defer func() { recover() }() // any surprise means: do not use it
	var buf [marshaledSize]byte
	st := sha3Template
	b, err := st.AppendBinary(buf[:0])
	if err != nil || len(b) != marshaledSize || string(b[:len(magicSHA3)]) != magicSHA3 || b[len(magicSHA3)] != Rate {
		return false
	}
	input := make([]byte, 2*Rate+1)
	for i := range input {
		input[i] = byte(i*7 + 3)
	}
	for n := 0; n <= len(input); n += 1 {
		var g goSponge
		g.write(input[:n])
		var want, got [Size]byte
		g.sum256(&want)
		s := sha3Template
		s.Write(input[:n])
		stdSum256(&s, &got)
		if !bytes.Equal(got[:], want[:]) {
			return false
		}
	}
	return true
}

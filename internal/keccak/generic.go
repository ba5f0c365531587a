package keccak

import "encoding/binary"

// useAsm selects the assembly Keccak-f[1600] (permuteAsm) for the Go
// sponge, where the CPU has one; else it runs the generated Go one
// (keccakf.go). Tests switch it to check one against the other.
var useAsm = asmOK

// permuteSponge is the permutation the Go sponge runs. The calls are
// direct, not through a function value, so that states on the stack stay
// there.
func permuteSponge(a *[25]uint64) {
	if useAsm {
		permuteAsm(a)
		return
	}
	permute(a)
}

// goSponge is the sponge on this package's own Keccak-f[1600].
type goSponge struct {
	// a holds the 25 lanes. Input is XORed straight into the first
	// rateLanes lanes (little-endian), so there is no separate buffer.
	a [25]uint64
	// n is the number of bytes absorbed into the current block.
	n int
}

func (s *goSponge) write(p []byte) {
	a := &s.a
	n := s.n
	for len(p) > 0 {
		if n == 0 && len(p) >= Rate {
			b := (*[Rate]byte)(p)
			for i := range rateLanes {
				a[i] ^= binary.LittleEndian.Uint64(b[8*i:])
			}
			permuteSponge(a)
			p = p[Rate:]
			continue
		}
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
			permuteSponge(a)
			n = 0
		}
	}
	s.n = n
}

func (s *goSponge) sum256(out *[Size]byte) {
	d := s.a
	d[s.n>>3] ^= uint64(dsbyte) << (8 * (s.n & 7))
	d[rateLanes-1] ^= 0x80 << 56
	permuteSponge(&d)
	binary.LittleEndian.PutUint64(out[0:], d[0])
	binary.LittleEndian.PutUint64(out[8:], d[1])
	binary.LittleEndian.PutUint64(out[16:], d[2])
	binary.LittleEndian.PutUint64(out[24:], d[3])
}

func (s *goSponge) appendBinary(b []byte) []byte {
	b = append(b, magic...)
	b = append(b, Rate)
	for _, lane := range s.a {
		b = binary.LittleEndian.AppendUint64(b, lane)
	}
	return append(b, byte(s.n), 0)
}

// unmarshal loads a state UnmarshalBinary has validated.
func (s *goSponge) unmarshal(b []byte) {
	for i := range s.a {
		s.a[i] = binary.LittleEndian.Uint64(b[offState+8*i:])
	}
	s.n = int(b[offN])
}

// pad applies Keccak's multi-rate padding (pad10*1 after the 0x01 domain
// byte) and permutes: the sponge then squeezes from byte n = 0.
func (s *goSponge) pad() {
	s.a[s.n>>3] ^= uint64(dsbyte) << (8 * (s.n & 7))
	s.a[rateLanes-1] ^= 0x80 << 56
	permuteSponge(&s.a)
	s.n = 0
}

// read squeezes len(out) bytes, n counting the bytes of the current block
// already output.
func (s *goSponge) read(out []byte) {
	for len(out) > 0 {
		if s.n == Rate {
			permuteSponge(&s.a)
			s.n = 0
		}
		// Whole lanes when aligned (the usual 32-byte reads), else bytes.
		for s.n&7 == 0 && s.n < Rate && len(out) >= 8 {
			binary.LittleEndian.PutUint64(out, s.a[s.n>>3])
			out = out[8:]
			s.n += 8
		}
		for s.n < Rate && len(out) > 0 && (s.n&7 != 0 || len(out) < 8) {
			out[0] = byte(s.a[s.n>>3] >> (8 * (s.n & 7)))
			out = out[1:]
			s.n++
		}
	}
}

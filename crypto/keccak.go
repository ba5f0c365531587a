package crypto

import (
	"encoding/binary"
	"hash"
)

//go:generate go run gen_keccakf.go

// Legacy Keccak-256 parameters: capacity 512 bits, so 136-byte blocks, and the
// original Keccak padding 0x01 ... 0x80 (FIPS 202 uses 0x06 instead).
const (
	keccakRate    = 136
	keccakLanes   = keccakRate / 8
	keccakDSByte  = 0x01
	keccakOutSize = 32
)

// KeccakState is a legacy Keccak-256 sponge. Besides hash.Hash it can be
// squeezed with Read, which finalises the state without the copy Sum makes
// and yields any amount of output; after Read, Write and Sum panic until
// Reset.
type KeccakState interface {
	hash.Hash
	Read([]byte) (int, error)
}

// NewKeccak256 returns a Keccak-256 sponge (original Keccak padding, as used
// throughout Ethereum, not FIPS 202 SHA3-256).
func NewKeccak256() KeccakState {
	return new(keccakState)
}

// Keccak256 returns the Keccak-256 digest of the concatenation of data.
func Keccak256(data ...[]byte) []byte {
	h := Keccak256Hash(data...)
	return h[:]
}

// Keccak256Hash is Keccak256 returning an array. It does not allocate: the
// sponge lives on the stack, which costs less than pooling one.
func Keccak256Hash(data ...[]byte) [32]byte {
	var d keccakState
	for _, b := range data {
		d.Write(b)
	}
	return d.sum32()
}

// keccakState implements KeccakState. Input is XORed straight into the
// lanes, so there is no separate block buffer.
type keccakState struct {
	a [25]uint64
	// n counts bytes absorbed into the current block while absorbing, or
	// bytes of the current block already output while squeezing.
	n         int
	squeezing bool
}

func (d *keccakState) BlockSize() int { return keccakRate }
func (d *keccakState) Size() int      { return keccakOutSize }

func (d *keccakState) Reset() { *d = keccakState{} }

// Write absorbs p. It never fails.
func (d *keccakState) Write(p []byte) (int, error) {
	if d.squeezing {
		panic("crypto: Keccak Write after Read")
	}
	n := len(p)
	if d.n > 0 {
		k := min(len(p), keccakRate-d.n)
		d.xorBytes(p[:k])
		p = p[k:]
		if d.n == keccakRate {
			keccakF1600(&d.a)
			d.n = 0
		}
	}
	if full := len(p) - len(p)%keccakRate; full > 0 {
		absorbBlocks(&d.a, p[:full])
		p = p[full:]
	}
	if len(p) > 0 {
		d.xorBytes(p)
	}
	return n, nil
}

// xorBytes XORs p into the block at offset d.n; p must fit in the block.
func (d *keccakState) xorBytes(p []byte) {
	i := d.n
	for ; i%8 != 0 && len(p) > 0; i++ {
		d.a[i/8] ^= uint64(p[0]) << (8 * (i % 8))
		p = p[1:]
	}
	if len(p) >= 8 {
		lanes := d.a[i/8 : i/8+len(p)/8]
		for j := range lanes {
			lanes[j] ^= binary.LittleEndian.Uint64(p[8*j:])
		}
		i += 8 * len(lanes)
		p = p[8*len(lanes):]
	}
	for ; len(p) > 0; i++ {
		d.a[i/8] ^= uint64(p[0]) << (8 * (i % 8))
		p = p[1:]
	}
	d.n = i
}

// Read pads the input on first use and then squeezes len(out) bytes.
func (d *keccakState) Read(out []byte) (int, error) {
	if !d.squeezing {
		d.pad()
	}
	n := len(out)
	for len(out) > 0 {
		if d.n == keccakRate {
			keccakF1600(&d.a)
			d.n = 0
		}
		// Output whole lanes when aligned (the common 32-byte digest),
		// otherwise byte by byte.
		for d.n%8 == 0 && d.n < keccakRate && len(out) >= 8 {
			binary.LittleEndian.PutUint64(out, d.a[d.n/8])
			out = out[8:]
			d.n += 8
		}
		for d.n < keccakRate && len(out) > 0 && (d.n%8 != 0 || len(out) < 8) {
			out[0] = byte(d.a[d.n/8] >> (8 * (d.n % 8)))
			out = out[1:]
			d.n++
		}
	}
	return n, nil
}

// pad applies Keccak's multi-rate padding (pad10*1 with the 0x01 domain byte)
// and permutes, switching the sponge to squeezing.
func (d *keccakState) pad() {
	d.a[d.n/8] ^= keccakDSByte << (8 * (d.n % 8))
	d.a[keccakLanes-1] ^= 0x80 << 56
	keccakF1600(&d.a)
	d.n = 0
	d.squeezing = true
}

// Sum appends the digest of the data written so far to b, leaving the state
// unchanged so writing can continue.
func (d *keccakState) Sum(b []byte) []byte {
	if d.squeezing {
		panic("crypto: Keccak Sum after Read")
	}
	dup := *d
	h := dup.sum32()
	return append(b, h[:]...)
}

// sum32 pads, permutes and returns the 32-byte digest: Read's work for the
// one size every caller wants, without its loops.
func (d *keccakState) sum32() (h [keccakOutSize]byte) {
	d.pad()
	binary.LittleEndian.PutUint64(h[0:], d.a[0])
	binary.LittleEndian.PutUint64(h[8:], d.a[1])
	binary.LittleEndian.PutUint64(h[16:], d.a[2])
	binary.LittleEndian.PutUint64(h[24:], d.a[3])
	d.n = keccakOutSize
	return h
}

// absorbBlocks XORs each 136-byte block of p (len(p) is a multiple of the
// rate) into a and permutes.
func absorbBlocks(a *[25]uint64, p []byte) {
	for len(p) >= keccakRate {
		for i := 0; i < keccakLanes; i++ {
			a[i] ^= binary.LittleEndian.Uint64(p[8*i:])
		}
		keccakF1600(a)
		p = p[keccakRate:]
	}
}

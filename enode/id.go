package enode

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enr"
)

// ID is a node identifier: for the "v4" identity scheme, keccak256 of the
// node's uncompressed public key without its 0x04 prefix (enr.md).
type ID [32]byte

// PubkeyToIDV4 derives the v4 node ID of a public key.
func PubkeyToIDV4(p *crypto.PublicKey) ID {
	return ID(enr.V4NodeAddr(p))
}

// Bytes returns the ID as a slice.
func (id ID) Bytes() []byte { return id[:] }

// String returns the ID as 64 hex characters.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// GoString returns a HexID call that reproduces the ID.
func (id ID) GoString() string { return `enode.HexID("` + id.String() + `")` }

// TerminalString returns the first 8 bytes in hex, for logs.
func (id ID) TerminalString() string { return hex.EncodeToString(id[:8]) }

// MarshalText encodes the ID as hex (encoding.TextMarshaler).
func (id ID) MarshalText() ([]byte, error) {
	b := make([]byte, hex.EncodedLen(len(id)))
	hex.Encode(b, id[:])
	return b, nil
}

// UnmarshalText decodes an ID with ParseID (encoding.TextUnmarshaler).
func (id *ID) UnmarshalText(text []byte) error {
	dec, err := ParseID(string(text))
	if err != nil {
		return err
	}
	*id = dec
	return nil
}

// ParseID decodes a 64-character hex ID, optionally prefixed with "0x".
func ParseID(s string) (ID, error) {
	var id ID
	h := strings.TrimPrefix(s, "0x")
	if len(h) != hex.EncodedLen(len(id)) {
		return id, fmt.Errorf("%w: %d hex characters, want %d", ErrInvalidID, len(h), hex.EncodedLen(len(id)))
	}
	if _, err := hex.Decode(id[:], []byte(h)); err != nil {
		return ID{}, fmt.Errorf("%w: %v", ErrInvalidID, err)
	}
	return id, nil
}

// HexID is ParseID for constants in tests: it panics on invalid input.
func HexID(s string) ID {
	id, err := ParseID(s)
	if err != nil {
		panic(err)
	}
	return id
}

// The Kademlia metric of discovery (discv4.md "Kademlia table", discv5
// "Node Table"): the distance of two IDs is their bitwise XOR, read as a
// big-endian number.

// LogDist returns the logarithmic distance of a and b: the bit length of
// a XOR b, from 0 (equal) to 256.
func LogDist(a, b ID) int {
	for i := 0; i < len(a); i += 8 {
		x := binary.BigEndian.Uint64(a[i:]) ^ binary.BigEndian.Uint64(b[i:])
		if x != 0 {
			return (len(a)-i)*8 - bits.LeadingZeros64(x)
		}
	}
	return 0
}

// DistCmp compares the distances of a and b to target: -1 if a is closer,
// 1 if b is closer, 0 if a == b.
func DistCmp(target, a, b ID) int {
	for i := 0; i < len(target); i += 8 {
		t := binary.BigEndian.Uint64(target[i:])
		da := t ^ binary.BigEndian.Uint64(a[i:])
		db := t ^ binary.BigEndian.Uint64(b[i:])
		switch {
		case da < db:
			return -1
		case da > db:
			return 1
		}
	}
	return 0
}

// RandomID returns a random ID at log distance n from a: it shares a's
// 256-n leading bits, differs in the next one, and the bits after that are
// random. RandomID(a, 0) is a. It panics unless 0 <= n <= 256. The
// randomness is not cryptographic; this is for picking lookup targets and
// building test tables.
func RandomID(a ID, n int) ID {
	if n < 0 || n > len(a)*8 {
		panic(fmt.Sprintf("enode: RandomID distance %d out of range [0, 256]", n))
	}
	if n == 0 {
		return a
	}
	b := a
	pos := len(a)*8 - n // index of the differing bit, counted from the MSB
	i := pos / 8
	bit := byte(0x80) >> (pos % 8)
	b[i] ^= bit
	// Randomise the bits after pos: within byte i, then whole bytes.
	mask := bit - 1
	b[i] = b[i]&^mask | byte(rand.Uint32())&mask
	for j := i + 1; j < len(b); j++ {
		b[j] = byte(rand.Uint32())
	}
	return b
}

package rlpx

import (
	"crypto/cipher"
	"crypto/subtle"
	"hash"

	"github.com/trellis-p2p/trellis/internal/keccak"
)

// macState is one direction's MAC (rlpx.md "MAC"): a running Keccak-256
// over everything sent in that direction, plus AES-256 in ECB mode (single
// blocks) keyed with mac-secret.
//
//	header-mac-seed = aes(mac-secret, keccak256.digest(mac)[:16]) ^ header-ciphertext
//	mac = keccak256.update(mac, header-mac-seed)
//	header-mac      = keccak256.digest(mac)[:16]
//
//	mac = keccak256.update(mac, frame-ciphertext)
//	frame-mac-seed  = aes(mac-secret, keccak256.digest(mac)[:16]) ^ keccak256.digest(mac)[:16]
//	mac = keccak256.update(mac, frame-mac-seed)
//	frame-mac       = keccak256.digest(mac)[:16]
//
// Every digest costs a Keccak permutation. The first digest for a header is
// the digest that produced the previous frame-mac (nothing is absorbed in
// between), so it is remembered instead of recomputed: three digests per
// frame instead of four.
type macState struct {
	k     keccak.Absorber // half a keccak.State: an idle connection keeps two
	block cipher.Block    // AES-256(mac-secret)
	// foreign, when set, replaces k: a Keccak-256 passed to
	// InitWithSecrets whose state cannot be copied into ours.
	foreign hash.Hash

	last      [keccak.Size]byte // digest of k, when lastValid
	lastValid bool
	seed      [16]byte // scratch; a local would escape through cipher.Block
}

func (m *macState) init(block cipher.Block, k *keccak.State, foreign hash.Hash) {
	m.k.Set(k)
	m.foreign = foreign
	m.block = block
	m.lastValid = false
}

func (m *macState) digest() *[keccak.Size]byte {
	if !m.lastValid {
		if m.foreign != nil {
			m.foreign.Sum(m.last[:0])
		} else {
			m.k.Sum256(&m.last)
		}
		m.lastValid = true
	}
	return &m.last
}

// absorb feeds ciphertext into the running hash.
func (m *macState) absorb(p []byte) {
	if m.foreign != nil {
		m.foreign.Write(p)
	} else {
		m.k.Write(p)
	}
	m.lastValid = false
}

// seal finishes a MAC: seed = aes(digest[:16]) ^ x, absorb seed, return the
// new digest's first half.
func (m *macState) seal(x *[16]byte) (mac [16]byte) {
	m.block.Encrypt(m.seed[:], m.digest()[:16])
	subtle.XORBytes(m.seed[:], m.seed[:], x[:])
	m.absorb(m.seed[:])
	copy(mac[:], m.digest()[:16])
	return mac
}

// headerMAC returns the MAC of a 16-byte header ciphertext.
func (m *macState) headerMAC(headerCiphertext *[16]byte) [16]byte {
	return m.seal(headerCiphertext)
}

// frameMAC returns the MAC of the frame ciphertext absorbed since the
// header.
func (m *macState) frameMAC() [16]byte {
	var d [16]byte
	copy(d[:], m.digest()[:16])
	return m.seal(&d)
}

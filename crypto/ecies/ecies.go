// Package ecies implements the Elliptic Curve Integrated Encryption Scheme
// exactly as RLPx uses it for the handshake (devp2p rlpx.md, "ECIES
// Encryption"): secp256k1 ECDH, the NIST SP 800-56 concatenation KDF with
// SHA-256, AES-128-CTR and HMAC-SHA-256.
//
// A ciphertext is
//
//	R (65 bytes, 0x04 || X || Y) || iv (16) || c || d (32)
//
// where R is the sender's ephemeral public key, c the AES-128-CTR encryption
// of the message under kE, and d = HMAC-SHA-256(kM, iv || c || s2). The
// shared data s1 enters the KDF and s2 the MAC; EIP-8 passes the 2-byte size
// prefix of auth/ack packets as s2.
//
// The point arithmetic is internal/ec, the module's fast secp256k1 (the
// RLPx handshake runs on this package, and these multiplications are a
// large share of its cost).
package ecies

import (
	"crypto/aes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/internal/ec"
)

// Sizes of the ciphertext parts (rlpx.md "ECIES Encryption").
const (
	pubLen = crypto.PubkeyLength // ephemeral key R
	ivLen  = aes.BlockSize       // AES-CTR initial counter block
	tagLen = sha256.Size         // HMAC-SHA-256 tag d
	keyLen = 16                  // AES-128 key kE, and the MAC key seed
)

// Overhead is how many bytes Encrypt adds to a message.
const Overhead = pubLen + ivLen + tagLen

// Errors returned by Decrypt and Encrypt; each failure wraps one of them.
var (
	// ErrInvalidMessage: the ciphertext is shorter than Overhead.
	ErrInvalidMessage = errors.New("ecies: invalid message")
	// ErrInvalidPublicKey: the ephemeral key R in a ciphertext, or the
	// recipient key given to Encrypt, is not a valid secp256k1 point.
	ErrInvalidPublicKey = errors.New("ecies: invalid public key")
	// ErrInvalidPrivateKey: the key given to Decrypt is unset (zero).
	ErrInvalidPrivateKey = errors.New("ecies: invalid private key")
	// ErrMACMismatch: the tag does not authenticate iv || c || s2 under the
	// derived key (wrong recipient, wrong s1/s2, or a modified ciphertext).
	ErrMACMismatch = errors.New("ecies: message authentication failed")
)

// Encrypt encrypts msg to pub using fresh ephemeral key and IV material from
// rand. s1 and s2 are optional shared data bound into the KDF and the MAC.
// An empty msg is allowed: go-ethereum's Encrypt refuses one, but its Decrypt
// accepts the resulting Overhead-byte ciphertext, as Decrypt here does.
func Encrypt(rand io.Reader, pub *crypto.PublicKey, msg, s1, s2 []byte) ([]byte, error) {
	remote, ok := ec.FromPublicKey(pub)
	if !ok {
		return nil, fmt.Errorf("%w: recipient key not on curve", ErrInvalidPublicKey)
	}
	eph, err := crypto.GenerateKeyFrom(rand)
	if err != nil {
		return nil, fmt.Errorf("ecies: ephemeral key: %w", err)
	}
	defer eph.Zero()

	out := make([]byte, Overhead+len(msg))
	out[0] = 0x04
	R := ec.ScalarBaseMult(&eph.Key)
	copy(out[1:pubLen], R[:])
	iv := out[pubLen : pubLen+ivLen]
	if _, err := io.ReadFull(rand, iv); err != nil {
		return nil, fmt.Errorf("ecies: iv: %w", err)
	}

	// Neither factor is zero and the group has prime order, so the
	// product is never infinity.
	z, _ := ec.ScalarMultX(&eph.Key, &remote)
	ke, km := deriveKeys(&z, s1)
	clear(z[:])
	body := out[pubLen : len(out)-tagLen]
	if err := xorCTR(&ke, iv, body[ivLen:], msg); err != nil {
		return nil, err
	}
	tag(&km, body, s2, out[len(out)-tagLen:])
	clear(ke[:])
	clear(km[:])
	return out, nil
}

// Decrypt authenticates and decrypts ct, which must have been encrypted to
// k's public key with the same s1 and s2. The tag is checked in constant time
// before anything is decrypted.
func Decrypt(k *crypto.PrivateKey, ct, s1, s2 []byte) ([]byte, error) {
	if k == nil || k.Key.IsZero() {
		return nil, ErrInvalidPrivateKey
	}
	if len(ct) < Overhead {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrInvalidMessage, len(ct), Overhead)
	}
	// R must be uncompressed (0x04 || X || Y) and on the curve, as
	// crypto.UnmarshalPubkey demands.
	if ct[0] != 0x04 {
		return nil, fmt.Errorf("%w: %w: prefix %#02x", ErrInvalidPublicKey, crypto.ErrInvalidPubkey, ct[0])
	}
	r, ok := ec.ParsePoint((*[64]byte)(ct[1:pubLen]))
	if !ok {
		return nil, fmt.Errorf("%w: %w: not a curve point", ErrInvalidPublicKey, crypto.ErrInvalidPubkey)
	}
	z, _ := ec.ScalarMultX(&k.Key, r) // k ≠ 0, so not infinity
	ke, km := deriveKeys(&z, s1)
	clear(z[:])
	defer clear(ke[:])
	defer clear(km[:])

	body, d := ct[pubLen:len(ct)-tagLen], ct[len(ct)-tagLen:]
	var want [tagLen]byte
	tag(&km, body, s2, want[:])
	if subtle.ConstantTimeCompare(d, want[:]) != 1 {
		return nil, ErrMACMismatch
	}
	msg := make([]byte, len(body)-ivLen)
	if err := xorCTR(&ke, body[:ivLen], msg, body[ivLen:]); err != nil {
		return nil, err
	}
	return msg, nil
}

// deriveKeys runs the NIST SP 800-56 concatenation KDF (one SHA-256 block,
// counter 1) over the shared secret z and s1, and splits the 32 bytes into
// the AES key kE and the MAC key kM = SHA-256(second half), as rlpx.md says.
func deriveKeys(z *[32]byte, s1 []byte) (ke [keyLen]byte, km [sha256.Size]byte) {
	// counter || z || s1 in one buffer: sha256.Sum256 needs no hash object,
	// which would be one more allocation per handshake message.
	var buf [4 + 32 + maxStackData]byte
	var in []byte
	if len(s1) <= maxStackData {
		in = buf[:4+32+len(s1)]
	} else {
		in = make([]byte, 4+32+len(s1))
	}
	binary.BigEndian.PutUint32(in[:4], 1)
	copy(in[4:], z[:])
	copy(in[36:], s1)
	k := sha256.Sum256(in)
	clear(in[4:36])
	copy(ke[:], k[:keyLen])
	km = sha256.Sum256(k[keyLen:])
	clear(k[:])
	return ke, km
}

// maxStackData bounds the shared data deriveKeys hashes from a stack
// buffer; RLPx passes none.
const maxStackData = 32

// tag writes HMAC-SHA-256(km, body || s2) to out, where body is iv || c.
// The two hashes of HMAC (RFC 2104) run on stack digests: crypto/hmac would
// allocate its state and two SHA-256 objects for every message.
func tag(km *[sha256.Size]byte, body, s2, out []byte) {
	var pad [sha256.BlockSize]byte
	for i := range pad {
		pad[i] = 0x36
	}
	subtle.XORBytes(pad[:], pad[:], km[:])
	var inner [sha256.Size]byte
	h := sha256.New()
	h.Write(pad[:])
	h.Write(body)
	h.Write(s2)
	h.Sum(inner[:0])
	for i := range pad {
		pad[i] = 0x5c
	}
	subtle.XORBytes(pad[:], pad[:], km[:])
	h.Reset()
	h.Write(pad[:])
	h.Write(inner[:])
	h.Sum(out[:0])
}

// xorCTR applies AES-128-CTR keystream from iv to src, writing dst. Handshake
// messages are a few hundred bytes, so the keystream is made one block at a
// time with the block cipher: cipher.NewCTR would allocate a second copy of
// the key schedule.
func xorCTR(ke *[keyLen]byte, iv, dst, src []byte) error {
	block, err := aes.NewCipher(ke[:])
	if err != nil {
		// Unreachable: the key length is a constant 16.
		return fmt.Errorf("ecies: %w", err)
	}
	// One allocation for both: arguments to a cipher.Block escape.
	buf := new([2 * aes.BlockSize]byte)
	ctr, ks := buf[:aes.BlockSize], buf[aes.BlockSize:]
	copy(ctr, iv)
	for len(src) > 0 {
		block.Encrypt(ks, ctr)
		n := subtle.XORBytes(dst, src, ks)
		dst, src = dst[n:], src[n:]
		for i := len(ctr) - 1; i >= 0; i-- {
			ctr[i]++
			if ctr[i] != 0 {
				break
			}
		}
	}
	clear(ks)
	return nil
}

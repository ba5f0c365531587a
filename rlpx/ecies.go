package rlpx

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/trellis-p2p/trellis/internal/ec"
)

// ECIES as the handshake uses it (rlpx.md "ECIES Encryption"), the same
// construction and wire format as crypto/ecies, but with the point
// arithmetic of internal/ec: each handshake encrypts once and decrypts once
// on each side, and those four multiplications are a large share of its
// cost. TestECIESInterop checks both directions against crypto/ecies.
//
//	R (65 bytes, 0x04 || X || Y) || iv (16) || AES-128-CTR(kE, m) || HMAC-SHA-256(kM, iv || c || s2)
const (
	eciesPubLen   = 65
	eciesIVLen    = aes.BlockSize
	eciesTagLen   = sha256.Size
	eciesOverhead = eciesPubLen + eciesIVLen + eciesTagLen
)

var (
	errECIESShort = errors.New("ecies: message too short")
	errECIESKey   = errors.New("ecies: invalid ephemeral key")
	errECIESMAC   = errors.New("ecies: message authentication failed")
)

// eciesEncrypt encrypts msg to pub with s2 as MAC shared data (s1 is always
// empty in RLPx).
func eciesEncrypt(rnd io.Reader, pub *ec.Point, msg, s2 []byte) ([]byte, error) {
	eph, err := secp256k1.GeneratePrivateKeyFromRand(rnd)
	if err != nil {
		return nil, err
	}
	defer eph.Zero()
	z, ok := ec.ScalarMultX(&eph.Key, pub)
	if !ok {
		return nil, errECIESKey
	}
	out := make([]byte, eciesOverhead+len(msg))
	out[0] = 0x04
	R := ec.ScalarBaseMult(&eph.Key)
	copy(out[1:], R[:])
	iv := out[eciesPubLen : eciesPubLen+eciesIVLen]
	if _, err := io.ReadFull(rnd, iv); err != nil {
		return nil, err
	}
	ke, km := eciesKeys(&z)
	clear(z[:])
	body := out[eciesPubLen : len(out)-eciesTagLen]
	eciesCTR(&ke, iv, body[eciesIVLen:], msg)
	eciesTag(&km, body, s2, out[len(out)-eciesTagLen:])
	clear(ke[:])
	clear(km[:])
	return out, nil
}

// eciesDecrypt authenticates and decrypts ct with the private scalar k.
func eciesDecrypt(k *secp256k1.ModNScalar, ct, s2 []byte) ([]byte, error) {
	if len(ct) < eciesOverhead {
		return nil, errECIESShort
	}
	if ct[0] != 0x04 {
		return nil, errECIESKey
	}
	R, ok := ec.ParsePoint((*[64]byte)(ct[1:eciesPubLen]))
	if !ok {
		return nil, errECIESKey
	}
	z, ok := ec.ScalarMultX(k, R)
	if !ok {
		return nil, errECIESKey
	}
	ke, km := eciesKeys(&z)
	clear(z[:])
	defer clear(ke[:])
	defer clear(km[:])
	body, tag := ct[eciesPubLen:len(ct)-eciesTagLen], ct[len(ct)-eciesTagLen:]
	var want [eciesTagLen]byte
	eciesTag(&km, body, s2, want[:])
	if !hmac.Equal(tag, want[:]) {
		return nil, errECIESMAC
	}
	msg := make([]byte, len(body)-eciesIVLen)
	eciesCTR(&ke, body[:eciesIVLen], msg, body[eciesIVLen:])
	return msg, nil
}

// eciesKeys is the NIST SP 800-56 concatenation KDF with SHA-256 (one
// block, counter 1, empty s1), split into the AES key kE and the MAC key
// kM = SHA-256(second half).
func eciesKeys(z *[32]byte) (ke [16]byte, km [32]byte) {
	var in [4 + 32]byte
	binary.BigEndian.PutUint32(in[:], 1)
	copy(in[4:], z[:])
	k := sha256.Sum256(in[:])
	clear(in[:])
	copy(ke[:], k[:16])
	km = sha256.Sum256(k[16:])
	clear(k[:])
	return ke, km
}

func eciesTag(km *[32]byte, body, s2, out []byte) {
	mac := hmac.New(sha256.New, km[:])
	mac.Write(body)
	mac.Write(s2)
	mac.Sum(out[:0])
}

func eciesCTR(ke *[16]byte, iv, dst, src []byte) {
	block, err := aes.NewCipher(ke[:])
	if err != nil {
		panic(err) // unreachable: the key is 16 bytes
	}
	cipher.NewCTR(block, iv).XORKeyStream(dst, src)
}

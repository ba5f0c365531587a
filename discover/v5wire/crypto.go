package v5wire

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
)

// Sizes of the handshake cryptography for the "v4" identity scheme, the only
// scheme discv5 defines (discv5-theory.md "Identity-Specific Cryptography in
// the Handshake").
const (
	keySize          = 16 // AES-128 session and masking keys
	idSignatureSize  = 64 // r || s
	ephemeralKeySize = crypto.CompressedPubkeyLength
	sharedSecretSize = 33 // compressed point, see ecdh
	gcmTagSize       = 16
)

// Texts mixed into the handshake hashes (discv5-theory.md "Handshake Steps",
// step 3).
const (
	idSignatureText = "discovery v5 identity proof"
	kdfInfoText     = "discovery v5 key agreement"
)

// ecdh returns the shared point priv*pub in compressed form: 0x02 or 0x03 by
// the parity of Y, then X. discv5 feeds all 33 bytes to the KDF, unlike RLPx
// which uses X alone (crypto.ECDH); discv5-theory.md "Identity-Specific
// Cryptography in the Handshake".
func ecdh(priv *crypto.PrivateKey, pub *crypto.PublicKey) [sharedSecretSize]byte {
	var p, r secp256k1.JacobianPoint
	pub.AsJacobian(&p)
	secp256k1.ScalarMultNonConst(&priv.Key, &p, &r)
	r.ToAffine()
	var out [sharedSecretSize]byte
	out[0] = secp256k1.PubKeyFormatCompressedEven
	if r.Y.IsOddBit() == 1 {
		out[0] = secp256k1.PubKeyFormatCompressedOdd
	}
	r.X.PutBytesUnchecked(out[1:])
	return out
}

// deriveKeys computes the session keys of the handshake between initiator A
// (who answers WHOAREYOU) and recipient B (who sent it). priv and pub are
// A's ephemeral key and B's static key on A's side, B's static key and A's
// ephemeral key on B's side; the shared secret is the same.
//
//	secret   = ecdh(dest-pubkey, ephemeral-key)
//	kdf-info = "discovery v5 key agreement" || node-id-A || node-id-B
//	prk      = HKDF-Extract(secret, challenge-data)
//	key-data = HKDF-Expand(prk, kdf-info)
//	initiator-key, recipient-key = key-data[:16], key-data[16:]
//
// (discv5-theory.md "Handshake Steps", step 3.)
func deriveKeys(priv *crypto.PrivateKey, pub *crypto.PublicKey, idA, idB enode.ID, challengeData []byte) (initiatorKey, recipientKey [keySize]byte) {
	secret := ecdh(priv, pub)
	return keysFromSecret(secret, idA, idB, challengeData)
}

// keysFromSecret is the key derivation of deriveKeys after the ECDH.
func keysFromSecret(secret [sharedSecretSize]byte, idA, idB enode.ID, challengeData []byte) (initiatorKey, recipientKey [keySize]byte) {
	info := make([]byte, 0, len(kdfInfoText)+2*len(idA))
	info = append(info, kdfInfoText...)
	info = append(info, idA[:]...)
	info = append(info, idB[:]...)
	kd, err := hkdf.Key(sha256.New, secret[:], challengeData, string(info), 2*keySize)
	clear(secret[:])
	if err != nil {
		// Only a key length beyond 255 hash blocks fails.
		panic(fmt.Sprintf("v5wire: hkdf: %v", err))
	}
	copy(initiatorKey[:], kd[:keySize])
	copy(recipientKey[:], kd[keySize:])
	clear(kd)
	return initiatorKey, recipientKey
}

// idNonceHash is the digest the ID signature covers:
// sha256("discovery v5 identity proof" || challenge-data || ephemeral-pubkey || node-id-B).
func idNonceHash(challengeData, ephPubkey []byte, destID enode.ID) [32]byte {
	h := sha256.New()
	h.Write([]byte(idSignatureText))
	h.Write(challengeData)
	h.Write(ephPubkey)
	h.Write(destID[:])
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// makeIDSignature signs the handshake with the static key: id_sign is a
// 64-byte r || s signature (RFC 6979, low S) without recovery id.
func makeIDSignature(key *crypto.PrivateKey, challengeData, ephPubkey []byte, destID enode.ID) [idSignatureSize]byte {
	d := idNonceHash(challengeData, ephPubkey, destID)
	sig := ecdsa.Sign(key, d[:])
	r, s := sig.R(), sig.S()
	var out [idSignatureSize]byte
	r.PutBytesUnchecked(out[:32])
	s.PutBytesUnchecked(out[32:])
	return out
}

// verifyIDSignature checks an ID signature against the signer's static key.
// As go-ethereum does, it rejects S in the upper half of the group order.
func verifyIDSignature(pub *crypto.PublicKey, sig, challengeData, ephPubkey []byte, destID enode.ID) bool {
	if len(sig) != idSignatureSize {
		return false
	}
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) || s.IsOverHalfOrder() {
		return false
	}
	d := idNonceHash(challengeData, ephPubkey, destID)
	return ecdsa.NewSignature(&r, &s).Verify(d[:], pub)
}

// newGCM returns AES-128-GCM with the 12-byte nonces and 16-byte tags of
// discv5 message encryption.
func newGCM(key *[keySize]byte) cipher.AEAD {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // unreachable: the key size is fixed
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err) // unreachable: AES has a 16-byte block
	}
	return gcm
}

// maskingStream returns the AES-128-CTR keystream that masks the header of a
// packet to destID (discv5-wire.md "Protocol Header"):
//
//	masked-header = aesctr_encrypt(masking-key, masking-iv, header)
//	masking-key   = dest-id[:16]
func maskingStream(block cipher.Block, iv []byte) cipher.Stream {
	return cipher.NewCTR(block, iv)
}

// maskingBlock returns the AES block cipher keyed by destID[:16].
func maskingBlock(destID enode.ID) cipher.Block {
	block, err := aes.NewCipher(destID[:keySize])
	if err != nil {
		panic(err) // unreachable: the key size is fixed
	}
	return block
}

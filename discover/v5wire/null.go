package v5wire

import (
	"bytes"
	"crypto/sha256"

	"github.com/trellis-p2p/trellis/discover/internal/v5sim"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// Null handshake cryptography, for simulations of many nodes only. The
// secp256k1 operations of a handshake (ephemeral key, ECDH on both sides,
// ID signature and its check, the record's signature check) cost about a
// millisecond, which would dominate a simulation of a thousand nodes. In
// null mode the packet layout, the session keys' derivation from a
// secret, AES-GCM, the nonces and all checks outside the handshake stay
// as they are, but:
//
//   - the "ephemeral" key is the static public key;
//   - the secret is sha256(eph-pubkey || recipient's static pubkey), which
//     both sides compute without a point multiplication;
//   - the ID signature is the 32-byte id-nonce hash and 32 zero bytes;
//   - the handshake record's signature is not checked (the node ID is
//     still derived from its key).
//
// That is insecure: anyone can complete a handshake as anyone. Only codecs
// of package discover's simulations are switched to it, through the
// internal package v5sim.
func init() {
	v5sim.NullCrypto = func(c any) {
		cc := c.(*Codec)
		cc.null = true
		cc.nullPub = cc.key.PubKey().SerializeCompressed()
	}
}

// nullHandshake is the initiator's part.
func (c *Codec) nullHandshake(dest enode.ID, challenge *Whoareyou) (ephPub [ephemeralKeySize]byte, sig [idSignatureSize]byte, initiatorKey, recipientKey [keySize]byte) {
	copy(ephPub[:], c.nullPub)
	d := idNonceHash(challenge.ChallengeData, ephPub[:], dest)
	copy(sig[:], d[:])
	secret := nullSecret(ephPub[:], challenge.Node.Pubkey().SerializeCompressed())
	initiatorKey, recipientKey = keysFromSecret(secret, c.id, dest, challenge.ChallengeData)
	return
}

// nullAccept is the recipient's part; ok is false if the signature does not
// match.
func (c *Codec) nullAccept(src enode.ID, challenge *Whoareyou, sig, ephKey []byte) (initiatorKey, recipientKey [keySize]byte, ok bool) {
	d := idNonceHash(challenge.ChallengeData, ephKey, c.id)
	if len(sig) != idSignatureSize || !bytes.Equal(sig[:32], d[:]) || len(ephKey) != ephemeralKeySize {
		return initiatorKey, recipientKey, false
	}
	secret := nullSecret(ephKey, c.nullPub)
	initiatorKey, recipientKey = keysFromSecret(secret, src, c.id, challenge.ChallengeData)
	return initiatorKey, recipientKey, true
}

func nullSecret(ephPub, recipientPub []byte) (secret [sharedSecretSize]byte) {
	h := sha256.New()
	h.Write(ephPub)
	h.Write(recipientPub)
	h.Sum(secret[:0])
	return secret
}

// nullScheme is the v4 identity scheme without the signature check.
type nullScheme struct{}

func (nullScheme) Verify(*enr.Record, []byte) error { return nil }
func (nullScheme) NodeAddr(r *enr.Record) []byte    { return enr.V4ID{}.NodeAddr(r) }

func nullNewNode(r *enr.Record) (*enode.Node, error) {
	return enode.NewWithSchemes(enr.SchemeMap{"v4": nullScheme{}}, r)
}

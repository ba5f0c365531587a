package rlpx

import (
	"sync/atomic"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/internal/ec"
)

// Keys in the handshake are handled as ec.Points (validated affine points)
// and decred scalars, converted at the edges with ec.FromPublicKey and
// Point.PublicKey.

// A decred private key does not carry its public key (an ecdsa.PrivateKey
// does), so deriving the initiator-pubk for every dial would cost a
// fixed-base multiplication. A node dials with one key, so one cached entry
// suffices; the scalar is compared, not the pointer, so a key mutated in
// place is never paired with a stale public key.
type cachedPubkey struct {
	key secp256k1.ModNScalar
	pub [64]byte
}

var localPubkeyCache atomic.Pointer[cachedPubkey]

func localPubkey(k *crypto.PrivateKey) *[64]byte {
	if c := localPubkeyCache.Load(); c != nil && c.key.Equals(&k.Key) {
		return &c.pub
	}
	c := &cachedPubkey{key: k.Key, pub: ec.ScalarBaseMult(&k.Key)}
	localPubkeyCache.Store(c)
	return &c.pub
}

package enode

import (
	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enr"
)

// The "null" identity scheme lets tests and simulations give nodes arbitrary
// IDs without keys: the record names the ID in its "nulladdr" entry and
// carries an empty signature that verifies trivially. go-ethereum uses the
// same scheme name and entry, so such records are understood by both in
// tests. Never accept it from the network: New rejects it, only
// NewWithSchemes(TestSchemes(), r) takes it.

const nullAddrKey = "nulladdr"

// NullID is the "null" identity scheme.
type NullID struct{}

// Verify accepts any signature.
func (NullID) Verify(*enr.Record, []byte) error { return nil }

// NodeAddr returns the "nulladdr" entry, nil if it is missing or not 32
// bytes.
func (NullID) NodeAddr(r *enr.Record) []byte {
	var id ID
	if r.Load(enr.Generic{Key: nullAddrKey, Value: &id}) != nil {
		return nil
	}
	return id[:]
}

// TestSchemes returns the identity schemes for tests and simulations: "v4"
// and "null". Each call returns a new map.
func TestSchemes() enr.SchemeMap {
	return enr.SchemeMap{string(enr.IDv4): enr.V4ID{}, "null": NullID{}}
}

// SignNull sets the record's identity scheme to "null" with the given ID,
// signs it (with an empty signature) and returns the node. It is for tests
// and simulations; it panics if the record exceeds enr.SizeLimit.
func SignNull(r *enr.Record, id ID) *Node {
	r.Set(enr.ID("null"))
	r.Set(enr.Generic{Key: nullAddrKey, Value: id})
	if err := r.SetSig(NullID{}, []byte{}); err != nil {
		panic(err)
	}
	var key enr.Secp256k1
	n := newNode(r, id, nil)
	if r.Load(&key) == nil {
		n.pub = (*crypto.PublicKey)(&key)
	}
	return n
}

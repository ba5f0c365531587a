package enr

import (
	"bytes"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/trellis-p2p/trellis/crypto"
)

// The "v4" identity scheme (enr.md "\"v4\" Identity Scheme"): the signature
// is the 64-byte R || S secp256k1 signature of keccak256(content) by the key
// in the "secp256k1" entry, and the node address is keccak256 of the
// uncompressed public key without its 0x04 prefix.

// v4SigLength is the length of a v4 signature: R || S without recovery id.
const v4SigLength = 64

// Secp256k1 is the "secp256k1" entry: a public key, stored as its 33-byte
// compressed encoding. Loading it checks that the point is on the curve.
type Secp256k1 crypto.PublicKey

func (Secp256k1) ENRKey() string { return "secp256k1" }

func (v Secp256k1) appendValue(b []byte) ([]byte, error) {
	return appendString(b, crypto.CompressPubkey((*crypto.PublicKey)(&v))), nil
}

func (v *Secp256k1) decodeValue(b []byte) error {
	s, err := decodeString(b)
	if err != nil {
		return err
	}
	p, err := crypto.DecompressPubkey(s)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidPubkey, err)
	}
	*v = Secp256k1(*p)
	return nil
}

// V4ID is the "v4" identity scheme.
type V4ID struct{}

// Verify checks that sig is a v4 signature of r's content by the key in its
// "secp256k1" entry.
func (V4ID) Verify(r *Record, sig []byte) error {
	_, err := verifyV4(r, sig)
	return err
}

// NodeAddr returns keccak256 of the uncompressed public key (64 bytes, no
// prefix), nil if the record has no valid "secp256k1" entry.
func (V4ID) NodeAddr(r *Record) []byte {
	var key Secp256k1
	if r.Load(&key) != nil {
		return nil
	}
	id := V4NodeAddr((*crypto.PublicKey)(&key))
	return id[:]
}

// V4NodeAddr derives the v4 node address of a public key.
func V4NodeAddr(p *crypto.PublicKey) [32]byte {
	return crypto.Keccak256Hash(crypto.MarshalPubkey(p)[1:])
}

// VerifyV4 checks that r is signed under the "v4" scheme and returns the
// signing key, which callers need anyway to derive the node ID: doing both
// at once parses the key only once. It fails with ErrUnsigned,
// ErrMissingScheme, ErrUnknownScheme (another scheme), a *KeyError for the
// "secp256k1" entry, or ErrInvalidSig.
func VerifyV4(r *Record) (*crypto.PublicKey, error) {
	if r.sig == nil {
		return nil, ErrUnsigned
	}
	switch id := r.IdentityScheme(); {
	case id == "" && !r.Has(ID("").ENRKey()):
		return nil, ErrMissingScheme
	case id != string(IDv4):
		return nil, fmt.Errorf("%w %q, want %q", ErrUnknownScheme, id, IDv4)
	}
	return verifyV4(r, r.sig)
}

func verifyV4(r *Record, sig []byte) (*crypto.PublicKey, error) {
	var key Secp256k1
	if err := r.Load(&key); err != nil {
		return nil, err
	}
	pub := (*crypto.PublicKey)(&key)
	if len(sig) != v4SigLength {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidSig, len(sig), v4SigLength)
	}
	digest := r.sigHash()
	if !verifyDigest(pub, digest[:], sig) {
		return nil, ErrInvalidSig
	}
	return pub, nil
}

// verifyDigest applies the rules of crypto.VerifySignature (R and S below
// the group order, S in the lower half) to an already parsed key, so the
// compressed key is not decompressed a second time.
func verifyDigest(pub *crypto.PublicKey, digest, sig []byte) bool {
	var rs, ss secp256k1.ModNScalar
	if rs.SetByteSlice(sig[:32]) || ss.SetByteSlice(sig[32:]) || ss.IsOverHalfOrder() {
		return false
	}
	return ecdsa.NewSignature(&rs, &ss).Verify(digest, pub)
}

// sigHash is keccak256 of the content list [seq, k, v, ...].
func (r *Record) sigHash() (d [32]byte) {
	h := crypto.NewKeccak256()
	if r.raw != nil {
		// Hash what was received rather than a re-encoding of it.
		payload := r.rawContentPayload()
		var hdr [9]byte
		h.Write(appendListHeader(hdr[:0], len(payload)))
		h.Write(payload)
	} else {
		h.Write(r.appendContent(nil))
	}
	h.Read(d[:])
	return d
}

// SignV4 sets the "id" entry to "v4" and the "secp256k1" entry to k's public
// key, then signs the record. It fails with ErrTooBig if the signed record
// would exceed SizeLimit, leaving r unchanged.
//
// Setting the two entries counts as a change (dropping the signature and
// incrementing the sequence number of a signed record) only if their values
// differ from what the record holds.
func SignV4(r *Record, k *crypto.PrivateKey) error {
	cpy := *r
	setIfChanged(&cpy, IDv4)
	setIfChanged(&cpy, Secp256k1(*k.PubKey()))
	digest := cpy.sigHash()
	sig, err := crypto.Sign(digest[:], k)
	if err != nil {
		return err
	}
	raw, err := cpy.encodeSigned(sig[:v4SigLength])
	if err != nil {
		return err
	}
	cpy.sig, cpy.raw = sig[:v4SigLength:v4SigLength], raw
	*r = cpy
	return nil
}

func setIfChanged(r *Record, e Entry) {
	v, err := encodeEntry(e)
	if err != nil {
		panic(err) // only called with entries that always encode
	}
	if old, ok := r.RawValue(e.ENRKey()); ok && bytes.Equal(old, v) {
		return
	}
	r.setRaw(e.ENRKey(), v)
}

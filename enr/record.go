// Package enr implements Ethereum Node Records (EIP-778, devp2p enr.md): a
// signed, versioned set of key/value pairs describing a node.
//
// A Record keeps every value as the raw RLP item it was set or received
// with; Entry types give those values meaning. Decoding a record checks its
// structure only: code handling records from the network must call Verify
// (or VerifySignature with the identity schemes it trusts) before relying on
// the content. Changing a signed record drops its signature and increments
// its sequence number, so it has to be signed again, for example with
// SignV4.
//
// The package is a pure codec: no goroutines, no I/O. A Record is not safe
// for concurrent mutation, but copies of a Record value (as returned by
// enode.Node.Record) share nothing that either copy modifies.
package enr

import (
	"bytes"
	"fmt"
	"slices"
)

// SizeLimit is the largest encoded record, signature included, that may be
// produced or accepted (enr.md "RLP Encoding").
const SizeLimit = 300

// Record is a node record. The zero value is an empty, unsigned record with
// sequence number 0.
type Record struct {
	seq uint64
	// sig is nil for an unsigned record. A signed record may carry an empty
	// signature (the "null" test scheme, see enode.SignNull).
	sig []byte
	// raw is the exact encoding of a signed record: what was decoded, or what
	// signing produced. It is nil exactly when sig is nil. sig and the keys
	// and values of pairs may point into raw, which is never written to after
	// it is created.
	raw []byte
	// pairs is sorted by key, keys unique. The slice is replaced, never
	// modified in place, so Record values may be copied freely.
	pairs []pair
}

type pair struct {
	k []byte // key
	v []byte // value: one complete RLP item
}

// Seq returns the sequence number.
func (r *Record) Seq() uint64 { return r.seq }

// SetSeq sets the sequence number and drops the signature. Set and Delete
// already increment the sequence number of a signed record, so SetSeq is
// only needed to choose a specific number.
func (r *Record) SetSeq(s uint64) {
	r.seq = s
	r.sig, r.raw = nil, nil
}

// Signed reports whether the record carries a signature (possibly empty, see
// SetSig). It says nothing about the signature's validity.
func (r *Record) Signed() bool { return r.sig != nil }

// Signature returns a copy of the signature, nil for an unsigned record.
func (r *Record) Signature() []byte {
	if r.sig == nil {
		return nil
	}
	return bytes.Clone(r.sig)
}

// IdentityScheme returns the value of the "id" entry, "" if it is missing or
// not an RLP string.
func (r *Record) IdentityScheme() string {
	var id ID
	if r.Load(&id) != nil {
		return ""
	}
	return string(id)
}

// Keys returns the record's keys in (sorted) record order.
func (r *Record) Keys() []string {
	keys := make([]string, len(r.pairs))
	for i, p := range r.pairs {
		keys[i] = string(p.k)
	}
	return keys
}

// Len returns the number of key/value pairs.
func (r *Record) Len() int { return len(r.pairs) }

// Has reports whether the record has an entry with the given key.
func (r *Record) Has(key string) bool {
	_, ok := r.find(key)
	return ok
}

// RawValue returns the value stored under key as a complete RLP item, or
// false if there is none. The returned slice must not be modified.
func (r *Record) RawValue(key string) ([]byte, bool) {
	i, ok := r.find(key)
	if !ok {
		return nil, false
	}
	return r.pairs[i].v, true
}

func (r *Record) find(key string) (int, bool) {
	// A hand-written binary search: comparing string(k) with key directly
	// lets the compiler skip converting the key, which a comparison
	// function would have to do.
	lo, hi := 0, len(r.pairs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if string(r.pairs[m].k) < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(r.pairs) && string(r.pairs[lo].k) == key
}

// Load decodes the value stored under e.ENRKey() into e, which must be a
// pointer (or, for Generic, hold one). Errors are *KeyError: a missing key
// wraps ErrNotFound, an undecodable value wraps ErrInvalidValue or the rlp
// error.
func (r *Record) Load(e Entry) error {
	key := e.ENRKey()
	i, ok := r.find(key)
	if !ok {
		return &KeyError{Key: key, Err: ErrNotFound}
	}
	if err := decodeEntry(r.pairs[i].v, e); err != nil {
		return &KeyError{Key: key, Err: err}
	}
	return nil
}

// Set stores e under e.ENRKey(), replacing any previous value. On a signed
// record the signature is dropped and the sequence number incremented.
//
// Set panics if e cannot be encoded: an IPv4 entry holding an IPv6 address,
// a RawEntry that is not one RLP item, a Generic value rlp cannot encode.
// Those are programming errors; values that come from the network should be
// checked (or built with the constructors in this package) first.
func (r *Record) Set(e Entry) {
	v, err := encodeEntry(e)
	if err != nil {
		panic(fmt.Sprintf("enr: can't encode entry %q: %v", e.ENRKey(), err))
	}
	r.setRaw(e.ENRKey(), v)
}

// setRaw stores a value that is already known to be one RLP item.
func (r *Record) setRaw(key string, v []byte) {
	r.invalidate()
	i, ok := r.find(key)
	pairs := make([]pair, len(r.pairs), len(r.pairs)+1)
	copy(pairs, r.pairs)
	if ok {
		pairs[i].v = v
	} else {
		pairs = slices.Insert(pairs, i, pair{k: []byte(key), v: v})
	}
	r.pairs = pairs
}

// Delete removes the entry with the given key, if present. Deleting from a
// signed record drops the signature and increments the sequence number;
// deleting a missing key changes nothing.
func (r *Record) Delete(key string) {
	i, ok := r.find(key)
	if !ok {
		return
	}
	r.invalidate()
	pairs := make([]pair, 0, len(r.pairs)-1)
	pairs = append(pairs, r.pairs[:i]...)
	r.pairs = append(pairs, r.pairs[i+1:]...)
}

func (r *Record) invalidate() {
	if r.sig != nil {
		r.seq++
	}
	r.sig, r.raw = nil, nil
}

// Size returns the encoded size in bytes. For an unsigned record it is the
// size with an empty signature: add 64 for what a v4 signature will occupy
// (65 once the list header grows past 55 bytes of content, which every v4
// record does).
func (r *Record) Size() int {
	if r.raw != nil {
		return len(r.raw)
	}
	return listSize(r.contentPayloadSize() + stringSize(r.sig))
}

// SetSig sets the signature after checking it with scheme s, and caches the
// record's encoding. It fails with ErrTooBig if the signed record would
// exceed SizeLimit. SetSig(nil, nil) removes the signature, leaving the
// sequence number alone. Passing exactly one of s and sig as nil panics.
//
// SignV4 is the usual way to sign; SetSig serves other identity schemes.
func (r *Record) SetSig(s IdentityScheme, sig []byte) error {
	switch {
	case s == nil && sig == nil:
		r.sig, r.raw = nil, nil
		return nil
	case s == nil || sig == nil:
		panic("enr: SetSig needs both a scheme and a signature, or neither")
	}
	if err := s.Verify(r, sig); err != nil {
		return err
	}
	raw, err := r.encodeSigned(sig)
	if err != nil {
		return err
	}
	r.sig, r.raw = bytes.Clone(sig), raw // Clone keeps an empty sig non-nil
	return nil
}

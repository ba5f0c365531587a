package enr

import "fmt"

// IdentityScheme signs and verifies records and derives node addresses (enr.md
// "Record Structure": a record's signature is made and validated according to
// an identity scheme, which also derives the node's address in the DHT).
type IdentityScheme interface {
	// Verify checks sig against the record's content.
	Verify(r *Record, sig []byte) error
	// NodeAddr derives the node address from the record, nil if the record
	// lacks what the scheme needs.
	NodeAddr(r *Record) []byte
}

// SchemeMap is a set of identity schemes by name. It is itself an
// IdentityScheme that dispatches on the record's "id" entry.
type SchemeMap map[string]IdentityScheme

// Verify checks sig with the scheme named in r, failing with
// ErrMissingScheme or ErrUnknownScheme if there is no such scheme in m.
func (m SchemeMap) Verify(r *Record, sig []byte) error {
	s, err := m.lookup(r)
	if err != nil {
		return err
	}
	return s.Verify(r, sig)
}

// NodeAddr derives r's node address with the scheme named in r, nil if the
// scheme is unknown.
func (m SchemeMap) NodeAddr(r *Record) []byte {
	s, err := m.lookup(r)
	if err != nil {
		return nil
	}
	return s.NodeAddr(r)
}

func (m SchemeMap) lookup(r *Record) (IdentityScheme, error) {
	var id ID
	if err := r.Load(&id); err != nil {
		if IsNotFound(err) {
			return nil, ErrMissingScheme
		}
		return nil, fmt.Errorf("%w: %w", ErrUnknownScheme, err)
	}
	s := m[string(id)]
	if s == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownScheme, string(id))
	}
	return s, nil
}

// defaultSchemes are the schemes Verify accepts. It is not exported so that
// nobody can widen what Verify trusts behind other packages' backs.
var defaultSchemes = SchemeMap{string(IDv4): V4ID{}}

// Verify checks the record's signature under the identity scheme it names,
// accepting only the "v4" scheme. It fails with ErrUnsigned,
// ErrMissingScheme, ErrUnknownScheme, a *KeyError for a missing or invalid
// "secp256k1" entry, or ErrInvalidSig.
func (r *Record) Verify() error {
	return r.VerifySignature(defaultSchemes)
}

// VerifySignature checks the record's signature with scheme s, which is
// usually a SchemeMap of the schemes the caller trusts.
func (r *Record) VerifySignature(s IdentityScheme) error {
	if r.sig == nil {
		return ErrUnsigned
	}
	return s.Verify(r, r.sig)
}

package enr

import (
	"errors"
	"fmt"
)

// Errors returned by this package. Failures wrap one of them with context,
// so callers test with errors.Is.
var (
	// ErrTooBig: the encoded record is larger than SizeLimit, whether it was
	// received or would be produced by signing.
	ErrTooBig = fmt.Errorf("enr: record larger than %d bytes", SizeLimit)
	// ErrMalformed: the RLP structure is not a record (not a list, a key or
	// the signature is a list, a non-canonical or overlong integer, element
	// sizes that overrun the list, ...). The underlying rlp error is wrapped
	// as well.
	ErrMalformed = errors.New("enr: malformed record")
	// ErrIncompleteList: the record list lacks the signature or the sequence
	// number.
	ErrIncompleteList = errors.New("enr: record has fewer than two elements")
	// ErrIncompletePair: an odd number of key/value elements.
	ErrIncompletePair = errors.New("enr: record has a key without value")
	// ErrNotSorted: keys are not in ascending byte order.
	ErrNotSorted = errors.New("enr: record keys are not sorted")
	// ErrDuplicateKey: a key appears twice.
	ErrDuplicateKey = errors.New("enr: record has a duplicate key")
	// ErrTrailingData: bytes follow the record in a binary or text input.
	ErrTrailingData = errors.New("enr: trailing data after record")

	// ErrMissingPrefix: the text form does not start with "enr:".
	ErrMissingPrefix = errors.New(`enr: missing "enr:" prefix`)
	// ErrInvalidBase64: the text form is not unpadded base64url.
	ErrInvalidBase64 = errors.New("enr: invalid base64url")

	// ErrUnsigned: the record has no signature, so it cannot be encoded or
	// verified.
	ErrUnsigned = errors.New("enr: record is not signed")
	// ErrMissingScheme: the record has no "id" entry.
	ErrMissingScheme = errors.New(`enr: record has no identity scheme ("id")`)
	// ErrUnknownScheme: the record's identity scheme is not among those
	// accepted by the verifier, or its "id" value is not an RLP string.
	ErrUnknownScheme = errors.New("enr: unknown identity scheme")
	// ErrInvalidSig: the signature does not verify under the identity scheme.
	ErrInvalidSig = errors.New("enr: invalid signature")
	// ErrInvalidPubkey: the "secp256k1" entry is not a 33-byte compressed
	// secp256k1 point.
	ErrInvalidPubkey = errors.New("enr: invalid secp256k1 public key")

	// ErrNotFound: Load found no entry with the key (wrapped in *KeyError).
	ErrNotFound = errors.New("enr: no such key in record")
	// ErrInvalidValue: an entry's value does not decode as its type, e.g. an
	// "ip" that is not 4 bytes or a port above 65535 (wrapped in *KeyError).
	ErrInvalidValue = errors.New("enr: invalid value")
)

// KeyError is returned by Load. Err is ErrNotFound when the key is absent,
// otherwise the reason the value could not be decoded.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string {
	if errors.Is(e.Err, ErrNotFound) {
		return fmt.Sprintf("enr: missing key %q", e.Key)
	}
	return fmt.Sprintf("enr: key %q: %v", e.Key, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

// IsNotFound reports whether err says that a key is missing from a record.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

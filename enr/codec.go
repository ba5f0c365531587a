package enr

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/trellis-p2p/trellis/rlp"
)

// The binary form is the RLP list [signature, seq, k, v, ...] and the text
// form is "enr:" followed by its unpadded base64url encoding (enr.md "RLP
// Encoding", "Text Encoding").

const textPrefix = "enr:"

// maxTextLen is the longest text form of a record within SizeLimit.
var maxTextLen = len(textPrefix) + base64.RawURLEncoding.EncodedLen(SizeLimit)

// strictBase64 rejects non-zero padding bits, so that every accepted text
// form is the one String produces for the decoded record.
var strictBase64 = base64.RawURLEncoding.Strict()

// EncodeRLP writes the record's encoding to w. It fails with ErrUnsigned for
// an unsigned record, since an encoding without a signature could not be
// verified by anyone. A decoded record is written back byte for byte.
func (r *Record) EncodeRLP(w io.Writer) error {
	if r.raw == nil {
		return ErrUnsigned
	}
	_, err := w.Write(r.raw)
	return err
}

// AppendBinary appends the record's encoding to b (encoding.BinaryAppender).
// It fails with ErrUnsigned for an unsigned record.
func (r *Record) AppendBinary(b []byte) ([]byte, error) {
	if r.raw == nil {
		return b, ErrUnsigned
	}
	return append(b, r.raw...), nil
}

// MarshalBinary returns a copy of the record's encoding. It fails with
// ErrUnsigned for an unsigned record.
func (r *Record) MarshalBinary() ([]byte, error) {
	return r.AppendBinary(nil)
}

// UnmarshalBinary decodes an encoded record, which must be the whole of b.
// The signature is not checked: call Verify. b is copied; the record does
// not keep a reference to it. On error r is left unchanged.
func (r *Record) UnmarshalBinary(b []byte) error {
	_, _, rest, err := rlp.Split(b)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	size := len(b) - len(rest)
	if size > SizeLimit {
		return fmt.Errorf("%w: %d bytes", ErrTooBig, size)
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: %d bytes", ErrTrailingData, len(rest))
	}
	raw := make([]byte, size)
	copy(raw, b)
	return r.decodeOwned(raw)
}

// DecodeRLP reads one record from s (rlp.Decoder). The signature is not
// checked: call Verify. The size limit is enforced before the record's
// bytes are read.
func (r *Record) DecodeRLP(s *rlp.Stream) error {
	_, size, err := s.Kind()
	if err == rlp.EOL || err == io.EOF {
		return err // end of input is the caller's to interpret, unwrapped
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if size > SizeLimit {
		return fmt.Errorf("%w: content of %d bytes", ErrTooBig, size)
	}
	raw, err := s.Raw()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(raw) > SizeLimit {
		return fmt.Errorf("%w: %d bytes", ErrTooBig, len(raw))
	}
	return r.decodeOwned(raw)
}

// decodeOwned parses raw, which holds exactly one RLP item and belongs to
// the record from now on. r is only assigned on success.
func (r *Record) decodeOwned(raw []byte) error {
	content, _, err := rlp.SplitList(raw)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(content) == 0 {
		return fmt.Errorf("%w: no signature", ErrIncompleteList)
	}
	sig, content, err := rlp.SplitString(content)
	if err != nil {
		return fmt.Errorf("%w: signature: %w", ErrMalformed, err)
	}
	if len(content) == 0 {
		return fmt.Errorf("%w: no sequence number", ErrIncompleteList)
	}
	seq, content, err := rlp.SplitUint64(content)
	if err != nil {
		return fmt.Errorf("%w: sequence number: %w", ErrMalformed, err)
	}
	n, err := rlp.CountValues(content)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if n%2 != 0 {
		return ErrIncompletePair
	}
	pairs := make([]pair, n/2)
	for i := range pairs {
		var k, v []byte
		k, content, err = rlp.SplitString(content)
		if err != nil {
			return fmt.Errorf("%w: key %d: %w", ErrMalformed, i, err)
		}
		kind, vc, rest, err := rlp.Split(content)
		if err == nil && kind == rlp.List {
			err = validateNested(vc, 0)
		}
		if err != nil {
			return fmt.Errorf("%w: value of key %q: %w", ErrMalformed, k, err)
		}
		v, content = content[:len(content)-len(rest)], rest
		if i > 0 {
			switch c := bytes.Compare(k, pairs[i-1].k); {
			case c == 0:
				return fmt.Errorf("%w: %q", ErrDuplicateKey, k)
			case c < 0:
				return fmt.Errorf("%w: %q after %q", ErrNotSorted, k, pairs[i-1].k)
			}
		}
		pairs[i] = pair{k: k, v: v}
	}
	*r = Record{seq: seq, sig: sig[:len(sig):len(sig)], raw: raw, pairs: pairs}
	return nil
}

// validateNested checks that the content of a list value is canonical RLP
// all the way down, as rlp.Stream.Raw does for a record read from a stream,
// so that both decoding paths accept the same records. Values are bounded by
// SizeLimit, and so is the recursion depth.
func validateNested(b []byte, depth int) error {
	if depth > SizeLimit {
		return rlp.ErrTooDeep
	}
	for len(b) > 0 {
		kind, content, rest, err := rlp.Split(b)
		if err != nil {
			return err
		}
		if kind == rlp.List {
			if err := validateNested(content, depth+1); err != nil {
				return err
			}
		}
		b = rest
	}
	return nil
}

// String returns the text form "enr:<base64url>". An unsigned record is
// rendered with an empty signature so that its content can still be read in
// logs; such text never passes verification.
func (r *Record) String() string {
	raw := r.raw
	if raw == nil {
		raw = r.encodeUnchecked([]byte{})
	}
	return textPrefix + base64.RawURLEncoding.EncodeToString(raw)
}

// MarshalText returns the text form (encoding.TextMarshaler). It fails with
// ErrUnsigned for an unsigned record.
func (r *Record) MarshalText() ([]byte, error) {
	if r.raw == nil {
		return nil, ErrUnsigned
	}
	b := make([]byte, len(textPrefix)+base64.RawURLEncoding.EncodedLen(len(r.raw)))
	copy(b, textPrefix)
	base64.RawURLEncoding.Encode(b[len(textPrefix):], r.raw)
	return b, nil
}

// UnmarshalText decodes the text form (encoding.TextUnmarshaler). The
// signature is not checked: call Verify.
func (r *Record) UnmarshalText(text []byte) error {
	dec, err := ParseText(string(text))
	if err != nil {
		return err
	}
	*r = *dec
	return nil
}

// ParseText decodes a record from its text form "enr:<base64url>". The
// base64 must be unpadded, use the URL alphabet, have zero padding bits and
// contain no line breaks, so that String reproduces the input exactly. The
// signature is not checked: call Verify.
func ParseText(s string) (*Record, error) {
	b64, ok := strings.CutPrefix(s, textPrefix)
	if !ok {
		return nil, ErrMissingPrefix
	}
	if len(s) > maxTextLen {
		return nil, fmt.Errorf("%w: text form of %d characters", ErrTooBig, len(s))
	}
	// The base64 decoder skips line breaks; the text form has none.
	if strings.ContainsAny(b64, "\r\n") {
		return nil, fmt.Errorf("%w: line break", ErrInvalidBase64)
	}
	raw := make([]byte, strictBase64.DecodedLen(len(b64)))
	n, err := strictBase64.Decode(raw, []byte(b64))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidBase64, err)
	}
	raw = raw[:n]
	_, _, rest, err := rlp.Split(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: %d bytes", ErrTrailingData, len(rest))
	}
	r := new(Record)
	if err := r.decodeOwned(raw); err != nil {
		return nil, err
	}
	return r, nil
}

// contentPayloadSize is the size of seq, k, v, ... without a list header.
func (r *Record) contentPayloadSize() int {
	n := uintSize(r.seq)
	for _, p := range r.pairs {
		n += stringSize(p.k) + len(p.v)
	}
	return n
}

func (r *Record) appendContentPayload(b []byte) []byte {
	b = rlp.AppendUint64(b, r.seq)
	for _, p := range r.pairs {
		b = appendString(b, p.k)
		b = append(b, p.v...)
	}
	return b
}

// appendContent appends the content list [seq, k, v, ...] that signatures
// cover (enr.md "RLP Encoding").
func (r *Record) appendContent(b []byte) []byte {
	b = appendListHeader(b, r.contentPayloadSize())
	return r.appendContentPayload(b)
}

// rawContentPayload returns the part of a signed record's encoding that
// follows the signature: the payload of the content list.
func (r *Record) rawContentPayload() []byte {
	payload, _, _ := rlp.SplitList(r.raw)
	_, payload, _ = rlp.SplitString(payload)
	return payload
}

// encodeSigned encodes the record with sig and enforces SizeLimit.
func (r *Record) encodeSigned(sig []byte) ([]byte, error) {
	raw := r.encodeUnchecked(sig)
	if len(raw) > SizeLimit {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooBig, len(raw))
	}
	return raw, nil
}

func (r *Record) encodeUnchecked(sig []byte) []byte {
	payload := stringSize(sig) + r.contentPayloadSize()
	b := make([]byte, 0, listSize(payload))
	b = appendListHeader(b, payload)
	b = appendString(b, sig)
	return r.appendContentPayload(b)
}

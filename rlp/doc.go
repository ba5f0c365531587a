// Package rlp implements Recursive Length Prefix encoding, the serialisation
// used by every devp2p wire format (Ethereum Yellow Paper, appendix B;
// https://ethereum.org/en/developers/docs/data-structures-and-encoding/rlp/).
//
// An RLP value is either a byte string or a list of values. Go values map onto
// RLP as follows:
//
//   - unsigned integers (uint8 … uint64, uint, uintptr), *big.Int and big.Int
//     encode as big-endian byte strings without leading zero bytes; zero is the
//     empty string. Signed integers are not supported. Negative big integers
//     cannot be encoded.
//   - bool encodes as the integer 0 or 1.
//   - string, []byte and [N]byte encode as byte strings. A [N]byte decodes only
//     from a string of exactly N bytes.
//   - other slices and arrays encode as lists of their elements.
//   - structs encode as the list of their exported fields, in declaration
//     order. Struct tags adjust this; see below.
//   - a nil pointer encodes as the empty value of its element type: the empty
//     string (0x80) for integers, strings, booleans and byte arrays, the empty
//     list (0xC0) otherwise. Decoding into a nil pointer allocates.
//   - interface values encode their dynamic value (a nil interface is the empty
//     list). Decoding into an empty interface yields []byte for strings and
//     []any for lists.
//   - RawValue holds an already-encoded value and is copied verbatim.
//   - types implementing Encoder or Decoder (also via pointer receivers) take
//     over their own encoding.
//
// Struct tags (key "rlp", comma-separated):
//
//   - "-" skips the field.
//   - "tail", on the last field, which must be a slice, makes it swallow the
//     remaining list elements (encoded without a list header of its own).
//   - "optional": this field and all following ones may be missing at the end
//     of the list; missing fields decode as zero, and trailing zero-valued
//     optional fields are omitted on encode.
//   - "nil", "nilString", "nilList", on pointer fields: an empty value of the
//     given kind ("nil" picks it from the element type) decodes as a nil
//     pointer.
//
// Decoding is strict: every size must use its shortest form, integers must not
// have leading zero bytes, a single byte below 0x80 must not be wrapped in a
// string header, and nested values must fit their enclosing list and the input.
// Each violation is reported as one of the exported Err* sentinels, wrapped in a
// *DecodeError that names the Go type and field path; use errors.Is to test.
package rlp

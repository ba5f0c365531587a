// Package crypto holds the secp256k1 and Keccak-256 primitives the devp2p
// stack is built on: node keys, recoverable ECDSA signatures, ECDH, public key
// encodings, the legacy Keccak-256 hash and go-ethereum's `nodekey` file format.
//
// Keys are github.com/decred/dcrd/dcrec/secp256k1/v4 values (pure Go, no cgo),
// exposed through type aliases so callers never convert between key types.
// The arithmetic behind Sign, Ecrecover/SigToPub, VerifySignature and ECDH is
// the module's internal/ec (64-bit limbs, assembly on amd64 unless built with
// -tags purego), which accepts and produces exactly what decred's ecdsa
// package does; Keccak-256 is internal/keccak, shared with the RLPx MAC.
//
// Signatures use Ethereum's 65-byte R || S || V layout, where V is the public
// key recovery id (0 or 1 for every signature this package produces). Sign is
// deterministic (RFC 6979) and always produces low-S signatures.
package crypto

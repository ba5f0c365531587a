// Package v5sim lets simulations in package discover switch a discv5 codec
// to cheap, insecure handshake cryptography (see discover/v5wire/null.go).
// Being internal to discover, it is out of reach of other modules and
// packages: no production code path can select it by accident.
package v5sim

// NullCrypto switches codec, a *v5wire.Codec, to null handshake
// cryptography. Package v5wire sets it at init.
var NullCrypto func(codec any)

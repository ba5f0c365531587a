package dnsdisc

import (
	"errors"
	"fmt"
)

// Errors about the content of one TXT record or URL. Parsers wrap them in an
// *EntryError naming the entry type; the client adds the DNS name it queried
// with a *NameError. Test with errors.Is.
var (
	// ErrUnknownEntry: the text starts with none of the known prefixes.
	ErrUnknownEntry = errors.New("unknown entry type")
	// ErrEntryTooLong: the text exceeds MaxEntryLength.
	ErrEntryTooLong = fmt.Errorf("entry longer than %d bytes", MaxEntryLength)
	// ErrRootSyntax: a root entry does not follow "enrtree-root:v1 e=<hash>
	// l=<hash> seq=<n> sig=<sig>" exactly.
	ErrRootSyntax = errors.New("invalid syntax")
	// ErrBadBase32: a hash or public key is not unpadded RFC 4648 base32.
	ErrBadBase32 = errors.New("invalid base32")
	// ErrBadBase64: a signature is not unpadded base64url.
	ErrBadBase64 = errors.New("invalid base64url")
	// ErrBadHash: a hash abbreviation is outside MinHashLength..MaxHashLength
	// bytes or not in canonical base32 form.
	ErrBadHash = errors.New("invalid hash")
	// ErrHashMismatch: the text under a hash subdomain does not hash to it.
	ErrHashMismatch = errors.New("hash mismatch")
	// ErrBadSignature: the root signature has the wrong length or does not
	// verify under the tree's public key.
	ErrBadSignature = errors.New("invalid signature")
	// ErrBadPubkey: the key of an enrtree URL is not a compressed secp256k1
	// public key.
	ErrBadPubkey = errors.New("invalid public key")
	// ErrBadURL: an enrtree URL lacks the scheme, the key or a valid domain.
	ErrBadURL = errors.New("invalid enrtree URL")
	// ErrBadENR: a leaf's node record does not decode or verify.
	ErrBadENR = errors.New("invalid node record")
)

// Errors found while walking a tree.
var (
	// ErrNoRoot: the tree's domain has no TXT record starting with
	// "enrtree-root:".
	ErrNoRoot = errors.New("no root entry")
	// ErrNoEntry: a hash subdomain has no TXT record at all.
	ErrNoEntry = errors.New("no tree entry")
	// ErrSeqRollback: the root's sequence number is lower than one already
	// seen for the same tree (dnsdisc.md "Client Protocol", step 2).
	ErrSeqRollback = errors.New("root sequence number went back")
	// ErrLinkInENRTree: a link leaf appears under the e= root.
	ErrLinkInENRTree = errors.New("link entry in ENR subtree")
	// ErrENRInLinkTree: a node record leaf appears under the l= root.
	ErrENRInLinkTree = errors.New("ENR entry in link subtree")
	// ErrLinkLoop: a tree links to itself.
	ErrLinkLoop = errors.New("tree links to itself")
	// ErrTooDeep: a branch lies deeper than the configured MaxDepth.
	ErrTooDeep = errors.New("tree too deep")
	// ErrTooWide: a branch lists more children than the configured MaxWidth.
	ErrTooWide = errors.New("branch too wide")
	// ErrTooManyEntries: a subtree holds more entries than the configured
	// MaxEntries.
	ErrTooManyEntries = errors.New("tree has too many entries")
)

// EntryError is a malformed entry of the given type: "root", "branch",
// "enr", "link", or "" when the type could not be told.
type EntryError struct {
	Type string
	Err  error
}

func (e *EntryError) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("invalid entry: %v", e.Err)
	}
	return fmt.Sprintf("invalid %s entry: %v", e.Type, e.Err)
}
func (e *EntryError) Unwrap() error { return e.Err }

// NameError is a failure concerning the TXT record at one DNS name.
type NameError struct {
	Name string
	Err  error
}

func (e *NameError) Error() string { return e.Name + ": " + e.Err.Error() }
func (e *NameError) Unwrap() error { return e.Err }

// SeqError reports a root whose sequence number is lower than the highest
// one seen for the tree. It matches ErrSeqRollback.
type SeqError struct {
	Seen, Got uint64
}

func (e *SeqError) Error() string {
	return fmt.Sprintf("root sequence number %d is lower than %d seen before", e.Got, e.Seen)
}
func (e *SeqError) Is(target error) bool { return target == ErrSeqRollback }

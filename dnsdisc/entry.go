package dnsdisc

import (
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// Entry prefixes (dnsdisc.md "DNS Record Structure").
const (
	rootPrefix   = "enrtree-root:v1"
	rootFamily   = "enrtree-root:" // any version; used to find the root among TXT records
	branchPrefix = "enrtree-branch:"
	linkPrefix   = "enrtree://"
	enrPrefix    = "enr:"
)

// Limits on remote-controlled input.
const (
	// MaxEntryLength bounds the text of any entry. dnsdisc.md "DNS Record
	// Structure" asks that every entry fit into a 512-byte UDP DNS message,
	// so no conforming entry comes near it; the largest ones a tree holds are
	// ENR leaves of at most 4+400 bytes (enr.SizeLimit in base64).
	MaxEntryLength = 512

	// HashLength is the size of the keccak256 prefix that names an entry in
	// the trees this package builds (16 bytes, 26 base32 characters, as in
	// the dnsdisc.md example and go-ethereum).
	HashLength = 16
	// MinHashLength and MaxHashLength bound the hash abbreviations accepted
	// in root and branch entries (dnsdisc.md says "abbreviated" without a
	// length; go-ethereum accepts the same range).
	MinHashLength = 12
	MaxHashLength = 32

	// MaxBranchWidth is the most children a branch entry of MaxEntryLength
	// can list with the shortest hashes allowed.
	MaxBranchWidth = (MaxEntryLength - len(branchPrefix) + 1) / (minHashText + 1)

	// maxDomainLength is the longest DNS name (RFC 1035 section 2.3.4),
	// maxLabelLength the longest label of one.
	maxDomainLength = 253
	maxLabelLength  = 63

	minHashText = (MinHashLength*8 + 4) / 5 // base32 characters of the shortest hash
	maxHashText = (MaxHashLength*8 + 4) / 5
	sigText     = (crypto.SignatureLength*8 + 5) / 6 // base64 characters of a signature
	maxSeqText  = 20                                 // digits of the largest uint64
)

// dnsdisc.md "References": RFC 4648 encodings without padding.
var (
	b32 = base32.StdEncoding.WithPadding(base32.NoPadding)
	b64 = base64.RawURLEncoding.Strict()
)

// Entry is a parsed tree entry: *BranchEntry, *ENREntry or *LinkEntry. Its
// String is the TXT record text, whose hash names the entry's subdomain.
type Entry interface {
	String() string
	entry()
}

// RootEntry is the signed root of a tree, published at the tree's domain.
type RootEntry struct {
	ENRRoot  string // hash of the subtree of node records
	LinkRoot string // hash of the subtree of links to other trees
	Seq      uint64
	Sig      []byte // 65 bytes R || S || V over SigHash
}

// BranchEntry is an inner node of a subtree, listing its children's hashes.
type BranchEntry struct {
	Children []string
}

// ENREntry is a leaf of the ENR subtree: one node record.
type ENREntry struct {
	Node *enode.Node
}

// LinkEntry is a leaf of the link subtree: a reference to another tree.
type LinkEntry struct {
	URL URL
}

func (*BranchEntry) entry() {}
func (*ENREntry) entry()    {}
func (*LinkEntry) entry()   {}

func (e *BranchEntry) String() string { return branchPrefix + strings.Join(e.Children, ",") }
func (e *ENREntry) String() string    { return e.Node.String() }
func (e *LinkEntry) String() string   { return e.URL.String() }

// SignedText is the part of the root entry the signature covers: the entry
// without " sig=..." (dnsdisc.md "DNS Record Structure").
func (e *RootEntry) SignedText() string {
	return rootPrefix + " e=" + e.ENRRoot + " l=" + e.LinkRoot + " seq=" + strconv.FormatUint(e.Seq, 10)
}

// SigHash is the keccak256 digest that the root signature signs.
func (e *RootEntry) SigHash() [32]byte {
	return crypto.Keccak256Hash([]byte(e.SignedText()))
}

func (e *RootEntry) String() string {
	return e.SignedText() + " sig=" + b64.EncodeToString(e.Sig)
}

// Verify checks the signature under the tree's public key. As in
// go-ethereum, the recovery id byte is not looked at.
func (e *RootEntry) Verify(pub *crypto.PublicKey) error {
	if len(e.Sig) != crypto.SignatureLength {
		return &EntryError{"root", ErrBadSignature}
	}
	h := e.SigHash()
	if !crypto.VerifySignature(crypto.CompressPubkey(pub), h[:], e.Sig[:crypto.RecoveryIDOffset]) {
		return &EntryError{"root", ErrBadSignature}
	}
	return nil
}

// EntryHash returns the subdomain name of an entry with the given text:
// the base32 encoding of the first HashLength bytes of its keccak256 hash.
func EntryHash(text string) string {
	h := crypto.Keccak256Hash([]byte(text))
	return b32.EncodeToString(h[:HashLength])
}

// ParseRoot parses a root entry. The signature is not checked: call Verify.
func ParseRoot(s string) (*RootEntry, error) {
	if len(s) > MaxEntryLength {
		return nil, &EntryError{"root", ErrEntryTooLong}
	}
	rest, ok := strings.CutPrefix(s, rootPrefix+" ")
	if !ok {
		return nil, &EntryError{"root", ErrRootSyntax}
	}
	// Exactly one space between fields, no extra fields: the signed text is
	// then the received text up to " sig=", byte for byte.
	f := strings.Split(rest, " ")
	if len(f) != 4 {
		return nil, &EntryError{"root", ErrRootSyntax}
	}
	eroot, ok1 := strings.CutPrefix(f[0], "e=")
	lroot, ok2 := strings.CutPrefix(f[1], "l=")
	seqs, ok3 := strings.CutPrefix(f[2], "seq=")
	sigs, ok4 := strings.CutPrefix(f[3], "sig=")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, &EntryError{"root", ErrRootSyntax}
	}
	if _, err := parseHash(eroot); err != nil {
		return nil, &EntryError{"root", err}
	}
	if _, err := parseHash(lroot); err != nil {
		return nil, &EntryError{"root", err}
	}
	seq, err := parseSeq(seqs)
	if err != nil {
		return nil, &EntryError{"root", err}
	}
	if len(sigs) != sigText {
		return nil, &EntryError{"root", fmt.Errorf("%w: signature of %d characters, want %d", ErrBadSignature, len(sigs), sigText)}
	}
	sig, err := b64.DecodeString(sigs)
	if err != nil {
		return nil, &EntryError{"root", ErrBadBase64}
	}
	return &RootEntry{ENRRoot: eroot, LinkRoot: lroot, Seq: seq, Sig: sig}, nil
}

// parseSeq accepts a decimal uint64 without sign or leading zeros.
func parseSeq(s string) (uint64, error) {
	if s == "" || len(s) > maxSeqText || (len(s) > 1 && s[0] == '0') {
		return 0, ErrRootSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrRootSyntax
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, ErrRootSyntax
	}
	return n, nil
}

// ParseEntry parses the text found at a hash subdomain: a branch, a link
// or a node record, which must carry a valid "v4" signature. A root entry
// is not a subtree entry and yields ErrUnknownEntry.
func ParseEntry(s string) (Entry, error) {
	return parseEntry(s, nil)
}

// parseEntry is ParseEntry with the identity schemes accepted for node
// records; nil means "v4" only.
func parseEntry(s string, schemes enr.IdentityScheme) (Entry, error) {
	if len(s) > MaxEntryLength {
		return nil, &EntryError{"", ErrEntryTooLong}
	}
	switch {
	case strings.HasPrefix(s, branchPrefix):
		return parseBranch(s[len(branchPrefix):])
	case strings.HasPrefix(s, linkPrefix):
		u, err := ParseURL(s)
		if err != nil {
			return nil, &EntryError{"link", err}
		}
		return &LinkEntry{u}, nil
	case strings.HasPrefix(s, enrPrefix):
		return parseENR(s, schemes)
	default:
		return nil, &EntryError{"", ErrUnknownEntry}
	}
}

func parseBranch(s string) (*BranchEntry, error) {
	if s == "" {
		return &BranchEntry{}, nil // a subtree without leaves
	}
	// MaxEntryLength bounds the count to MaxBranchWidth.
	children := make([]string, 0, strings.Count(s, ",")+1)
	for c := range strings.SplitSeq(s, ",") {
		if _, err := parseHash(c); err != nil {
			return nil, &EntryError{"branch", err}
		}
		children = append(children, c)
	}
	return &BranchEntry{children}, nil
}

func parseENR(s string, schemes enr.IdentityScheme) (*ENREntry, error) {
	r, err := enr.ParseText(s)
	if err != nil {
		return nil, &EntryError{"enr", fmt.Errorf("%w: %w", ErrBadENR, err)}
	}
	var n *enode.Node
	if schemes == nil {
		n, err = enode.New(r)
	} else {
		n, err = enode.NewWithSchemes(schemes, r)
	}
	if err != nil {
		return nil, &EntryError{"enr", fmt.Errorf("%w: %w", ErrBadENR, err)}
	}
	return &ENREntry{n}, nil
}

// parseHash decodes a hash abbreviation, which must be canonical base32 of
// MinHashLength to MaxHashLength bytes.
func parseHash(s string) ([]byte, error) {
	if len(s) < minHashText || len(s) > maxHashText {
		return nil, fmt.Errorf("%w: %d characters, want %d to %d", ErrBadHash, len(s), minHashText, maxHashText)
	}
	h, err := b32.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w %q", ErrBadBase32, s)
	}
	// A string with non-zero padding bits names a different DNS label than
	// the canonical encoding of the same bytes.
	if len(h) < MinHashLength || b32.EncodeToString(h) != s {
		return nil, fmt.Errorf("%w: %q is not canonical base32", ErrBadHash, s)
	}
	return h, nil
}

// hashMatches reports whether text hashes to the abbreviation h.
func hashMatches(text string, h []byte) bool {
	sum := crypto.Keccak256Hash([]byte(text))
	return len(h) <= len(sum) && string(sum[:len(h)]) == string(h)
}

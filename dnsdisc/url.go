package dnsdisc

import (
	"fmt"
	"strings"

	"github.com/trellis-p2p/trellis/crypto"
)

// URL locates a tree and names the key that signs it:
// enrtree://<base32 compressed public key>@<domain> (dnsdisc.md "URL Scheme").
type URL struct {
	Domain string
	Pubkey *crypto.PublicKey
}

// pubkeyText is the length of a base32 compressed public key.
const pubkeyText = (crypto.CompressedPubkeyLength*8 + 4) / 5

// maxURLLength bounds the text ParseURL looks at.
const maxURLLength = len(linkPrefix) + pubkeyText + 1 + maxDomainLength + 1

// ParseURL parses an enrtree URL. The key must be canonical unpadded base32
// of a compressed secp256k1 key, and the domain a DNS name of letters,
// digits, '-' and '_', optionally ending in '.'. Errors wrap ErrBadURL,
// ErrBadBase32 or ErrBadPubkey.
func ParseURL(s string) (URL, error) {
	if len(s) > maxURLLength {
		return URL{}, fmt.Errorf("%w: longer than %d bytes", ErrBadURL, maxURLLength)
	}
	rest, ok := strings.CutPrefix(s, linkPrefix)
	if !ok {
		return URL{}, fmt.Errorf("%w: missing %q scheme", ErrBadURL, linkPrefix)
	}
	key, domain, ok := strings.Cut(rest, "@")
	if !ok || key == "" {
		return URL{}, fmt.Errorf("%w: missing public key", ErrBadURL)
	}
	if err := checkDomain(domain); err != nil {
		return URL{}, err
	}
	if len(key) != pubkeyText {
		return URL{}, fmt.Errorf("%w: key of %d characters, want %d", ErrBadPubkey, len(key), pubkeyText)
	}
	kb, err := b32.DecodeString(key)
	if err != nil || b32.EncodeToString(kb) != key {
		return URL{}, fmt.Errorf("%w in public key", ErrBadBase32)
	}
	pub, err := crypto.DecompressPubkey(kb)
	if err != nil {
		return URL{}, fmt.Errorf("%w: %w", ErrBadPubkey, err)
	}
	return URL{Domain: domain, Pubkey: pub}, nil
}

// NewURL returns the URL of a tree at domain signed by pub.
func NewURL(domain string, pub *crypto.PublicKey) URL {
	return URL{Domain: domain, Pubkey: pub}
}

// String returns the URL text. ParseURL of it yields u again.
func (u URL) String() string {
	if u.Pubkey == nil {
		return linkPrefix + "@" + u.Domain
	}
	return linkPrefix + b32.EncodeToString(crypto.CompressPubkey(u.Pubkey)) + "@" + u.Domain
}

// checkDomain accepts host names: labels of 1 to 63 letters, digits, '-'
// or '_', at most 253 characters, and an optional final dot.
func checkDomain(d string) error {
	name := strings.TrimSuffix(d, ".")
	if name == "" {
		return fmt.Errorf("%w: empty domain", ErrBadURL)
	}
	if len(name) > maxDomainLength {
		return fmt.Errorf("%w: domain longer than %d characters", ErrBadURL, maxDomainLength)
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > maxLabelLength {
			return fmt.Errorf("%w: domain %q has a label of %d characters", ErrBadURL, d, len(label))
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%w: invalid character %q in domain", ErrBadURL, c)
			}
		}
	}
	return nil
}

// subdomain returns the DNS name of the entry with the given hash.
func subdomain(hash, domain string) string {
	return hash + "." + domain
}

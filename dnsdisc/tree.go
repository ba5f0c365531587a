package dnsdisc

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// buildWidth is the number of children in the branches MakeTree creates.
// A branch of 13 hashes of 26 characters is 365 bytes, which leaves room in
// a 512-byte UDP reply for the query name and the DNS headers (dnsdisc.md
// "DNS Record Structure"). go-ethereum builds the same shape, so both
// produce identical trees, and identical signatures, from the same input.
const buildWidth = 13

// Tree is a signed tree of node records and links, as built for publishing
// or as found by Client.SyncTree. It is not safe for concurrent mutation.
type Tree struct {
	root    RootEntry
	entries map[string]Entry // by hash; the subtree roots included
	nodes   []*enode.Node    // sorted by ID
	links   []string         // in tree order
}

// MakeTree builds an unsigned tree with sequence number seq. Node records
// must be signed; they are sorted by node ID. Links are enrtree URLs, kept
// in the given order. Sign the tree before publishing it.
func MakeTree(seq uint64, nodes []*enode.Node, links []string) (*Tree, error) {
	sorted := slices.Clone(nodes)
	slices.SortFunc(sorted, func(a, b *enode.Node) int {
		ida, idb := a.ID(), b.ID()
		return bytes.Compare(ida[:], idb[:])
	})
	leaves := make([]Entry, 0, len(sorted))
	for i, n := range sorted {
		if i > 0 && sorted[i-1].ID() == n.ID() {
			return nil, fmt.Errorf("dnsdisc: node %v is listed twice", n.ID())
		}
		if err := checkTreeNode(n); err != nil {
			return nil, fmt.Errorf("dnsdisc: can't add node %v: %w", n.ID(), err)
		}
		leaves = append(leaves, &ENREntry{n})
	}
	linkLeaves := make([]Entry, 0, len(links))
	for _, l := range links {
		u, err := ParseURL(l)
		if err != nil {
			return nil, fmt.Errorf("dnsdisc: link %q: %w", l, err)
		}
		linkLeaves = append(linkLeaves, &LinkEntry{u})
	}

	t := &Tree{entries: make(map[string]Entry), nodes: sorted, links: slices.Clone(links)}
	eroot := t.build(leaves)
	lroot := t.build(linkLeaves)
	t.root = RootEntry{ENRRoot: t.add(eroot), LinkRoot: t.add(lroot), Seq: seq}
	return t, nil
}

// checkTreeNode rejects records that would fail for clients: unsigned ones,
// and ones whose port entries do not decode (enr.Record keeps such values
// raw, and a strict client would refuse the leaf).
func checkTreeNode(n *enode.Node) error {
	r := n.Record()
	if len(r.Signature()) == 0 {
		return errors.New("record is not signed")
	}
	for _, key := range []string{"tcp", "tcp6", "udp", "udp6", "quic", "quic6"} {
		var port uint16
		err := r.Load(enr.Generic{Key: key, Value: &port})
		if err != nil && !enr.IsNotFound(err) {
			return err
		}
	}
	if s := n.String(); len(s) > MaxEntryLength {
		return ErrEntryTooLong
	}
	return nil
}

// build returns the root of a subtree over leaves, adding its inner entries
// to t. A single leaf is its own root; no leaves give an empty branch.
func (t *Tree) build(leaves []Entry) Entry {
	if len(leaves) == 1 {
		return leaves[0]
	}
	if len(leaves) <= buildWidth {
		children := make([]string, len(leaves))
		for i, e := range leaves {
			children[i] = t.add(e)
		}
		return &BranchEntry{children}
	}
	var subtrees []Entry
	for chunk := range slices.Chunk(leaves, buildWidth) {
		sub := t.build(chunk)
		t.add(sub)
		subtrees = append(subtrees, sub)
	}
	return t.build(subtrees)
}

func (t *Tree) add(e Entry) string {
	h := EntryHash(e.String())
	t.entries[h] = e
	return h
}

// Sign signs the root with key and returns the tree's URL at domain.
func (t *Tree) Sign(key *crypto.PrivateKey, domain string) (string, error) {
	if err := checkDomain(domain); err != nil {
		return "", err
	}
	h := t.root.SigHash()
	sig, err := crypto.Sign(h[:], key)
	if err != nil {
		return "", err
	}
	t.root.Sig = sig
	return NewURL(domain, key.PubKey()).String(), nil
}

// SetSignature sets a signature made elsewhere (base64url, as in
// Signature) after checking it under pub.
func (t *Tree) SetSignature(pub *crypto.PublicKey, sig string) error {
	b, err := b64.DecodeString(sig)
	if err != nil {
		return &EntryError{"root", ErrBadBase64}
	}
	root := t.root
	root.Sig = b
	if err := root.Verify(pub); err != nil {
		return err
	}
	t.root = root
	return nil
}

// Seq returns the tree's sequence number.
func (t *Tree) Seq() uint64 { return t.root.Seq }

// Signature returns the root signature in base64url, "" if unsigned.
func (t *Tree) Signature() string { return b64.EncodeToString(t.root.Sig) }

// Root returns the root entry.
func (t *Tree) Root() RootEntry {
	r := t.root
	r.Sig = slices.Clone(r.Sig)
	return r
}

// Nodes returns the tree's nodes, sorted by ID.
func (t *Tree) Nodes() []*enode.Node { return slices.Clone(t.nodes) }

// Links returns the URLs of the trees this one links to.
func (t *Tree) Links() []string { return slices.Clone(t.links) }

// Len returns the number of entries besides the root.
func (t *Tree) Len() int { return len(t.entries) }

// ToTXT returns the TXT records that publish the tree at domain: the root
// at domain itself and every other entry at <hash>.<domain>. An empty
// domain gives the bare hashes (and the root under "").
func (t *Tree) ToTXT(domain string) map[string]string {
	records := make(map[string]string, len(t.entries)+1)
	records[domain] = t.root.String()
	for h, e := range t.entries {
		name := h
		if domain != "" {
			name = subdomain(h, domain)
		}
		records[name] = e.String()
	}
	return records
}

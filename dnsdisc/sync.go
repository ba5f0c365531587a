package dnsdisc

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
)

// SyncTree downloads the whole tree at url: the root, checked against the
// URL's key, then every entry of the link and ENR subtrees, each checked
// against its hash. Links are recorded, not followed. Any malformed entry,
// a tree over the configured limits, or a link of the tree to itself fails
// the sync. Each lookup is bounded by Config.Timeout and paced by the rate
// limit; ctx bounds the whole.
func (c *Client) SyncTree(ctx context.Context, url string) (*Tree, error) {
	u, err := parseTreeURL(url)
	if err != nil {
		return nil, err
	}
	root, err := c.resolveRoot(ctx, u)
	if err != nil {
		return nil, err
	}
	t := &Tree{root: *root, entries: make(map[string]Entry)}

	links := newSubtreeWalk(c, u, root.LinkRoot, true)
	for !links.done() {
		// Taking the last pending hash walks the subtree depth first with
		// children in order, so links come out in the order they were
		// given to MakeTree.
		hash, e, err := links.resolve(ctx, len(links.missing)-1)
		if err != nil {
			return nil, err
		}
		t.entries[hash] = e
		if le, ok := e.(*LinkEntry); ok {
			if sameTree(le.URL, u) {
				return nil, &NameError{subdomain(hash, u.Domain), &EntryError{"link", ErrLinkLoop}}
			}
			t.links = append(t.links, le.URL.String())
		}
	}

	enrs := newSubtreeWalk(c, u, root.ENRRoot, false)
	byID := make(map[enode.ID]int)
	for !enrs.done() {
		hash, e, err := enrs.resolve(ctx, len(enrs.missing)-1)
		if err != nil {
			return nil, err
		}
		t.entries[hash] = e
		if ee, ok := e.(*ENREntry); ok {
			// A node listed twice counts once, with its newest record.
			if i, dup := byID[ee.Node.ID()]; dup {
				if ee.Node.Seq() > t.nodes[i].Seq() {
					t.nodes[i] = ee.Node
				}
				continue
			}
			byID[ee.Node.ID()] = len(t.nodes)
			t.nodes = append(t.nodes, ee.Node)
		}
	}
	slices.SortFunc(t.nodes, func(a, b *enode.Node) int {
		ida, idb := a.ID(), b.ID()
		return bytes.Compare(ida[:], idb[:])
	})
	return t, nil
}

// treeKey identifies a tree: DNS names are case-insensitive and the final
// dot is optional.
func treeKey(u URL) string {
	d := strings.ToLower(strings.TrimSuffix(u.Domain, "."))
	if u.Pubkey == nil {
		return "@" + d
	}
	return string(crypto.CompressPubkey(u.Pubkey)) + "@" + d
}

// sameTree reports whether a link points at the tree that holds it. The
// domain decides: one name has one root.
func sameTree(link, tree URL) bool {
	return strings.EqualFold(strings.TrimSuffix(link.Domain, "."), strings.TrimSuffix(tree.Domain, "."))
}

// subtreeWalk is the state of a walk over one subtree: the hashes still to
// resolve and the ones already queued. A hash that appears twice is
// resolved once, which also keeps a tree whose branches share children
// from costing more than its distinct entries.
type subtreeWalk struct {
	c       *Client
	loc     URL
	root    string
	link    bool // the link subtree, else the ENR subtree
	missing []pendingHash
	seen    map[string]struct{}
	leaves  int
}

type pendingHash struct {
	hash  string
	depth int // the subtree root is at depth 1
}

func newSubtreeWalk(c *Client, loc URL, root string, link bool) *subtreeWalk {
	return &subtreeWalk{
		c:       c,
		loc:     loc,
		root:    root,
		link:    link,
		missing: []pendingHash{{root, 1}},
		seen:    map[string]struct{}{root: {}},
	}
}

func (w *subtreeWalk) done() bool { return len(w.missing) == 0 }

// resolve resolves the i-th missing hash and queues the children of a
// branch. The hash leaves the queue when it resolved or when its entry is
// unusable; after a failed lookup it stays, to be tried again.
func (w *subtreeWalk) resolve(ctx context.Context, i int) (string, Entry, error) {
	p := w.missing[i]
	e, err := w.c.resolveEntry(ctx, w.loc.Domain, p.hash)
	if err != nil {
		if isTreeError(err) {
			w.remove(i)
		}
		return p.hash, nil, err
	}
	w.remove(i)
	name := subdomain(p.hash, w.loc.Domain)
	switch e := e.(type) {
	case *BranchEntry:
		if len(e.Children) > w.c.cfg.MaxWidth {
			return p.hash, nil, &NameError{name, fmt.Errorf("%w: %d children, limit %d", ErrTooWide, len(e.Children), w.c.cfg.MaxWidth)}
		}
		if len(e.Children) > 0 && p.depth >= w.c.cfg.MaxDepth {
			return p.hash, nil, &NameError{name, fmt.Errorf("%w: branch with children at the depth limit %d", ErrTooDeep, w.c.cfg.MaxDepth)}
		}
		for _, h := range slices.Backward(e.Children) {
			if _, ok := w.seen[h]; ok {
				continue
			}
			if len(w.seen) >= w.c.cfg.MaxEntries {
				return p.hash, nil, &NameError{name, fmt.Errorf("%w: more than %d", ErrTooManyEntries, w.c.cfg.MaxEntries)}
			}
			w.seen[h] = struct{}{}
			w.missing = append(w.missing, pendingHash{h, p.depth + 1})
		}
	case *ENREntry:
		if w.link {
			return p.hash, nil, &NameError{name, ErrENRInLinkTree}
		}
		w.leaves++
	case *LinkEntry:
		if !w.link {
			return p.hash, nil, &NameError{name, ErrLinkInENRTree}
		}
		w.leaves++
	}
	return p.hash, e, nil
}

// remove drops the i-th missing hash. Moving the last one into its place
// keeps removal cheap for random picks and is a plain pop for the last.
func (w *subtreeWalk) remove(i int) {
	last := len(w.missing) - 1
	w.missing[i] = w.missing[last]
	w.missing[last] = pendingHash{}
	w.missing = w.missing[:last]
}

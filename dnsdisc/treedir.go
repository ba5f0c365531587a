package dnsdisc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

// A tree directory holds the definition of a tree the way go-ethereum's
// "devp2p dns" tool keeps it, so that either tool can sign, export or sync
// into a directory made by the other:
//
//	nodes.json         {"<node id hex>": {"seq": N, "record": "enr:...", ...}, ...}
//	enrtree-info.json  {"url": "enrtree://...", "seq": N, "signature": "...",
//	                    "links": [...], "lastModified": "..."}
const (
	NodesFile = "nodes.json"
	MetaFile  = "enrtree-info.json"
)

// TreeMeta is the content of enrtree-info.json.
type TreeMeta struct {
	URL          string    `json:"url,omitempty"` // enrtree URL of the signed tree
	Seq          uint64    `json:"seq"`
	Sig          string    `json:"signature,omitempty"` // base64url root signature
	Links        []string  `json:"links"`
	LastModified time.Time `json:"lastModified"`
}

// NodeSet is the content of nodes.json: node records by ID, with the
// liveness data go-ethereum's crawler keeps next to them.
type NodeSet map[enode.ID]NodeJSON

// NodeJSON is one node of a NodeSet.
type NodeJSON struct {
	Seq    uint64      `json:"seq"`
	Record *enode.Node `json:"record"`
	// Kept as found: the number of liveness checks passed (halved on each
	// failure) and the times of first and last contact and last attempt.
	Score         int       `json:"score,omitempty"`
	FirstResponse time.Time `json:"firstResponse,omitzero"`
	LastResponse  time.Time `json:"lastResponse,omitzero"`
	LastCheck     time.Time `json:"lastCheck,omitzero"`
}

// NewNodeSet returns a set holding nodes.
func NewNodeSet(nodes []*enode.Node) NodeSet {
	ns := make(NodeSet, len(nodes))
	for _, n := range nodes {
		ns[n.ID()] = NodeJSON{Seq: n.Seq(), Record: n}
	}
	return ns
}

// Nodes returns the records of the set, sorted by ID.
func (ns NodeSet) Nodes() []*enode.Node {
	nodes := make([]*enode.Node, 0, len(ns))
	for _, n := range ns {
		nodes = append(nodes, n.Record)
	}
	slices.SortFunc(nodes, func(a, b *enode.Node) int {
		ida, idb := a.ID(), b.ID()
		return bytes.Compare(ida[:], idb[:])
	})
	return nodes
}

// verify checks that every record matches the ID and seq it is filed under.
func (ns NodeSet) verify() error {
	for id, n := range ns {
		switch {
		case n.Record == nil:
			return fmt.Errorf("node %v: no record", id)
		case n.Record.ID() != id:
			return fmt.Errorf("node %v: record has ID %v", id, n.Record.ID())
		case n.Record.Seq() != n.Seq:
			return fmt.Errorf("node %v: 'seq' is %d, the record's is %d", id, n.Seq, n.Record.Seq())
		}
	}
	return nil
}

// TreeDir is the definition of a tree read from a directory.
type TreeDir struct {
	Meta  TreeMeta
	Nodes NodeSet
}

// ReadTreeDir reads a tree directory. nodes.json must exist; a missing
// enrtree-info.json reads as an unsigned tree with sequence number 0 and
// no links. Links and records are checked.
func ReadTreeDir(dir string) (*TreeDir, error) {
	var d TreeDir
	if err := readJSON(filepath.Join(dir, MetaFile), &d.Meta); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if d.Meta.Links == nil {
		d.Meta.Links = []string{}
	}
	for _, l := range d.Meta.Links {
		if _, err := ParseURL(l); err != nil {
			return nil, fmt.Errorf("%s: link %q: %w", MetaFile, l, err)
		}
	}
	if d.Meta.URL != "" {
		if _, err := ParseURL(d.Meta.URL); err != nil {
			return nil, fmt.Errorf("%s: 'url': %w", MetaFile, err)
		}
	}
	nodesFile := filepath.Join(dir, NodesFile)
	if err := readJSON(nodesFile, &d.Nodes); err != nil {
		return nil, err
	}
	if err := d.Nodes.verify(); err != nil {
		return nil, fmt.Errorf("%s: %w", nodesFile, err)
	}
	return &d, nil
}

// Tree builds the tree the directory defines, unsigned.
func (d *TreeDir) Tree() (*Tree, error) {
	return MakeTree(d.Meta.Seq, d.Nodes.Nodes(), d.Meta.Links)
}

// SignedTree builds the tree and sets the signature of enrtree-info.json
// after checking it under the key of its URL. It returns the domain the
// tree is published at.
func (d *TreeDir) SignedTree() (string, *Tree, error) {
	if d.Meta.URL == "" || d.Meta.Sig == "" {
		return "", nil, fmt.Errorf("%s has no 'url' or 'signature': sign the tree first", MetaFile)
	}
	u, err := ParseURL(d.Meta.URL)
	if err != nil {
		return "", nil, err
	}
	t, err := d.Tree()
	if err != nil {
		return "", nil, err
	}
	if err := t.SetSignature(u.Pubkey, d.Meta.Sig); err != nil {
		return "", nil, fmt.Errorf("%s: signature does not match the tree, sign it again: %w", MetaFile, err)
	}
	return u.Domain, t, nil
}

// TreeMetaOf returns the enrtree-info.json content of a signed tree.
func TreeMetaOf(url string, t *Tree, modified time.Time) TreeMeta {
	return TreeMeta{URL: url, Seq: t.Seq(), Sig: t.Signature(), Links: t.Links(), LastModified: modified}
}

// WriteTreeMeta writes enrtree-info.json into dir, creating dir.
func WriteTreeMeta(dir string, m TreeMeta) error {
	if m.Links == nil {
		m.Links = []string{}
	}
	return writeJSON(dir, MetaFile, m)
}

// WriteNodeSet writes nodes.json into dir, creating dir.
func WriteNodeSet(dir string, ns NodeSet) error {
	return writeJSON(dir, NodesFile, ns)
}

func readJSON(file string, v any) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// writeJSON writes v indented as go-ethereum does, through a temporary file
// so that a crash never leaves half a file.
func writeJSON(dir, name string, v any) error {
	data, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}

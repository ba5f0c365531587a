package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
)

// Files of the data directory. They sit directly in it (go-ethereum puts
// them one level down, in <datadir>/geth/); the formats are go-ethereum's, so
// its files can be copied over.
const (
	// NodeKeyFile holds the node key: 64 hex characters (go-ethereum's
	// nodekey format). Generated on first start.
	NodeKeyFile = "nodekey"
	// NodeDBFile is the node database (package enode/nodedb, one bbolt file).
	NodeDBFile = "nodes.db"
	// StaticNodesFile and TrustedNodesFile are JSON arrays of enode URLs
	// (or enr: records), as go-ethereum's static-nodes.json and
	// trusted-nodes.json.
	StaticNodesFile  = "static-nodes.json"
	TrustedNodesFile = "trusted-nodes.json"
	// LockFile is flocked while a node uses the directory.
	LockFile = "LOCK"
)

// maxNodesFileSize bounds static-nodes.json and trusted-nodes.json: a
// thousand URLs of ~200 bytes each need far less.
const maxNodesFileSize = 1 << 20

// ErrDatadirUsed is returned by New when another process holds the data
// directory's lock.
var ErrDatadirUsed = errors.New("datadir is in use by another process")

// datadirError names the directory in ErrDatadirUsed.
type datadirError struct{ dir string }

func (e *datadirError) Error() string {
	return fmt.Sprintf("datadir %s is in use by another process (stop it, or pick another --datadir)", e.dir)
}
func (e *datadirError) Unwrap() error { return ErrDatadirUsed }

// loadOrCreateKey reads the node key of dir, generating and saving one if the
// file does not exist.
func loadOrCreateKey(dir string) (*crypto.PrivateKey, error) {
	path := filepath.Join(dir, NodeKeyFile)
	key, err := crypto.LoadNodeKey(path)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot read node key %s (want 64 hex characters; delete the file to get a new identity): %w", path, err)
	}
	if key, err = crypto.GenerateKey(); err != nil {
		return nil, err
	}
	if err := crypto.SaveNodeKey(path, key); err != nil {
		return nil, fmt.Errorf("cannot save node key: %w", err)
	}
	return key, nil
}

// loadNodesFile reads a JSON array of node URLs. A missing file is no nodes.
func loadNodesFile(path string) ([]*enode.Node, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxNodesFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxNodesFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxNodesFileSize)
	}
	return ParseNodeList(path, data)
}

// ParseNodeList decodes a JSON array of enode:// URLs or enr: records, the
// format of static-nodes.json. Every entry must parse; the error names the
// first bad one. name labels errors.
func ParseNodeList(name string, data []byte) ([]*enode.Node, error) {
	var urls []string
	if err := json.Unmarshal(data, &urls); err != nil {
		return nil, fmt.Errorf("%s: want a JSON array of enode URLs: %w", name, err)
	}
	nodes := make([]*enode.Node, 0, len(urls))
	for i, u := range urls {
		n, err := enode.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("%s: entry %d %q: %w", name, i, u, err)
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

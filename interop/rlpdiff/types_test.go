package rlpdiff

import (
	"net"

	grlp "github.com/ethereum/go-ethereum/rlp"
	"github.com/trellis-p2p/trellis/rlp"
)

// Each benchmarked message exists twice, once per implementation, so that the
// RawValue tail has the right type for each library.

type cap struct {
	Name    string
	Version uint
}

type helloT struct {
	Version    uint64
	Name       string
	Caps       []cap
	ListenPort uint64
	ID         []byte
	Rest       []rlp.RawValue `rlp:"tail"`
}

type helloG struct {
	Version    uint64
	Name       string
	Caps       []cap
	ListenPort uint64
	ID         []byte
	Rest       []grlp.RawValue `rlp:"tail"`
}

type rpcNode struct {
	IP       net.IP
	UDP, TCP uint16
	ID       [64]byte
}

type neighborsT struct {
	Nodes      []rpcNode
	Expiration uint64
	Rest       []rlp.RawValue `rlp:"tail"`
}

type neighborsG struct {
	Nodes      []rpcNode
	Expiration uint64
	Rest       []grlp.RawValue `rlp:"tail"`
}

// Package v4wire is the wire format of Node Discovery Protocol v4 (devp2p
// discv4.md "Wire Protocol"), with the forward-compatibility rules of EIP-8
// and the ENR extension of EIP-868.
//
// A packet is
//
//	hash || signature || packet-type || packet-data
//
// where hash = keccak256(signature || packet-type || packet-data), signature
// is the 65-byte recoverable secp256k1 signature of keccak256(packet-type ||
// packet-data), and packet-data is an RLP list. The sender is identified by
// the public key recovered from the signature; there is no other sender
// field.
//
// The package is a pure codec: no goroutines, no sockets, no clock (callers
// pass the time to Expired).
//
// Decoding follows EIP-8 "Changes to the RLPx Discovery Protocol": the Ping
// version is not checked, list elements after the known ones are kept in
// Rest rather than rejected, and bytes after the packet-data list are
// ignored. The same leniency applies inside the endpoint and node lists.
package v4wire

import (
	"net/netip"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/rlp"
)

// Packet types (discv4.md "Wire Protocol"; ENRRequest and ENRResponse from
// EIP-868). Zero is reserved.
const (
	PingPacket        byte = 1
	PongPacket        byte = 2
	FindNodePacket    byte = 3
	NeighborsPacket   byte = 4
	ENRRequestPacket  byte = 5
	ENRResponsePacket byte = 6
)

// Sizes and limits of the packet format.
const (
	// MaxPacketSize is the largest packet, header included (discv4.md "Wire
	// Protocol": "The maximum size of any packet is 1280 bytes").
	MaxPacketSize = 1280

	HashSize      = 32                     // keccak256 of the rest of the packet
	SignatureSize = crypto.SignatureLength // r || s || v
	HeadSize      = HashSize + SignatureSize

	// MaxNeighbors is how many nodes fit in one Neighbors packet when every
	// node has an IPv6 address and the largest port numbers: 12 such entries
	// take 1205 bytes with the header; a 13th would exceed MaxPacketSize.
	// Replies to FindNode (up to 16 nodes) are split into packets of at most
	// this many nodes.
	MaxNeighbors = 12

	// Version is the protocol version sent in Ping (discv4.md "Ping Packet").
	// Received versions are not checked (EIP-8).
	Version = 4
)

// Packet is a decoded discovery v4 message: one of *Ping, *Pong, *FindNode,
// *Neighbors, *ENRRequest or *ENRResponse. Encode also accepts other types
// implementing it, encoding them with package rlp; tests use that to send
// packets with extra or missing fields.
type Packet interface {
	// Kind returns the packet-type byte.
	Kind() byte
	// Name returns the packet name for logs, like "PING/v4".
	Name() string
}

// Pubkey is a secp256k1 public key as it appears on the wire: the 64 bytes
// X || Y of the uncompressed point, without the 0x04 prefix.
type Pubkey [64]byte

// Endpoint is a network address in Ping and Pong. An IP that is neither 4 nor
// 16 bytes long on the wire decodes as the zero Addr, and a zero Addr encodes
// as the empty string. IPv4 addresses are always 4 bytes on the wire: a 4in6
// address decodes as IPv4 and encodes as 4 bytes.
type Endpoint struct {
	IP  netip.Addr
	UDP uint16 // discovery port
	TCP uint16 // RLPx port, 0 if unknown
}

// Node is an entry of a Neighbors packet.
type Node struct {
	IP  netip.Addr // zero if the wire value was neither 4 nor 16 bytes
	UDP uint16
	TCP uint16
	ID  Pubkey
}

// Ping asks for a Pong and announces the sender's record version (discv4.md
// "Ping Packet"; ENRSeq from EIP-868).
type Ping struct {
	Version    uint64
	From, To   Endpoint
	Expiration uint64 // absolute UNIX time in seconds
	ENRSeq     uint64 // sequence number of the sender's record; 0 if absent

	// Rest holds list elements after the known ones (EIP-8). When the
	// element in ENRSeq's position is not an integer, as in packets from
	// before EIP-868, ENRSeq stays 0 and the element starts Rest.
	Rest []rlp.RawValue
}

// Pong answers a Ping (discv4.md "Pong Packet").
type Pong struct {
	// To mirrors the UDP source address of the Ping, telling the pinger
	// how it is seen from outside (its NAT mapping).
	To         Endpoint
	ReplyTok   []byte // hash of the Ping packet
	Expiration uint64
	ENRSeq     uint64 // EIP-868, as in Ping
	Rest       []rlp.RawValue
}

// FindNode asks for the nodes closest to Target (discv4.md "FindNode
// Packet"). The target is a public key; distances are measured to its
// keccak256 hash (see Pubkey.ID).
type FindNode struct {
	Target     Pubkey
	Expiration uint64
	Rest       []rlp.RawValue
}

// Neighbors answers FindNode (discv4.md "Neighbors Packet").
type Neighbors struct {
	Nodes      []Node
	Expiration uint64
	Rest       []rlp.RawValue
}

// ENRRequest asks for the recipient's node record (EIP-868).
type ENRRequest struct {
	Expiration uint64
	Rest       []rlp.RawValue
}

// ENRResponse carries the sender's node record (EIP-868). The record's
// signature is not checked by Decode.
type ENRResponse struct {
	ReplyTok []byte // hash of the ENRRequest packet
	Record   enr.Record
	Rest     []rlp.RawValue
}

func (*Ping) Kind() byte        { return PingPacket }
func (*Pong) Kind() byte        { return PongPacket }
func (*FindNode) Kind() byte    { return FindNodePacket }
func (*Neighbors) Kind() byte   { return NeighborsPacket }
func (*ENRRequest) Kind() byte  { return ENRRequestPacket }
func (*ENRResponse) Kind() byte { return ENRResponsePacket }

func (*Ping) Name() string        { return "PING/v4" }
func (*Pong) Name() string        { return "PONG/v4" }
func (*FindNode) Name() string    { return "FINDNODE/v4" }
func (*Neighbors) Name() string   { return "NEIGHBORS/v4" }
func (*ENRRequest) Name() string  { return "ENRREQUEST/v4" }
func (*ENRResponse) Name() string { return "ENRRESPONSE/v4" }

// TypeName returns the name of a packet type, "UNKNOWN/v4" for types this
// package does not know.
func TypeName(t byte) string {
	switch t {
	case PingPacket:
		return "PING/v4"
	case PongPacket:
		return "PONG/v4"
	case FindNodePacket:
		return "FINDNODE/v4"
	case NeighborsPacket:
		return "NEIGHBORS/v4"
	case ENRRequestPacket:
		return "ENRREQUEST/v4"
	case ENRResponsePacket:
		return "ENRRESPONSE/v4"
	}
	return "UNKNOWN/v4"
}

// NewEndpoint returns the endpoint for a UDP address and TCP port. A 4in6
// address is written as IPv4.
func NewEndpoint(addr netip.AddrPort, tcp uint16) Endpoint {
	return Endpoint{IP: addr.Addr().Unmap(), UDP: addr.Port(), TCP: tcp}
}

// UDPAddr returns the endpoint's IP and UDP port.
func (e Endpoint) UDPAddr() netip.AddrPort {
	return netip.AddrPortFrom(e.IP, e.UDP)
}

// Expired reports whether the expiration time stamp ts lies before now
// (discv4.md: "Packets containing a time stamp that lies in the past are
// expired"). Like go-ethereum, it reads ts as a signed number of seconds, so
// values of 2^63 and above count as expired rather than as the far future:
// a negative time written as uint64 is an expiration in the past.
func Expired(ts uint64, now time.Time) bool {
	sec, nowSec := int64(ts), now.Unix()
	return sec < nowSec || (sec == nowSec && now.Nanosecond() > 0)
}

// EncodePubkey returns the wire form of a public key.
func EncodePubkey(p *crypto.PublicKey) Pubkey {
	var k Pubkey
	copy(k[:], crypto.MarshalPubkey(p)[1:])
	return k
}

// DecodePubkey parses a wire public key, checking that it is a point on
// secp256k1. Errors wrap crypto.ErrInvalidPubkey.
func DecodePubkey(k Pubkey) (*crypto.PublicKey, error) {
	var b [1 + len(Pubkey{})]byte
	b[0] = 4
	copy(b[1:], k[:])
	return crypto.UnmarshalPubkey(b[:])
}

// ID returns the node ID of the key: keccak256 of its 64 bytes (discv4.md
// "Node Identities").
func (k Pubkey) ID() enode.ID {
	return enode.ID(crypto.Keccak256Hash(k[:]))
}

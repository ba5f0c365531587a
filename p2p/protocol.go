package p2p

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// Protocol is a subprotocol (capability) run over peer connections, such as
// "eth" or "snap". When a peer also announces it, Run is started on its own
// goroutine for that peer.
type Protocol struct {
	// Name is the capability name announced in Hello, conventionally three
	// lowercase ASCII letters.
	Name string
	// Version is the capability version. When several versions of one name
	// are shared with a peer, only the highest runs.
	Version uint
	// Length is the number of message codes the protocol uses: codes
	// 0..Length-1 on its MsgReadWriter.
	Length uint64

	// Run speaks the protocol with one peer. Messages read from rw must be
	// consumed (decoded or discarded); returning ends the whole connection,
	// so Run should loop until it gets an error from rw or the protocol
	// fails. A non-nil error disconnects the peer with DiscSubprotocolError
	// (or the DiscReason it is).
	Run func(peer *Peer, rw MsgReadWriter) error

	// NodeInfo optionally reports protocol metadata about this node, for
	// Server.NodeInfo.
	NodeInfo func() any
	// PeerInfo optionally reports protocol metadata about a peer, for
	// Peer.Info. Returning nil means the protocol handshake is still running.
	PeerInfo func(id enode.ID) any

	// DialCandidates optionally supplies nodes worth dialing for this
	// protocol (for example a DNS discovery tree). The server mixes it with
	// Config.Discovery and closes it on Stop.
	DialCandidates enode.Iterator
	// Attributes are set in the local node record (for example "eth" fork
	// IDs).
	Attributes []enr.Entry
}

// Cap returns the capability the protocol announces.
func (p Protocol) Cap() Cap { return Cap{Name: p.Name, Version: p.Version} }

// Cap is a capability: a protocol name and version as announced in Hello.
type Cap struct {
	Name    string
	Version uint
}

func (c Cap) String() string { return fmt.Sprintf("%s/%d", c.Name, c.Version) }

// Cmp orders capabilities by name, then version, the order in which message
// code ranges are assigned.
func (c Cap) Cmp(o Cap) int {
	if n := strings.Compare(c.Name, o.Name); n != 0 {
		return n
	}
	return cmp.Compare(c.Version, o.Version)
}

// matched is a protocol chosen to run on a connection, with the first message
// code of its range.
type matched struct {
	proto  *Protocol
	offset uint64
}

// matchProtocols picks the protocols to run with a peer announcing caps
// (rlpx.md "Message ID Based Multiplexing"): for each name both sides know,
// the highest version both support; ranges are then assigned in order of name,
// starting at code 16, each as long as the protocol's Length.
func matchProtocols(protos []Protocol, caps []Cap) []matched {
	var best []matched
	for _, c := range caps {
		for i := range protos {
			p := &protos[i]
			if p.Name != c.Name || p.Version != c.Version {
				continue
			}
			j := slices.IndexFunc(best, func(m matched) bool { return m.proto.Name == p.Name })
			switch {
			case j < 0:
				best = append(best, matched{proto: p})
			case best[j].proto.Version < p.Version:
				best[j].proto = p
			}
		}
	}
	slices.SortFunc(best, func(a, b matched) int { return strings.Compare(a.proto.Name, b.proto.Name) })
	offset := uint64(baseProtocolLength)
	for i := range best {
		best[i].offset = offset
		offset += best[i].proto.Length
	}
	return best
}

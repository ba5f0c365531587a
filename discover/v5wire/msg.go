package v5wire

import (
	"net/netip"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// Message types (discv5-wire.md "Protocol Messages"), plus the two kinds
// of Packet that are not messages.
const (
	PingMsg         byte = 0x01
	PongMsg         byte = 0x02
	FindnodeMsg     byte = 0x03
	NodesMsg        byte = 0x04
	TalkRequestMsg  byte = 0x05
	TalkResponseMsg byte = 0x06

	// WhoareyouPacket is the Kind of *Whoareyou, which travels as its own
	// packet kind rather than as a message.
	WhoareyouPacket byte = 0xfe
	// UnknownPacket is the Kind of *Unknown: an ordinary message packet that
	// could not be decrypted.
	UnknownPacket byte = 0xff
)

// Packet is what Codec.Encode sends and Codec.Decode returns: one of the
// message types below, *Whoareyou, or (from Decode only) *Unknown.
type Packet interface {
	// Name is the packet's name for logs, such as "PING/v5".
	Name() string
	// Kind is the message-type, or WhoareyouPacket / UnknownPacket.
	Kind() byte
	// RequestID returns the request ID, nil for Whoareyou and Unknown.
	RequestID() []byte
	// SetRequestID sets the request ID; Whoareyou and Unknown ignore it.
	SetRequestID(id []byte)
}

// Ping (0x01) checks that the recipient is alive and tells it the sender's
// record sequence number.
//
//	message-data = [request-id, enr-seq]
type Ping struct {
	ReqID  []byte
	ENRSeq uint64
}

// Pong (0x02) answers Ping. ToIP and ToPort are the UDP envelope address the
// Ping came from, which lets the recipient learn its external endpoint.
//
//	message-data = [request-id, enr-seq, recipient-ip, recipient-port]
//
// recipient-ip is 4 bytes for IPv4 (also for ToIP in 4in6 form), 16 for IPv6.
type Pong struct {
	ReqID  []byte
	ENRSeq uint64
	ToIP   netip.Addr
	ToPort uint16
}

// Findnode (0x03) asks for the records at the given log2 distances from the
// recipient's ID; distance 0 asks for the recipient's own record.
//
//	message-data = [request-id, [distance₁, ..., distanceₙ]]
//
// Decode does not bound the values or the count (beyond the packet size):
// answering ignores distances above 256, and requesters send at most
// MaxFindnodeDistances.
type Findnode struct {
	ReqID     []byte
	Distances []uint
}

// Nodes (0x04) answers Findnode. One answer may span several Nodes messages;
// Total says how many. SplitNodes builds them.
//
//	message-data = [request-id, total, [ENR, ...]]
//
// Decode checks the records' encoding only (enr.SizeLimit included): the
// receiver must verify them, e.g. with enode.New, and check them against the
// distances it asked for.
type Nodes struct {
	ReqID   []byte
	Total   uint8
	Records []*enr.Record
}

// TalkRequest (0x05) carries an application request for the protocol named
// by Protocol. The recipient must answer with TalkResponse, empty if it does
// not know the protocol.
//
//	message-data = [request-id, protocol, request]
type TalkRequest struct {
	ReqID    []byte
	Protocol string
	Message  []byte
}

// TalkResponse (0x06) answers TalkRequest.
//
//	message-data = [request-id, response]
type TalkResponse struct {
	ReqID   []byte
	Message []byte
}

// Whoareyou is the handshake challenge (discv5-wire.md "WHOAREYOU Packet",
// flag 1):
//
//	authdata = id-nonce || enr-seq
//
// To send one, set Nonce to the nonce of the packet that could not be
// decrypted (Unknown.Nonce), RecordSeq to the sequence number of the record
// held for the node (0 if none) and Node to that record. Encode fills in
// IDNonce and ChallengeData and stores the challenge in the SessionStore.
// Encoding the same Whoareyou again re-sends identical bytes.
//
// A decoded Whoareyou has ChallengeData set. To answer, set Node to the
// record of the node that sent it, then pass the challenge to Encode along
// with the request to re-send.
type Whoareyou struct {
	Nonce     Nonce    // nonce of the packet being challenged
	IDNonce   [16]byte // random; makes each challenge unique
	RecordSeq uint64   // seq of the challenged node's record the challenger holds, 0 if none

	// Node is the record of the challenged node (when sending) or of the
	// challenger (when answering). It is not part of the encoding.
	Node *enode.Node

	// ChallengeData is masking-iv || static-header || authdata of the
	// packet, unmasked: the input to the handshake's signature and key
	// derivation. Set by Encode and Decode.
	ChallengeData []byte
}

// Unknown is what Decode returns for an ordinary message packet that it
// could not decrypt: there is no session with the sender at that endpoint,
// or the session's keys do not match the sender's (it may have restarted).
// The protocol answers with a Whoareyou whose Nonce is this Nonce.
type Unknown struct {
	Nonce Nonce
}

func (*Ping) Name() string             { return "PING/v5" }
func (*Ping) Kind() byte               { return PingMsg }
func (p *Ping) RequestID() []byte      { return p.ReqID }
func (p *Ping) SetRequestID(id []byte) { p.ReqID = id }

func (*Pong) Name() string             { return "PONG/v5" }
func (*Pong) Kind() byte               { return PongMsg }
func (p *Pong) RequestID() []byte      { return p.ReqID }
func (p *Pong) SetRequestID(id []byte) { p.ReqID = id }

func (*Findnode) Name() string             { return "FINDNODE/v5" }
func (*Findnode) Kind() byte               { return FindnodeMsg }
func (p *Findnode) RequestID() []byte      { return p.ReqID }
func (p *Findnode) SetRequestID(id []byte) { p.ReqID = id }

func (*Nodes) Name() string             { return "NODES/v5" }
func (*Nodes) Kind() byte               { return NodesMsg }
func (p *Nodes) RequestID() []byte      { return p.ReqID }
func (p *Nodes) SetRequestID(id []byte) { p.ReqID = id }

func (*TalkRequest) Name() string             { return "TALKREQ/v5" }
func (*TalkRequest) Kind() byte               { return TalkRequestMsg }
func (p *TalkRequest) RequestID() []byte      { return p.ReqID }
func (p *TalkRequest) SetRequestID(id []byte) { p.ReqID = id }

func (*TalkResponse) Name() string             { return "TALKRESP/v5" }
func (*TalkResponse) Kind() byte               { return TalkResponseMsg }
func (p *TalkResponse) RequestID() []byte      { return p.ReqID }
func (p *TalkResponse) SetRequestID(id []byte) { p.ReqID = id }

func (*Whoareyou) Name() string        { return "WHOAREYOU/v5" }
func (*Whoareyou) Kind() byte          { return WhoareyouPacket }
func (*Whoareyou) RequestID() []byte   { return nil }
func (*Whoareyou) SetRequestID([]byte) {}

func (*Unknown) Name() string        { return "UNKNOWN/v5" }
func (*Unknown) Kind() byte          { return UnknownPacket }
func (*Unknown) RequestID() []byte   { return nil }
func (*Unknown) SetRequestID([]byte) {}

package p2p

import (
	"errors"
	"strconv"
)

// DiscReason is the reason code of a Disconnect message (rlpx.md
// "Disconnect (0x01)"). It is an error: a peer that ends because the remote
// side disconnected reports the reason it sent, and Peer.Disconnect takes one.
type DiscReason uint8

// Disconnect reasons, with the numbers and meanings from rlpx.md.
const (
	DiscRequested           DiscReason = 0x00
	DiscNetworkError        DiscReason = 0x01
	DiscProtocolError       DiscReason = 0x02
	DiscUselessPeer         DiscReason = 0x03
	DiscTooManyPeers        DiscReason = 0x04
	DiscAlreadyConnected    DiscReason = 0x05
	DiscIncompatibleVersion DiscReason = 0x06
	DiscInvalidIdentity     DiscReason = 0x07
	DiscQuitting            DiscReason = 0x08
	DiscUnexpectedIdentity  DiscReason = 0x09
	DiscSelf                DiscReason = 0x0a
	DiscReadTimeout         DiscReason = 0x0b
	DiscSubprotocolError    DiscReason = 0x10

	// DiscInvalid stands for a Disconnect message whose reason could not be
	// decoded. It is never sent.
	DiscInvalid DiscReason = 0xff
)

var discReasonText = [...]string{
	DiscRequested:           "disconnect requested",
	DiscNetworkError:        "network error",
	DiscProtocolError:       "breach of protocol",
	DiscUselessPeer:         "useless peer",
	DiscTooManyPeers:        "too many peers",
	DiscAlreadyConnected:    "already connected",
	DiscIncompatibleVersion: "incompatible p2p protocol version",
	DiscInvalidIdentity:     "invalid node identity",
	DiscQuitting:            "client quitting",
	DiscUnexpectedIdentity:  "unexpected identity",
	DiscSelf:                "connected to self",
	DiscReadTimeout:         "read timeout",
	DiscSubprotocolError:    "subprotocol error",
	DiscInvalid:             "invalid disconnect reason",
}

func (d DiscReason) String() string {
	if int(d) < len(discReasonText) && discReasonText[d] != "" {
		return discReasonText[d]
	}
	return "unknown disconnect reason " + strconv.Itoa(int(d))
}

func (d DiscReason) Error() string { return d.String() }

// Errors of this package. Failures wrap one of them (or are a DiscReason), so
// callers test with errors.Is.
var (
	// ErrShuttingDown is returned by MsgReadWriter methods once the peer is
	// disconnecting.
	ErrShuttingDown = errors.New("p2p: peer shutting down")
	// ErrServerStopped is returned by Start on a server that was stopped:
	// servers cannot be restarted.
	ErrServerStopped = errors.New("p2p: server stopped")
	// ErrServerRunning is returned by Start on a running server.
	ErrServerRunning = errors.New("p2p: server already running")
	// ErrConfig wraps every configuration problem reported by Start.
	ErrConfig = errors.New("p2p: invalid config")

	// ErrInvalidMsgCode: a message code outside the protocol's range, read or
	// written. A peer that sends one is disconnected with DiscProtocolError.
	ErrInvalidMsgCode = errors.New("p2p: invalid message code")
	// ErrInvalidMsg: a message payload that does not decode.
	ErrInvalidMsg = errors.New("p2p: invalid message")
	// ErrMsgTooLarge: a message larger than its protocol allows.
	ErrMsgTooLarge = errors.New("p2p: message too large")

	// ErrInvalidHello wraps every malformed Hello message.
	ErrInvalidHello = errors.New("p2p: invalid hello")
	// ErrInvalidDisconnect wraps every malformed Disconnect message.
	ErrInvalidDisconnect = errors.New("p2p: invalid disconnect message")
	// ErrUnexpectedMsg: the remote sent something other than Hello or
	// Disconnect as its first message.
	ErrUnexpectedMsg = errors.New("p2p: expected hello message")

	// ErrEncHandshake wraps failures of the RLPx encryption handshake.
	ErrEncHandshake = errors.New("p2p: encryption handshake failed")
	// ErrProtoHandshake wraps failures of the Hello exchange other than a
	// DiscReason received from or sent to the remote.
	ErrProtoHandshake = errors.New("p2p: protocol handshake failed")

	// errProtocolReturned is what a peer ends with when one of its protocols'
	// Run returns nil.
	errProtocolReturned = errors.New("p2p: protocol returned")
)

// discReasonFor picks the reason to send when a peer ends with err.
func discReasonFor(err error) DiscReason {
	var r DiscReason
	switch {
	case errors.As(err, &r):
		return r
	case errors.Is(err, errProtocolReturned):
		return DiscQuitting
	case errors.Is(err, ErrInvalidMsgCode), errors.Is(err, ErrInvalidMsg), errors.Is(err, ErrMsgTooLarge):
		return DiscProtocolError
	default:
		return DiscSubprotocolError
	}
}

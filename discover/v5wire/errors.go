package v5wire

import "errors"

// Errors returned by this package. Failures wrap one of them with context, so
// callers test with errors.Is.
var (
	// ErrPacketTooShort: the packet is shorter than MinPacketSize.
	ErrPacketTooShort = errors.New("v5wire: packet too short")
	// ErrPacketTooBig: the packet is longer than MaxPacketSize, or a packet
	// being encoded would be.
	ErrPacketTooBig = errors.New("v5wire: packet too big")
	// ErrBadMasking: the unmasked header does not start with the protocol-id
	// "discv5". Either the packet belongs to another protocol sharing the
	// socket, or it was masked for another node ID.
	ErrBadMasking = errors.New("v5wire: bad masking or protocol-id")
	// ErrMessageTooShort: an ordinary or handshake packet leaves no room for
	// its authdata and the AES-GCM tag of its message.
	ErrMessageTooShort = errors.New("v5wire: message packet too short")
	// ErrInvalidVersion: the header's version is below the one this codec
	// speaks.
	ErrInvalidVersion = errors.New("v5wire: unsupported packet version")
	// ErrUnknownFlag: the header's flag is not one of the three packet kinds.
	ErrUnknownFlag = errors.New("v5wire: unknown packet flag")
	// ErrInvalidAuthSize: authdata-size runs past the end of the packet or
	// does not match the packet kind, or the sizes inside the handshake
	// authdata run past the authdata.
	ErrInvalidAuthSize = errors.New("v5wire: invalid authdata size")

	// ErrUnexpectedHandshake: a handshake packet arrived from a node and
	// endpoint that no pending WHOAREYOU was sent to (or it expired).
	ErrUnexpectedHandshake = errors.New("v5wire: handshake without pending challenge")
	// ErrMissingRecord: a handshake packet carries no record, but none is
	// known for the sender.
	ErrMissingRecord = errors.New("v5wire: handshake lacks the sender's record")
	// ErrInvalidRecord: the record in a handshake packet does not decode,
	// does not verify, or belongs to another node ID.
	ErrInvalidRecord = errors.New("v5wire: invalid record in handshake")
	// ErrInvalidEphemeralKey: the handshake's ephemeral public key is not a
	// 33-byte compressed secp256k1 point.
	ErrInvalidEphemeralKey = errors.New("v5wire: invalid ephemeral public key")
	// ErrInvalidSignature: the handshake's ID signature is malformed or was
	// not made by the key of the sender's record.
	ErrInvalidSignature = errors.New("v5wire: invalid ID signature")
	// ErrCouldNotDecrypt: the message does not authenticate under the keys
	// at hand. Decode reports this for handshake packets; for ordinary
	// message packets it returns *Unknown instead, the cue to answer with
	// WHOAREYOU.
	ErrCouldNotDecrypt = errors.New("v5wire: could not decrypt message")

	// ErrEmptyMessage: a decrypted message has no message-type byte.
	ErrEmptyMessage = errors.New("v5wire: empty message")
	// ErrUnknownMessage: the message-type is not one this codec knows.
	ErrUnknownMessage = errors.New("v5wire: unknown message type")
	// ErrInvalidMessage: the message-data is not the RLP list its type
	// requires, or a field is out of range.
	ErrInvalidMessage = errors.New("v5wire: invalid message")
	// ErrReqIDTooLarge: a request ID is longer than MaxRequestIDSize bytes.
	ErrReqIDTooLarge = errors.New("v5wire: request ID larger than 8 bytes")

	// ErrInvalidChallenge: Encode got a WHOAREYOU it cannot use: to answer,
	// one without ChallengeData (not decoded from the wire) or without the
	// recipient's Node; to send, one with RecordSeq set but no Node.
	ErrInvalidChallenge = errors.New("v5wire: invalid challenge")
	// ErrUnencodable: Encode or AppendMessage got a packet that has no wire
	// form (Unknown, nil) or a field that cannot be encoded (an unsigned
	// record, an invalid IP address).
	ErrUnencodable = errors.New("v5wire: packet cannot be encoded")
)

// IsInvalidHeader reports whether err says that a packet is not discv5 at
// all, or not addressed to this node: too short or too long, or its header
// does not unmask to the protocol-id. A discv5 node sharing its UDP socket
// with another protocol (discv4) hands such packets over to it. Errors after
// the protocol-id matched (version, flag, sizes, cryptography) report false:
// the packet was discv5.
func IsInvalidHeader(err error) bool {
	return errors.Is(err, ErrPacketTooShort) || errors.Is(err, ErrPacketTooBig) ||
		errors.Is(err, ErrBadMasking) || errors.Is(err, ErrMessageTooShort)
}

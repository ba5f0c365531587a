package v5wire

import (
	"encoding/binary"
	"fmt"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// Decode decodes a packet received from UDP endpoint addr. input is not
// modified or retained.
//
// It returns the sender's node ID (zero for WHOAREYOU, which does not carry
// it), the sender's verified record for handshake packets (nil otherwise),
// and the packet:
//
//   - a message (*Ping, *Pong, ...) from an ordinary packet that decrypted
//     with the session stored for the sender at addr, or from a handshake
//     packet answering a challenge stored for it;
//   - *Whoareyou, a challenge to a packet we sent, with ChallengeData set;
//   - *Unknown, an ordinary packet without a session at addr or that does
//     not decrypt with it: answer with WHOAREYOU.
//
// A handshake is checked against the challenge stored for the sender at addr
// (ErrUnexpectedHandshake if none): the record, when present and newer than
// the challenge's Node, must be valid and belong to the sender; the ID
// signature must verify against the record's key; the message must decrypt
// with the derived keys. Then the new session is stored with StoreSession.
// Either way the challenge is deleted.
//
// Errors: ErrPacketTooShort, ErrPacketTooBig, ErrBadMasking,
// ErrMessageTooShort (see IsInvalidHeader), ErrInvalidVersion,
// ErrUnknownFlag, ErrInvalidAuthSize; for handshakes
// ErrUnexpectedHandshake, ErrMissingRecord, ErrInvalidRecord,
// ErrInvalidEphemeralKey, ErrInvalidSignature, ErrCouldNotDecrypt; for the
// message, those of DecodeMessage.
func (c *Codec) Decode(input []byte, addr string) (enode.ID, *enode.Node, Packet, error) {
	switch {
	case len(input) < MinPacketSize:
		return enode.ID{}, nil, nil, fmt.Errorf("%w: %d bytes", ErrPacketTooShort, len(input))
	case len(input) > MaxPacketSize:
		return enode.ID{}, nil, nil, fmt.Errorf("%w: %d bytes", ErrPacketTooBig, len(input))
	}
	b := append(c.dec[:0], input...)
	c.dec = b

	// Unmask the static header first: authdata-size says how much more to
	// unmask (discv5-wire.md "Protocol Header").
	mask := maskingStream(c.unmask, b[:maskingIVSize])
	mask.XORKeyStream(b[headerStart:authDataStart], b[headerStart:authDataStart])
	h, err := parseStaticHeader(b[headerStart:authDataStart], len(b)-authDataStart)
	if err != nil {
		return enode.ID{}, nil, nil, err
	}
	authEnd := authDataStart + int(h.authSize)
	mask.XORKeyStream(b[authDataStart:authEnd], b[authDataStart:authEnd])

	switch h.flag {
	case flagMessage:
		src, p, err := c.decodeMessage(b, &h, authEnd, addr)
		return src, nil, p, err
	case flagWhoareyou:
		w, err := decodeWhoareyou(b, &h, authEnd)
		if err != nil {
			return enode.ID{}, nil, nil, err
		}
		return enode.ID{}, nil, w, nil
	default: // flagHandshake; parseStaticHeader rejected other flags
		return c.decodeHandshake(b, &h, authEnd, addr)
	}
}

// decodeWhoareyou reads the authdata of a WHOAREYOU packet. Bytes after the
// authdata, where a message would be, are ignored as go-ethereum ignores
// them; they are not part of the challenge data.
func decodeWhoareyou(b []byte, h *staticHeader, authEnd int) (*Whoareyou, error) {
	if h.authSize != whoareyouAuthSize {
		return nil, fmt.Errorf("%w: %d for WHOAREYOU, want %d", ErrInvalidAuthSize, h.authSize, whoareyouAuthSize)
	}
	w := &Whoareyou{Nonce: h.nonce}
	copy(w.IDNonce[:], b[authDataStart:])
	w.RecordSeq = binary.BigEndian.Uint64(b[authDataStart+len(w.IDNonce):])
	w.ChallengeData = append([]byte(nil), b[:authEnd]...)
	return w, nil
}

// decodeMessage reads an ordinary message packet.
func (c *Codec) decodeMessage(b []byte, h *staticHeader, authEnd int, addr string) (enode.ID, Packet, error) {
	if h.authSize != messageAuthSize {
		return enode.ID{}, nil, fmt.Errorf("%w: %d for message packet, want %d", ErrInvalidAuthSize, h.authSize, messageAuthSize)
	}
	src := enode.ID(b[authDataStart:authEnd])
	s := c.store.Session(src, addr)
	if s == nil {
		return src, &Unknown{Nonce: h.nonce}, nil
	}
	pt, err := s.readAEAD().Open(b[authEnd:authEnd], h.nonce[:], b[authEnd:], b[:authEnd])
	if err != nil {
		return src, &Unknown{Nonce: h.nonce}, nil
	}
	p, err := DecodeMessage(pt)
	return src, p, err
}

// decodeHandshake reads a handshake message packet and completes the
// handshake as recipient (discv5-theory.md "Handshake Steps", step 4).
func (c *Codec) decodeHandshake(b []byte, h *staticHeader, authEnd int, addr string) (enode.ID, *enode.Node, Packet, error) {
	if h.authSize < handshakeAuthHeadSize {
		return enode.ID{}, nil, nil, fmt.Errorf("%w: %d for handshake, want at least %d", ErrInvalidAuthSize, h.authSize, handshakeAuthHeadSize)
	}
	auth := b[authDataStart:authEnd]
	src := enode.ID(auth[:len(enode.ID{})])
	sigSize, ephKeySize := int(auth[32]), int(auth[33])
	vardata := auth[handshakeAuthHeadSize:]
	if sigSize+ephKeySize > len(vardata) {
		return src, nil, nil, fmt.Errorf("%w: sig-size %d + eph-key-size %d exceed authdata", ErrInvalidAuthSize, sigSize, ephKeySize)
	}
	sig := vardata[:sigSize]
	ephKey := vardata[sigSize : sigSize+ephKeySize]
	record := vardata[sigSize+ephKeySize:]

	challenge := c.store.Challenge(src, addr)
	if challenge == nil {
		return src, nil, nil, ErrUnexpectedHandshake
	}
	// Whatever the outcome, the challenge is used up: an accepted one must
	// not admit a replay, a failed one shows the handshake went wrong.
	c.store.DeleteChallenge(src, addr)

	newNode := enode.New
	if c.null {
		newNode = nullNewNode
	}
	node, err := handshakeNode(newNode, challenge.Node, src, record)
	if err != nil {
		return src, nil, nil, err
	}
	var initiatorKey, recipientKey [keySize]byte
	if c.null {
		var ok bool
		if initiatorKey, recipientKey, ok = c.nullAccept(src, challenge, sig, ephKey); !ok {
			return src, nil, nil, ErrInvalidSignature
		}
	} else {
		if ephKeySize != ephemeralKeySize {
			return src, nil, nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidEphemeralKey, ephKeySize, ephemeralKeySize)
		}
		ephPub, err := crypto.DecompressPubkey(ephKey)
		if err != nil {
			return src, nil, nil, fmt.Errorf("%w: %w", ErrInvalidEphemeralKey, err)
		}
		pub := node.Pubkey()
		if pub == nil {
			return src, nil, nil, fmt.Errorf("%w: record of %v has no secp256k1 key", ErrInvalidSignature, src)
		}
		if sigSize != idSignatureSize {
			return src, nil, nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidSignature, sigSize, idSignatureSize)
		}
		if !verifyIDSignature(pub, sig, challenge.ChallengeData, ephKey, c.id) {
			return src, nil, nil, ErrInvalidSignature
		}
		initiatorKey, recipientKey = deriveKeys(c.key, ephPub, src, c.id, challenge.ChallengeData)
	}
	s := newSession(node, initiatorKey, recipientKey, false)
	pt, err := s.readAEAD().Open(b[authEnd:authEnd], h.nonce[:], b[authEnd:], b[:authEnd])
	if err != nil {
		return src, nil, nil, ErrCouldNotDecrypt
	}
	p, err := DecodeMessage(pt)
	if err != nil {
		return src, nil, nil, err
	}
	c.store.StoreSession(src, addr, s)
	return src, node, p, nil
}

// handshakeNode picks the record to verify a handshake against: the one in
// the packet if it is newer than known (the record the challenge was sent
// with, possibly nil), else known.
func handshakeNode(newNode func(*enr.Record) (*enode.Node, error), known *enode.Node, src enode.ID, record []byte) (*enode.Node, error) {
	if len(record) > 0 {
		var r enr.Record
		if err := r.UnmarshalBinary(record); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
		}
		if known == nil || known.Seq() < r.Seq() {
			n, err := newNode(&r)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
			}
			if n.ID() != src {
				return nil, fmt.Errorf("%w: record of %v sent by %v", ErrInvalidRecord, n.ID(), src)
			}
			return n, nil
		}
	}
	if known == nil {
		return nil, ErrMissingRecord
	}
	return known, nil
}

package v5wire

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
)

// Codec encodes and decodes the packets of the local node. It keeps its
// session state in the SessionStore given to NewCodec and otherwise only
// reusable buffers.
//
// A Codec is not safe for concurrent use: the goroutine that owns the
// SessionStore owns the Codec too.
type Codec struct {
	key    *crypto.PrivateKey
	id     enode.ID
	store  SessionStore
	unmask cipher.Block // masking key of packets to us: our ID[:16]

	// Masking key of the last destination: packets often go to the same
	// node in a row (a response split in several NODES, a lookup's calls).
	maskID    enode.ID
	maskBlock cipher.Block

	buf []byte // the packet Encode returns
	dec []byte // copy of the packet being decoded, unmasked in place

	// Where randomness, ephemeral keys and the local record come from.
	// Tests replace them to reproduce the published vectors.
	random       func(purpose randPurpose, b []byte)
	newNonce     func(counter uint32) Nonce
	ephemeralKey func() (*crypto.PrivateKey, error)
	localNode    func() *enode.Node

	// null selects the simulation-only handshake cryptography of null.go;
	// nullPub is the compressed static public key it uses.
	null    bool
	nullPub []byte
}

// randPurpose tells the random source what the bytes are for, so that tests
// can supply each value the vectors fix.
type randPurpose int

const (
	randMaskingIV randPurpose = iota
	randNonce                 // the nonce of a packet sent without session
	randIDNonce
	randFiller // the message of a packet sent without session
)

// NewCodec returns a codec for the node ln, whose static private key is key,
// keeping sessions and challenges in store. It panics if key is not ln's key
// or store is nil: both are programming errors.
func NewCodec(ln *enode.LocalNode, key *crypto.PrivateKey, store SessionStore) *Codec {
	if ln == nil || key == nil || store == nil {
		panic("v5wire: NewCodec needs a local node, its key and a session store")
	}
	if enode.PubkeyToIDV4(key.PubKey()) != ln.ID() {
		panic("v5wire: NewCodec key does not belong to the local node")
	}
	c := &Codec{
		key:    key,
		id:     ln.ID(),
		store:  store,
		unmask: maskingBlock(ln.ID()),
		buf:    make([]byte, 0, MaxPacketSize),
		dec:    make([]byte, 0, MaxPacketSize),
		random: func(_ randPurpose, b []byte) {
			rand.Read(b) // never fails; see crypto/rand.Read
		},
		ephemeralKey: crypto.GenerateKey,
	}
	c.newNonce = counterNonce
	c.localNode = ln.Node
	return c
}

// counterNonce makes the nonce of a session's counter-th message: the count
// in the first 32 bits and 64 random bits after it, as discv5-theory.md
// "Session Cache" recommends. The count wraps after 2^32 messages; the
// random part keeps nonces distinct then.
func counterNonce(counter uint32) Nonce {
	var n Nonce
	binary.BigEndian.PutUint32(n[:4], counter)
	rand.Read(n[4:])
	return n
}

// Encode encodes packet p for the node id at UDP endpoint addr and returns
// the packet and the nonce it carries. The packet is valid until the next
// call to Encode.
//
// What is sent depends on p, challenge and the SessionStore:
//
//   - p is a *Whoareyou: a WHOAREYOU packet. Encode fills in IDNonce and
//     ChallengeData, stores the challenge with StoreChallenge and returns
//     p.Nonce. A Whoareyou that already has ChallengeData is sent again
//     byte for byte (and not stored again).
//   - challenge is not nil: a handshake packet answering it, carrying p.
//     challenge must be a decoded WHOAREYOU from id with Node set to id's
//     record. The new session is stored with StoreSession. The local record
//     is included if challenge.RecordSeq is below its sequence number.
//   - a session with id at addr exists: an ordinary message packet carrying
//     p, encrypted with the session's write key.
//   - otherwise: an ordinary message packet with random content, which id
//     answers with WHOAREYOU; p is checked but not sent. The caller keeps p
//     and the returned nonce to match the WHOAREYOU and re-send p with it.
//
// Errors: ErrInvalidChallenge, ErrUnencodable and ErrReqIDTooLarge for
// unusable arguments, ErrPacketTooBig if the packet would exceed
// MaxPacketSize, or the error of the ephemeral key generation.
func (c *Codec) Encode(id enode.ID, addr string, p Packet, challenge *Whoareyou) ([]byte, Nonce, error) {
	if w, ok := p.(*Whoareyou); ok {
		return c.encodeWhoareyou(id, addr, w)
	}
	if challenge != nil {
		return c.encodeHandshake(id, addr, p, challenge)
	}
	if s := c.store.Session(id, addr); s != nil {
		return c.encodeMessage(id, s, p)
	}
	return c.encodeRandom(id, p)
}

// startPacket begins a packet in c.buf: a fresh masking IV and the static
// header.
func (c *Codec) startPacket(flag byte, nonce *Nonce, authSize int) []byte {
	b := c.buf[:maskingIVSize]
	c.random(randMaskingIV, b)
	return appendStaticHeader(b, flag, nonce, authSize)
}

// finishPacket appends the message encrypted with aead to the header in b
// (message-ad = masking-iv || header), masks the header and keeps the
// packet in c.buf.
func (c *Codec) finishPacket(b []byte, dest enode.ID, aead cipher.AEAD, nonce *Nonce, p Packet) ([]byte, error) {
	hdrEnd := len(b)
	b, err := AppendMessage(b, p)
	if err != nil {
		return nil, err
	}
	if len(b)+gcmTagSize > MaxPacketSize {
		return nil, fmt.Errorf("%w: %s needs %d bytes", ErrPacketTooBig, p.Name(), len(b)+gcmTagSize)
	}
	b = slices.Grow(b, gcmTagSize)
	// Sealing in place: dst is the plaintext's own start, and the additional
	// data ends where it begins, so neither overlaps inexactly.
	ct := aead.Seal(b[hdrEnd:hdrEnd], nonce[:], b[hdrEnd:], b[:hdrEnd])
	b = b[:hdrEnd+len(ct)]
	c.mask(b[:hdrEnd], dest)
	c.buf = b
	return b, nil
}

// mask masks the header after the masking IV at the start of b in place,
// for dest.
func (c *Codec) mask(b []byte, dest enode.ID) {
	if c.maskBlock == nil || c.maskID != dest {
		c.maskID, c.maskBlock = dest, maskingBlock(dest)
	}
	xorMask(b, c.maskBlock)
}

func xorMask(b []byte, block cipher.Block) {
	s := maskingStream(block, b[:maskingIVSize])
	s.XORKeyStream(b[maskingIVSize:], b[maskingIVSize:])
}

// encodeMessage writes an ordinary message packet (discv5-wire.md
// "Ordinary Message Packet", flag 0): authdata = src-id.
func (c *Codec) encodeMessage(dest enode.ID, s *Session, p Packet) ([]byte, Nonce, error) {
	nonce := c.newNonce(s.nextCounter())
	b := c.startPacket(flagMessage, &nonce, messageAuthSize)
	b = append(b, c.id[:]...)
	out, err := c.finishPacket(b, dest, s.writeAEAD(), &nonce, p)
	return out, nonce, err
}

// encodeRandom writes the packet that starts a handshake: an ordinary
// message packet whose message is random (discv5-theory.md "Handshake
// Steps", step 1).
func (c *Codec) encodeRandom(dest enode.ID, p Packet) ([]byte, Nonce, error) {
	// Fail now on a message that could never be sent, rather than after the
	// handshake.
	pt, err := AppendMessage(c.dec[:0], p)
	if err != nil {
		return nil, Nonce{}, err
	}
	if len(pt) > MaxMessageSize {
		return nil, Nonce{}, fmt.Errorf("%w: %s of %d bytes exceeds MaxMessageSize", ErrPacketTooBig, p.Name(), len(pt))
	}
	var nonce Nonce
	c.random(randNonce, nonce[:])
	b := c.startPacket(flagMessage, &nonce, messageAuthSize)
	b = append(b, c.id[:]...)
	hdrEnd := len(b)
	b = b[:hdrEnd+randomMessageSize]
	c.random(randFiller, b[hdrEnd:])
	c.mask(b[:hdrEnd], dest)
	c.buf = b
	return b, nonce, nil
}

// encodeWhoareyou writes a WHOAREYOU packet (discv5-wire.md "WHOAREYOU
// Packet", flag 1): authdata = id-nonce || enr-seq, no message.
func (c *Codec) encodeWhoareyou(dest enode.ID, addr string, w *Whoareyou) ([]byte, Nonce, error) {
	if len(w.ChallengeData) > 0 {
		if len(w.ChallengeData) != MinPacketSize {
			return nil, Nonce{}, fmt.Errorf("%w: ChallengeData has %d bytes", ErrInvalidChallenge, len(w.ChallengeData))
		}
		// A re-sent challenge must be the same packet, IV included: the
		// handshake answering it signs this exact data.
		b := append(c.buf[:0], w.ChallengeData...)
		c.mask(b, dest)
		c.buf = b
		return b, w.Nonce, nil
	}
	if w.RecordSeq > 0 && w.Node == nil {
		return nil, Nonce{}, fmt.Errorf("%w: RecordSeq %d without Node", ErrInvalidChallenge, w.RecordSeq)
	}
	c.random(randIDNonce, w.IDNonce[:])
	b := c.startPacket(flagWhoareyou, &w.Nonce, whoareyouAuthSize)
	b = append(b, w.IDNonce[:]...)
	b = binary.BigEndian.AppendUint64(b, w.RecordSeq)
	w.ChallengeData = slices.Clone(b)
	c.mask(b, dest)
	c.buf = b
	c.store.StoreChallenge(dest, addr, w)
	return b, w.Nonce, nil
}

// encodeHandshake writes a handshake message packet (discv5-wire.md
// "Handshake Message Packet", flag 2) answering challenge:
//
//	authdata      = authdata-head || id-signature || eph-pubkey || record
//	authdata-head = src-id || sig-size || eph-key-size
//
// and derives the session keys it encrypts p with (discv5-theory.md
// "Handshake Steps", step 3).
func (c *Codec) encodeHandshake(dest enode.ID, addr string, p Packet, challenge *Whoareyou) ([]byte, Nonce, error) {
	switch {
	case len(challenge.ChallengeData) != MinPacketSize:
		return nil, Nonce{}, fmt.Errorf("%w: ChallengeData has %d bytes", ErrInvalidChallenge, len(challenge.ChallengeData))
	case challenge.Node == nil || challenge.Node.Pubkey() == nil:
		return nil, Nonce{}, fmt.Errorf("%w: no secp256k1 key for the recipient (Node not set)", ErrInvalidChallenge)
	case challenge.Node.ID() != dest:
		return nil, Nonce{}, fmt.Errorf("%w: Node is %v, not the recipient %v", ErrInvalidChallenge, challenge.Node.ID(), dest)
	}
	var (
		ephPub                     [ephemeralKeySize]byte
		sig                        [idSignatureSize]byte
		initiatorKey, recipientKey [keySize]byte
	)
	if c.null {
		ephPub, sig, initiatorKey, recipientKey = c.nullHandshake(dest, challenge)
	} else {
		eph, err := c.ephemeralKey()
		if err != nil {
			return nil, Nonce{}, fmt.Errorf("v5wire: ephemeral key: %w", err)
		}
		defer eph.Zero()
		copy(ephPub[:], eph.PubKey().SerializeCompressed())
		sig = makeIDSignature(c.key, challenge.ChallengeData, ephPub[:], dest)
		initiatorKey, recipientKey = deriveKeys(eph, challenge.Node.Pubkey(), c.id, dest, challenge.ChallengeData)
	}
	s := newSession(challenge.Node, initiatorKey, recipientKey, true)
	nonce := c.newNonce(s.nextCounter())

	// The record goes after the fixed parts; its size is known only once
	// it is written, so authdata-size is patched in afterwards.
	b := c.startPacket(flagHandshake, &nonce, 0)
	authStart := len(b)
	b = append(b, c.id[:]...)
	b = append(b, idSignatureSize, ephemeralKeySize)
	b = append(b, sig[:]...)
	b = append(b, ephPub[:]...)
	if ln := c.localNode(); challenge.RecordSeq < ln.Seq() {
		var err error
		if b, err = ln.Record().AppendBinary(b); err != nil {
			return nil, Nonce{}, fmt.Errorf("v5wire: local record: %w", err)
		}
	}
	binary.BigEndian.PutUint16(b[authStart-2:], uint16(len(b)-authStart))

	out, err := c.finishPacket(b, dest, s.writeAEAD(), &nonce, p)
	if err != nil {
		return nil, Nonce{}, err
	}
	c.store.StoreSession(dest, addr, s)
	return out, nonce, nil
}

package p2p

import (
	"fmt"

	"github.com/trellis-p2p/trellis/rlp"
)

// Base protocol ("p2p" capability) constants, rlpx.md "p2p Capability".
const (
	// baseProtocolVersion is the version we announce in Hello. Version 5
	// added Snappy compression of message data (EIP-706).
	baseProtocolVersion = 5
	// snappyProtocolVersion is the lowest Hello version with Snappy.
	snappyProtocolVersion = 5
	// baseProtocolLength is the number of message codes reserved for the
	// base protocol; capabilities are numbered from here (rlpx.md "Message ID
	// Based Multiplexing").
	baseProtocolLength = 16
	// maxHelloSize limits the Hello message, the only message read before the
	// remote is known to speak our protocol. go-ethereum uses the same limit.
	maxHelloSize = 2 * 1024
	// helloPubkeyLen is the size of the node key in Hello: the uncompressed
	// secp256k1 public key without its 0x04 prefix.
	helloPubkeyLen = 64
)

// Base protocol message codes, rlpx.md "p2p Capability".
const (
	helloMsg = 0x00
	discMsg  = 0x01
	pingMsg  = 0x02
	pongMsg  = 0x03
)

// hello is the Hello message (rlpx.md "Hello (0x00)"):
//
//	[protocolVersion, clientId, [[capName, capVersion], ...], listenPort, nodeKey, ...]
//
// Elements after nodeKey are ignored for forward compatibility (EIP-8).
type hello struct {
	Version    uint64
	Name       string
	Caps       []Cap
	ListenPort uint64
	ID         []byte // 64-byte public key
}

// encode returns the RLP payload of the Hello message.
func (h *hello) encode() []byte {
	w := rlp.NewEncoderBuffer(nil)
	defer w.Flush()
	l := w.List()
	w.WriteUint64(h.Version)
	w.WriteString(h.Name)
	caps := w.List()
	for _, c := range h.Caps {
		cl := w.List()
		w.WriteString(c.Name)
		w.WriteUint64(uint64(c.Version))
		w.ListEnd(cl)
	}
	w.ListEnd(caps)
	w.WriteUint64(h.ListenPort)
	w.WriteBytes(h.ID)
	w.ListEnd(l)
	return w.ToBytes()
}

// decodeHello parses a Hello payload. Every error wraps ErrInvalidHello; a
// node key of the wrong size also wraps DiscInvalidIdentity, the reason to
// send back.
func decodeHello(data []byte) (*hello, error) {
	if len(data) > maxHelloSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidHello, len(data), maxHelloSize)
	}
	fields, _, err := rlp.SplitList(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidHello, err)
	}
	var h hello
	if h.Version, fields, err = rlp.SplitUint64(fields); err != nil {
		return nil, helloFieldErr("version", err)
	}
	name, fields, err := rlp.SplitString(fields)
	if err != nil {
		return nil, helloFieldErr("name", err)
	}
	h.Name = string(name)
	caps, fields, err := rlp.SplitList(fields)
	if err != nil {
		return nil, helloFieldErr("capabilities", err)
	}
	if h.Caps, err = decodeCaps(caps); err != nil {
		return nil, err
	}
	if h.ListenPort, fields, err = rlp.SplitUint64(fields); err != nil {
		return nil, helloFieldErr("listen port", err)
	}
	id, _, err := rlp.SplitString(fields)
	if err != nil {
		return nil, helloFieldErr("node key", err)
	}
	if len(id) != helloPubkeyLen {
		return nil, fmt.Errorf("%w: %w: node key is %d bytes", ErrInvalidHello, DiscInvalidIdentity, len(id))
	}
	h.ID = id
	// Anything after the node key belongs to a future version (EIP-8), but it
	// must still be well-formed RLP.
	if _, err := rlp.CountValues(fields); err != nil {
		return nil, helloFieldErr("trailing fields", err)
	}
	return &h, nil
}

func decodeCaps(b []byte) ([]Cap, error) {
	var caps []Cap
	for len(b) > 0 {
		entry, rest, err := rlp.SplitList(b)
		if err != nil {
			return nil, helloFieldErr("capability", err)
		}
		b = rest
		name, entry, err := rlp.SplitString(entry)
		if err != nil {
			return nil, helloFieldErr("capability name", err)
		}
		version, _, err := rlp.SplitUint64(entry)
		if err != nil {
			return nil, helloFieldErr("capability version", err)
		}
		if uint64(uint(version)) != version {
			return nil, helloFieldErr("capability version", rlp.ErrUintOverflow)
		}
		caps = append(caps, Cap{Name: string(name), Version: uint(version)})
	}
	return caps, nil
}

func helloFieldErr(field string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrInvalidHello, field, err)
}

// encodeDisconnect returns the payload of a Disconnect message: the reason in
// a one-element list, as rlpx.md specifies and go-ethereum sends.
func encodeDisconnect(r DiscReason) []byte {
	enc := rlp.AppendUint64(make([]byte, 1, 3), uint64(r))
	enc[0] = 0xc0 + byte(len(enc)-1)
	return enc
}

// decodeDisconnect parses a Disconnect payload. Both the list form [reason]
// and a bare reason are accepted (some clients sent the latter), as is a
// reason written 0x00 rather than the canonical 0x80. On error the reason is
// DiscInvalid and the error wraps ErrInvalidDisconnect.
func decodeDisconnect(data []byte) (DiscReason, error) {
	k, content, _, err := rlp.Split(data)
	if err != nil {
		return DiscInvalid, fmt.Errorf("%w: %w", ErrInvalidDisconnect, err)
	}
	if k == rlp.List {
		if len(content) == 0 {
			return DiscInvalid, fmt.Errorf("%w: empty list", ErrInvalidDisconnect)
		}
		if k, content, _, err = rlp.Split(content); err != nil {
			return DiscInvalid, fmt.Errorf("%w: %w", ErrInvalidDisconnect, err)
		}
		if k == rlp.List {
			return DiscInvalid, fmt.Errorf("%w: reason is a list", ErrInvalidDisconnect)
		}
	}
	switch {
	case len(content) == 0:
		return DiscRequested, nil
	case len(content) == 1:
		return DiscReason(content[0]), nil
	default:
		return DiscInvalid, fmt.Errorf("%w: reason is %d bytes", ErrInvalidDisconnect, len(content))
	}
}

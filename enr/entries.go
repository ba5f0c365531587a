package enr

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"

	"github.com/trellis-p2p/trellis/rlp"
)

// Entry is a typed key/value pair of a record. Types other than the ones in
// this package are encoded and decoded with package rlp (so they may
// implement rlp.Encoder and rlp.Decoder); Load needs a pointer to them.
type Entry interface {
	ENRKey() string
}

// The entries of this package encode and decode through these methods
// rather than through rlp's reflection, which keeps Set and Load cheap for
// the keys every node record has.
type (
	entryAppender interface {
		appendValue(b []byte) ([]byte, error)
	}
	entryDecoder interface {
		decodeValue(v []byte) error
	}
)

func encodeEntry(e Entry) ([]byte, error) {
	if a, ok := e.(entryAppender); ok {
		return a.appendValue(nil)
	}
	return rlp.EncodeToBytes(e)
}

func decodeEntry(v []byte, e Entry) error {
	if d, ok := e.(entryDecoder); ok {
		return d.decodeValue(v)
	}
	return rlp.DecodeBytes(v, e)
}

// Pre-defined keys (enr.md "Record Structure"). The IPv6-specific ports
// apply to the ip6 address; without them tcp and udp apply to both.
type (
	// ID is the "id" entry: the name of the identity scheme.
	ID string
	// IPv4 is the "ip" entry. It must hold an IPv4 address (not 4in6).
	IPv4 netip.Addr
	// IPv6 is the "ip6" entry. It must hold an IPv6 address; a zone is
	// dropped. A 4in6 address is stored as such (16 bytes).
	IPv6 netip.Addr
	// TCP is the "tcp" entry: the TCP port (RLPx).
	TCP uint16
	// UDP is the "udp" entry: the UDP port (discovery).
	UDP uint16
	// TCP6 is the "tcp6" entry: the TCP port for ip6, when it differs.
	TCP6 uint16
	// UDP6 is the "udp6" entry: the UDP port for ip6, when it differs.
	UDP6 uint16
	// QUIC is the "quic" entry: a QUIC port (used by consensus clients).
	QUIC uint16
	// QUIC6 is the "quic6" entry: the QUIC port for ip6.
	QUIC6 uint16
)

// IDv4 is the name of the "v4" identity scheme.
const IDv4 = ID("v4")

func (ID) ENRKey() string    { return "id" }
func (IPv4) ENRKey() string  { return "ip" }
func (IPv6) ENRKey() string  { return "ip6" }
func (TCP) ENRKey() string   { return "tcp" }
func (UDP) ENRKey() string   { return "udp" }
func (TCP6) ENRKey() string  { return "tcp6" }
func (UDP6) ENRKey() string  { return "udp6" }
func (QUIC) ENRKey() string  { return "quic" }
func (QUIC6) ENRKey() string { return "quic6" }

func (v ID) appendValue(b []byte) ([]byte, error) {
	return appendString(b, []byte(v)), nil
}

func (v *ID) decodeValue(b []byte) error {
	s, err := decodeString(b)
	if err != nil {
		return err
	}
	*v = ID(s)
	return nil
}

// IPEntry returns the entry ("ip" or "ip6") for addr's family; a 4in6
// address counts as IPv4. It returns nil for an invalid address.
func IPEntry(addr netip.Addr) Entry {
	switch {
	case addr.Is4() || addr.Is4In6():
		return IPv4(addr.Unmap())
	case addr.Is6():
		return IPv6(addr.WithZone(""))
	}
	return nil
}

func (v IPv4) appendValue(b []byte) ([]byte, error) {
	a := netip.Addr(v)
	if !a.Is4() {
		return nil, fmt.Errorf("%w: %v is not an IPv4 address", ErrInvalidValue, a)
	}
	ip := a.As4()
	return appendString(b, ip[:]), nil
}

func (v *IPv4) decodeValue(b []byte) error {
	s, err := decodeString(b)
	if err != nil {
		return err
	}
	if len(s) != 4 {
		return fmt.Errorf("%w: IPv4 address of %d bytes", ErrInvalidValue, len(s))
	}
	*v = IPv4(netip.AddrFrom4([4]byte(s)))
	return nil
}

func (v IPv6) appendValue(b []byte) ([]byte, error) {
	a := netip.Addr(v)
	if !a.Is6() {
		return nil, fmt.Errorf("%w: %v is not an IPv6 address", ErrInvalidValue, a)
	}
	ip := a.As16()
	return appendString(b, ip[:]), nil
}

func (v *IPv6) decodeValue(b []byte) error {
	s, err := decodeString(b)
	if err != nil {
		return err
	}
	if len(s) != 16 {
		return fmt.Errorf("%w: IPv6 address of %d bytes", ErrInvalidValue, len(s))
	}
	*v = IPv6(netip.AddrFrom16([16]byte(s)))
	return nil
}

func (v TCP) appendValue(b []byte) ([]byte, error)   { return rlp.AppendUint64(b, uint64(v)), nil }
func (v UDP) appendValue(b []byte) ([]byte, error)   { return rlp.AppendUint64(b, uint64(v)), nil }
func (v TCP6) appendValue(b []byte) ([]byte, error)  { return rlp.AppendUint64(b, uint64(v)), nil }
func (v UDP6) appendValue(b []byte) ([]byte, error)  { return rlp.AppendUint64(b, uint64(v)), nil }
func (v QUIC) appendValue(b []byte) ([]byte, error)  { return rlp.AppendUint64(b, uint64(v)), nil }
func (v QUIC6) appendValue(b []byte) ([]byte, error) { return rlp.AppendUint64(b, uint64(v)), nil }

func (v *TCP) decodeValue(b []byte) error   { return decodePort((*uint16)(v), b) }
func (v *UDP) decodeValue(b []byte) error   { return decodePort((*uint16)(v), b) }
func (v *TCP6) decodeValue(b []byte) error  { return decodePort((*uint16)(v), b) }
func (v *UDP6) decodeValue(b []byte) error  { return decodePort((*uint16)(v), b) }
func (v *QUIC) decodeValue(b []byte) error  { return decodePort((*uint16)(v), b) }
func (v *QUIC6) decodeValue(b []byte) error { return decodePort((*uint16)(v), b) }

// decodePort reads a canonical RLP integer that fits 16 bits.
func decodePort(p *uint16, b []byte) error {
	x, rest, err := rlp.SplitUint64(b)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: trailing bytes after integer", ErrInvalidValue)
	}
	if x > 0xFFFF {
		return fmt.Errorf("%w: port %d", ErrInvalidValue, x)
	}
	*p = uint16(x)
	return nil
}

// decodeString returns the content of b, which must be one RLP string.
func decodeString(b []byte) ([]byte, error) {
	s, rest, err := rlp.SplitString(b)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: trailing bytes after string", ErrInvalidValue)
	}
	return s, nil
}

// Generic is an entry with any key whose value is encoded by package rlp.
// To Load, Value must be a pointer. Example:
//
//	var fork [2]uint64
//	err := r.Load(enr.Generic{Key: "eth2", Value: &fork})
type Generic struct {
	Key   string
	Value any
}

func (g Generic) ENRKey() string { return g.Key }

func (g Generic) appendValue(b []byte) ([]byte, error) {
	v, err := rlp.EncodeToBytes(g.Value)
	if err != nil {
		return nil, err
	}
	return append(b, v...), nil
}

func (g Generic) decodeValue(b []byte) error {
	return rlp.DecodeBytes(b, g.Value)
}

// RawEntry is an entry with any key whose value is given as encoded RLP,
// such as the "eth" fork ID entry kept opaque. Set requires Value to be
// exactly one RLP item; Load stores a copy of the value.
type RawEntry struct {
	Key   string
	Value rlp.RawValue
}

func (e RawEntry) ENRKey() string { return e.Key }

var errNotOneItem = errors.New("value is not exactly one RLP item")

func (e RawEntry) appendValue(b []byte) ([]byte, error) {
	_, _, rest, err := rlp.Split(e.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotOneItem, err)
	}
	if len(rest) > 0 {
		return nil, errNotOneItem
	}
	return append(b, e.Value...), nil
}

func (e *RawEntry) decodeValue(b []byte) error {
	e.Value = bytes.Clone(b)
	return nil
}

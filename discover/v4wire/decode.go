package v4wire

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/rlp"
)

// Decode reads a packet: it checks the size and the hash, recovers the
// sender's public key from the signature and decodes packet-data. hash is
// the packet's hash, which a reply to it must carry as its token.
//
// The checks run cheapest first, so junk costs a hash and no signature
// recovery. An unknown packet type fails with ErrUnknownType before recovery.
// Errors: ErrPacketTooSmall, ErrPacketTooBig, ErrBadHash, ErrUnknownType,
// ErrBadSignature, ErrMalformed. When only packet-data is malformed, fromKey
// and hash are returned with the error, for logging.
//
// The packet does not alias buf, which may be reused.
func Decode(buf []byte) (p Packet, fromKey Pubkey, hash [HashSize]byte, err error) {
	return decode(buf, recoverV4)
}

// DecodeNull decodes packets made by EncodeNull: the sender's key is read
// from the signature field instead of being recovered. See EncodeNull.
func DecodeNull(buf []byte) (p Packet, fromKey Pubkey, hash [HashSize]byte, err error) {
	return decode(buf, recoverNull)
}

func recoverV4(digest, sig []byte) (Pubkey, error) {
	var k Pubkey
	pub, err := crypto.Ecrecover(digest, sig)
	if err != nil {
		return k, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	copy(k[:], pub[1:])
	return k, nil
}

func recoverNull(_, sig []byte) (Pubkey, error) {
	var k Pubkey
	if sig[len(k)] != 0 {
		return k, fmt.Errorf("%w: not a null signature", ErrBadSignature)
	}
	copy(k[:], sig)
	return k, nil
}

func decode(buf []byte, recoverKey func(digest, sig []byte) (Pubkey, error)) (Packet, Pubkey, [HashSize]byte, error) {
	var (
		key  Pubkey
		hash [HashSize]byte
	)
	switch {
	case len(buf) < HeadSize+1:
		return nil, key, hash, fmt.Errorf("%w: %d bytes", ErrPacketTooSmall, len(buf))
	case len(buf) > MaxPacketSize:
		return nil, key, hash, fmt.Errorf("%w: %d bytes", ErrPacketTooBig, len(buf))
	}
	hash = crypto.Keccak256Hash(buf[HashSize:])
	if !bytes.Equal(hash[:], buf[:HashSize]) {
		return nil, key, [HashSize]byte{}, ErrBadHash
	}
	ptype, data := buf[HeadSize], buf[HeadSize+1:]
	if ptype < PingPacket || ptype > ENRResponsePacket {
		return nil, key, hash, fmt.Errorf("%w: %d", ErrUnknownType, ptype)
	}
	digest := crypto.Keccak256Hash(buf[HeadSize:])
	key, err := recoverKey(digest[:], buf[HashSize:HeadSize])
	if err != nil {
		return nil, key, hash, err
	}
	p, err := decodeData(ptype, data)
	return p, key, hash, err
}

// decodeData decodes packet-data of a known type. Bytes after the list are
// ignored (EIP-8: "additional data after the RLP list").
func decodeData(ptype byte, data []byte) (Packet, error) {
	name := TypeName(ptype)
	content, _, err := rlp.SplitList(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, name, err)
	}
	r := &reader{pkt: name, b: content}
	var p Packet
	switch ptype {
	case PingPacket:
		p = &Ping{
			Version:    r.uint("version", 64),
			From:       r.endpoint("from"),
			To:         r.endpoint("to"),
			Expiration: r.uint("expiration", 64),
			ENRSeq:     r.optionalSeq(),
			Rest:       r.rest(),
		}
	case PongPacket:
		p = &Pong{
			To:         r.endpoint("to"),
			ReplyTok:   bytes.Clone(r.bytes("ping-hash")),
			Expiration: r.uint("expiration", 64),
			ENRSeq:     r.optionalSeq(),
			Rest:       r.rest(),
		}
	case FindNodePacket:
		f := new(FindNode)
		r.fixed("target", f.Target[:])
		f.Expiration = r.uint("expiration", 64)
		f.Rest = r.rest()
		p = f
	case NeighborsPacket:
		p = &Neighbors{
			Nodes:      r.nodes(),
			Expiration: r.uint("expiration", 64),
			Rest:       r.rest(),
		}
	case ENRRequestPacket:
		p = &ENRRequest{
			Expiration: r.uint("expiration", 64),
			Rest:       r.rest(),
		}
	case ENRResponsePacket:
		resp := &ENRResponse{ReplyTok: bytes.Clone(r.bytes("request-hash"))}
		r.record(resp)
		resp.Rest = r.rest()
		p = resp
	}
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}

// reader walks the elements of an RLP list. The first error sticks; later
// reads return zero values, so a decoder reads all fields and checks once.
type reader struct {
	pkt string // packet name, for errors
	b   []byte // unread list content
	err error
}

func (r *reader) fail(field string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s %s: %w", ErrMalformed, r.pkt, field, err)
	}
}

// next splits off the next element, failing if the list has ended.
func (r *reader) next(field string) (k rlp.Kind, content []byte, ok bool) {
	if r.err != nil {
		return 0, nil, false
	}
	if len(r.b) == 0 {
		r.fail(field, rlp.ErrTooFewElements)
		return 0, nil, false
	}
	k, content, rest, err := rlp.Split(r.b)
	if err != nil {
		r.fail(field, err)
		return 0, nil, false
	}
	r.b = rest
	return k, content, true
}

func (r *reader) uint(field string, bits int) uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail(field, rlp.ErrTooFewElements)
		return 0
	}
	x, rest, err := rlp.SplitUint64(r.b)
	if err != nil {
		r.fail(field, err)
		return 0
	}
	if bits < 64 && x>>bits != 0 {
		r.fail(field, rlp.ErrUintOverflow)
		return 0
	}
	r.b = rest
	return x
}

// bytes returns the content of a string element, aliasing the input.
func (r *reader) bytes(field string) []byte {
	k, content, ok := r.next(field)
	if ok && k == rlp.List {
		r.fail(field, rlp.ErrExpectedString)
		return nil
	}
	return content
}

// fixed reads a string of exactly len(dst) bytes into dst.
func (r *reader) fixed(field string, dst []byte) {
	b := r.bytes(field)
	if r.err != nil {
		return
	}
	if len(b) != len(dst) {
		r.fail(field, fmt.Errorf("%w: %d bytes, want %d", rlp.ErrWrongSize, len(b), len(dst)))
		return
	}
	copy(dst, b)
}

// list returns a reader over the content of a list element.
func (r *reader) list(field string) *reader {
	k, content, ok := r.next(field)
	if ok && k != rlp.List {
		r.fail(field, rlp.ErrExpectedList)
	}
	return &reader{pkt: r.pkt, b: content, err: r.err}
}

// ip reads an IP address. An IPv4-mapped IPv6 address is read as the IPv4
// address it holds, which is what it means on the wire (and how Encode
// writes it back). Lengths other than 4 and 16 give the zero Addr rather
// than an error: the address is unusable, but the packet is not malformed,
// and one bad entry must not hide the others of a Neighbors packet.
func (r *reader) ip(field string) netip.Addr {
	b := r.bytes(field)
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b))
	case 16:
		return netip.AddrFrom16([16]byte(b)).Unmap()
	}
	return netip.Addr{}
}

// endpoint reads [ip, udp-port, tcp-port, ...]; extra elements are ignored
// (EIP-8).
func (r *reader) endpoint(field string) Endpoint {
	l := r.list(field)
	e := Endpoint{
		IP:  l.ip(field + ".ip"),
		UDP: uint16(l.uint(field+".udp-port", 16)),
		TCP: uint16(l.uint(field+".tcp-port", 16)),
	}
	if l.err != nil && r.err == nil {
		r.err = l.err
	}
	return e
}

// nodes reads the node list of Neighbors. Its length needs no limit of its
// own: the smallest entry takes 70 bytes, so a packet holds at most 16.
func (r *reader) nodes() []Node {
	l := r.list("nodes")
	var nodes []Node
	for l.err == nil && len(l.b) > 0 {
		e := l.list("nodes[]")
		n := Node{
			IP:  e.ip("node.ip"),
			UDP: uint16(e.uint("node.udp-port", 16)),
			TCP: uint16(e.uint("node.tcp-port", 16)),
		}
		e.fixed("node.id", n.ID[:])
		if e.err != nil {
			l.err = e.err
			break
		}
		nodes = append(nodes, n)
	}
	if l.err != nil && r.err == nil {
		r.err = l.err
	}
	return nodes
}

// optionalSeq reads the EIP-868 enr-seq if the next element is an integer.
// Anything else (a list, in the EIP-8 vectors, which predate EIP-868) is
// left for rest.
func (r *reader) optionalSeq() uint64 {
	if r.err != nil || len(r.b) == 0 {
		return 0
	}
	seq, rest, err := rlp.SplitUint64(r.b)
	if err != nil {
		return 0
	}
	r.b = rest
	return seq
}

// record reads the ENR of an ENRResponse. The record package enforces the
// record size limit and structure; the signature is the caller's to check.
func (r *reader) record(resp *ENRResponse) {
	if r.err != nil {
		return
	}
	if len(r.b) == 0 {
		r.fail("record", rlp.ErrTooFewElements)
		return
	}
	_, _, rest, err := rlp.Split(r.b)
	if err != nil {
		r.fail("record", err)
		return
	}
	raw := r.b[:len(r.b)-len(rest)]
	r.b = rest
	if err := resp.Record.UnmarshalBinary(raw); err != nil {
		r.fail("record", err)
	}
}

// rest returns the remaining elements (EIP-8), sharing one copy of their
// bytes.
func (r *reader) rest() []rlp.RawValue {
	if r.err != nil || len(r.b) == 0 {
		return nil
	}
	b := bytes.Clone(r.b)
	var vals []rlp.RawValue
	for len(b) > 0 {
		_, _, rest, err := rlp.Split(b)
		if err != nil {
			r.fail("extra elements", err)
			return nil
		}
		vals = append(vals, rlp.RawValue(b[:len(b)-len(rest):len(b)-len(rest)]))
		b = rest
	}
	r.b = nil
	return vals
}

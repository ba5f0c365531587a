package v5wire

import (
	"fmt"
	"net/netip"

	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/rlp"
)

// MaxRequestIDSize is the longest request ID: "request-id is an RLP byte
// array of length <= 8 bytes" (discv5-wire.md "Protocol Messages").
const MaxRequestIDSize = 8

// MaxFindnodeDistances is the number of distances a FINDNODE request sends
// at most: lookups ask for the target's distance and its two neighbours, as
// go-ethereum does (lookupRequestLimit). It is a protocol rule that the
// codec does not enforce; a FINDNODE handler should serve no more than this
// many distances of a request.
const MaxFindnodeDistances = 3

// AppendMessage appends the plaintext of message p, message-type ||
// message-data (discv5-wire.md "Protocol Messages"), to dst. It fails with
// ErrReqIDTooLarge for a request ID over MaxRequestIDSize bytes and with
// ErrUnencodable for packets that are not messages (Whoareyou, Unknown),
// an invalid Pong.ToIP or an unsigned record in Nodes.
func AppendMessage(dst []byte, p Packet) ([]byte, error) {
	if p == nil {
		return dst, fmt.Errorf("%w: nil packet", ErrUnencodable)
	}
	if id := p.RequestID(); len(id) > MaxRequestIDSize {
		return dst, fmt.Errorf("%w: %s request ID has %d bytes", ErrReqIDTooLarge, p.Name(), len(id))
	}
	switch p := p.(type) {
	case *Ping:
		dst = append(dst, PingMsg)
		dst = appendListHeader(dst, strSize(p.ReqID)+rlp.IntSize(p.ENRSeq))
		dst = appendString(dst, p.ReqID)
		dst = rlp.AppendUint64(dst, p.ENRSeq)
	case *Pong:
		var buf [16]byte
		ip := p.ToIP.Unmap()
		var ipb []byte
		switch {
		case ip.Is4():
			a := ip.As4()
			ipb = append(buf[:0], a[:]...)
		case ip.Is6():
			a := ip.As16()
			ipb = append(buf[:0], a[:]...)
		default:
			return dst, fmt.Errorf("%w: PONG has no recipient IP", ErrUnencodable)
		}
		size := strSize(p.ReqID) + rlp.IntSize(p.ENRSeq) + strSize(ipb) + rlp.IntSize(uint64(p.ToPort))
		dst = append(dst, PongMsg)
		dst = appendListHeader(dst, size)
		dst = appendString(dst, p.ReqID)
		dst = rlp.AppendUint64(dst, p.ENRSeq)
		dst = appendString(dst, ipb)
		dst = rlp.AppendUint64(dst, uint64(p.ToPort))
	case *Findnode:
		dsize := 0
		for _, d := range p.Distances {
			dsize += rlp.IntSize(uint64(d))
		}
		dst = append(dst, FindnodeMsg)
		dst = appendListHeader(dst, strSize(p.ReqID)+listSize(dsize))
		dst = appendString(dst, p.ReqID)
		dst = appendListHeader(dst, dsize)
		for _, d := range p.Distances {
			dst = rlp.AppendUint64(dst, uint64(d))
		}
	case *Nodes:
		rsize, err := recordsSize(p.Records)
		if err != nil {
			return dst, err
		}
		dst = append(dst, NodesMsg)
		dst = appendListHeader(dst, strSize(p.ReqID)+rlp.IntSize(uint64(p.Total))+listSize(rsize))
		dst = appendString(dst, p.ReqID)
		dst = rlp.AppendUint64(dst, uint64(p.Total))
		dst = appendListHeader(dst, rsize)
		for _, r := range p.Records {
			if dst, err = r.AppendBinary(dst); err != nil {
				return dst, fmt.Errorf("%w: NODES record: %w", ErrUnencodable, err)
			}
		}
	case *TalkRequest:
		size := strSize(p.ReqID) + strSizeString(p.Protocol) + strSize(p.Message)
		dst = append(dst, TalkRequestMsg)
		dst = appendListHeader(dst, size)
		dst = appendString(dst, p.ReqID)
		dst = appendString(dst, []byte(p.Protocol))
		dst = appendString(dst, p.Message)
	case *TalkResponse:
		dst = append(dst, TalkResponseMsg)
		dst = appendListHeader(dst, strSize(p.ReqID)+strSize(p.Message))
		dst = appendString(dst, p.ReqID)
		dst = appendString(dst, p.Message)
	default:
		return dst, fmt.Errorf("%w: %s is not a message", ErrUnencodable, p.Name())
	}
	return dst, nil
}

// recordsSize is the total encoded size of records, which must be signed.
func recordsSize(records []*enr.Record) (int, error) {
	n := 0
	for i, r := range records {
		if r == nil || !r.Signed() {
			return 0, fmt.Errorf("%w: NODES record %d is not signed", ErrUnencodable, i)
		}
		n += r.Size()
	}
	return n, nil
}

// DecodeMessage decodes a message plaintext, message-type || message-data,
// as produced by AppendMessage. The returned message does not alias pt.
//
// Decoding is strict: message-data must be exactly the list its type
// defines, with canonical RLP and no extra elements or trailing bytes, as
// go-ethereum requires too. Unlike go-ethereum, a PONG recipient-ip must be
// 4 or 16 bytes long, as the spec says. Errors: ErrEmptyMessage, ErrUnknownMessage,
// ErrReqIDTooLarge, or ErrInvalidMessage wrapping the rlp or enr error.
func DecodeMessage(pt []byte) (Packet, error) {
	if len(pt) == 0 {
		return nil, ErrEmptyMessage
	}
	typ := pt[0]
	var p Packet
	switch typ {
	case PingMsg:
		p = new(Ping)
	case PongMsg:
		p = new(Pong)
	case FindnodeMsg:
		p = new(Findnode)
	case NodesMsg:
		p = new(Nodes)
	case TalkRequestMsg:
		p = new(TalkRequest)
	case TalkResponseMsg:
		p = new(TalkResponse)
	default:
		return nil, fmt.Errorf("%w: %#02x", ErrUnknownMessage, typ)
	}
	content, rest, err := rlp.SplitList(pt[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidMessage, p.Name(), err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: %s: %d bytes after message-data", ErrInvalidMessage, p.Name(), len(rest))
	}
	d := fieldDecoder{name: p.Name(), b: content}
	reqID := d.reqID()
	switch p := p.(type) {
	case *Ping:
		p.ReqID, p.ENRSeq = reqID, d.uint64("enr-seq")
	case *Pong:
		p.ReqID, p.ENRSeq = reqID, d.uint64("enr-seq")
		p.ToIP = d.ip("recipient-ip")
		p.ToPort = d.uint16("recipient-port")
	case *Findnode:
		p.ReqID = reqID
		p.Distances = d.distances()
	case *Nodes:
		p.ReqID = reqID
		p.Total = d.uint8("total")
		p.Records = d.records()
	case *TalkRequest:
		p.ReqID = reqID
		p.Protocol = string(d.bytes("protocol"))
		p.Message = cloneBytes(d.bytes("request"))
	case *TalkResponse:
		p.ReqID = reqID
		p.Message = cloneBytes(d.bytes("response"))
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return p, nil
}

// fieldDecoder reads the elements of a message-data list in order. After the
// first error every read returns a zero value; finish reports the error.
type fieldDecoder struct {
	name string
	b    []byte
	err  error
}

func (d *fieldDecoder) fail(field string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s %s: %w", ErrInvalidMessage, d.name, field, err)
	}
}

func (d *fieldDecoder) failf(field, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s %s: %s", ErrInvalidMessage, d.name, field, fmt.Sprintf(format, args...))
	}
}

// bytes returns the content of a string element, aliasing the input.
func (d *fieldDecoder) bytes(field string) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) == 0 {
		d.failf(field, "missing")
		return nil
	}
	b, rest, err := rlp.SplitString(d.b)
	if err != nil {
		d.fail(field, err)
		return nil
	}
	d.b = rest
	return b
}

func (d *fieldDecoder) reqID() []byte {
	id := d.bytes("request-id")
	if d.err == nil && len(id) > MaxRequestIDSize {
		d.err = fmt.Errorf("%w: %s request ID has %d bytes", ErrReqIDTooLarge, d.name, len(id))
		return nil
	}
	return cloneBytes(id)
}

func (d *fieldDecoder) uint64(field string) uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.failf(field, "missing")
		return 0
	}
	x, rest, err := rlp.SplitUint64(d.b)
	if err != nil {
		d.fail(field, err)
		return 0
	}
	d.b = rest
	return x
}

func (d *fieldDecoder) uint16(field string) uint16 {
	x := d.uint64(field)
	if x > 0xffff {
		d.failf(field, "%d exceeds 16 bits", x)
		return 0
	}
	return uint16(x)
}

func (d *fieldDecoder) uint8(field string) uint8 {
	x := d.uint64(field)
	if x > 0xff {
		d.failf(field, "%d exceeds 8 bits", x)
		return 0
	}
	return uint8(x)
}

// ip reads recipient-ip: "16 or 4 byte IP address".
func (d *fieldDecoder) ip(field string) netip.Addr {
	b := d.bytes(field)
	if d.err != nil {
		return netip.Addr{}
	}
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b))
	case 16:
		return netip.AddrFrom16([16]byte(b))
	}
	d.failf(field, "%d bytes, want 4 or 16", len(b))
	return netip.Addr{}
}

// list enters a list element and returns its content.
func (d *fieldDecoder) list(field string) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) == 0 {
		d.failf(field, "missing")
		return nil
	}
	content, rest, err := rlp.SplitList(d.b)
	if err != nil {
		d.fail(field, err)
		return nil
	}
	d.b = rest
	return content
}

func (d *fieldDecoder) distances() []uint {
	content := d.list("distances")
	if d.err != nil {
		return nil
	}
	n, err := rlp.CountValues(content)
	if err != nil {
		d.fail("distances", err)
		return nil
	}
	if n == 0 {
		return nil
	}
	dists := make([]uint, 0, n)
	for len(content) > 0 {
		x, rest, err := rlp.SplitUint64(content)
		if err != nil {
			d.fail("distances", err)
			return nil
		}
		if x > uint64(^uint(0)) {
			d.failf("distances", "%d overflows uint", x)
			return nil
		}
		dists = append(dists, uint(x))
		content = rest
	}
	return dists
}

func (d *fieldDecoder) records() []*enr.Record {
	content := d.list("records")
	if d.err != nil {
		return nil
	}
	n, err := rlp.CountValues(content)
	if err != nil {
		d.fail("records", err)
		return nil
	}
	if n == 0 {
		return nil
	}
	recs := make([]*enr.Record, 0, n)
	for i := 0; len(content) > 0; i++ {
		_, _, rest, err := rlp.Split(content)
		if err != nil {
			d.fail(fmt.Sprintf("record %d", i), err)
			return nil
		}
		r := new(enr.Record)
		if err := r.UnmarshalBinary(content[:len(content)-len(rest)]); err != nil {
			d.fail(fmt.Sprintf("record %d", i), err)
			return nil
		}
		recs = append(recs, r)
		content = rest
	}
	return recs
}

// finish reports the first error, or extra elements after the last field.
func (d *fieldDecoder) finish() error {
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%w: %s: %w", ErrInvalidMessage, d.name, rlp.ErrTooManyElements)
	}
	return d.err
}

// cloneBytes copies b; empty input gives nil, so decoded messages compare
// equal to ones built without the field.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// RLP size helpers for AppendMessage, which writes headers ahead of content
// whose size it computes first rather than encoding into a scratch buffer.

// strSize is the encoded size of byte string b.
func strSize(b []byte) int {
	if len(b) == 1 && b[0] < 0x80 {
		return 1
	}
	return listSize(len(b))
}

func strSizeString(s string) int {
	if len(s) == 1 && s[0] < 0x80 {
		return 1
	}
	return listSize(len(s))
}

// listSize is the encoded size of a list (or non-single-byte string) with
// content of the given size: header plus content.
func listSize(content int) int {
	return int(rlp.ListSize(uint64(content)))
}

func appendString(dst, b []byte) []byte {
	if len(b) == 1 && b[0] < 0x80 {
		return append(dst, b[0])
	}
	dst = appendHeader(dst, 0x80, len(b))
	return append(dst, b...)
}

func appendListHeader(dst []byte, size int) []byte {
	return appendHeader(dst, 0xc0, size)
}

// appendHeader writes an RLP string (offset 0x80) or list (0xc0) header.
func appendHeader(dst []byte, offset byte, size int) []byte {
	if size <= 55 {
		return append(dst, offset+byte(size))
	}
	n := 0
	for s := size; s > 0; s >>= 8 {
		n++
	}
	dst = append(dst, offset+55+byte(n))
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(size>>(8*i)))
	}
	return dst
}

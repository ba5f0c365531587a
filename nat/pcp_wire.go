package nat

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// PCP wire format, RFC 6887 (https://www.rfc-editor.org/rfc/rfc6887).
const (
	pcpPort    = 5351 // section 19.1: the server port, shared with NAT-PMP
	pcpVersion = 2

	pcpOpAnnounce = 0 // section 14.1
	pcpOpMap      = 1 // section 11
	pcpRespBit    = 0x80

	pcpHeaderSize  = 24 // section 7.1 (request) and 7.2 (response)
	pcpMapSize     = 36 // section 11.1: the MAP opcode's data
	pcpNonceSize   = 12
	pcpOptHeader   = 4    // section 7.3: code, reserved, length
	pcpMaxMessage  = 1100 // section 7: the largest PCP message
	pcpMapRespSize = pcpHeaderSize + pcpMapSize

	// IANA protocol numbers for the MAP Protocol field.
	ipProtoTCP = 6
	ipProtoUDP = 17
)

// pcpNonce is a mapping nonce (section 11.1): chosen by the client, it
// must be repeated to renew or delete the mapping, and the server echoes it.
type pcpNonce [pcpNonceSize]byte

// pcpMapRequest is a MAP request (sections 7.1 and 11.1).
type pcpMapRequest struct {
	Lifetime     uint32
	ClientIP     netip.Addr // the source address of the request
	Nonce        pcpNonce
	Protocol     uint8
	InternalPort uint16
	ExternalPort uint16     // suggested; 0: no preference
	ExternalIP   netip.Addr // suggested; invalid: no preference
}

// pcpAddr writes a as the 16-byte field PCP uses for both families: IPv4
// as an IPv4-mapped IPv6 address (section 5). An invalid address is the
// "no preference" address of the family of like: ::ffff:0.0.0.0 for IPv4
// (section 11.1), :: for IPv6.
func pcpAddr(b []byte, a, like netip.Addr) {
	if !a.IsValid() {
		if like.Is6() && !like.Is4In6() {
			a = netip.IPv6Unspecified()
		} else {
			a = netip.IPv4Unspecified()
		}
	}
	if a.Is4() {
		a = netip.AddrFrom16(a.As16())
	}
	copy(b, a.AsSlice())
}

func encodePCPHeader(b []byte, op uint8, lifetime uint32, client netip.Addr) {
	b[0] = pcpVersion
	b[1] = op // R bit 0: request
	// b[2:4] reserved
	binary.BigEndian.PutUint32(b[4:], lifetime)
	pcpAddr(b[8:24], client, client)
}

// encode returns the request on the wire.
func (r *pcpMapRequest) encode() []byte {
	b := make([]byte, pcpHeaderSize+pcpMapSize)
	encodePCPHeader(b, pcpOpMap, r.Lifetime, r.ClientIP)
	m := b[pcpHeaderSize:]
	copy(m, r.Nonce[:])
	m[12] = r.Protocol
	// m[13:16] reserved
	binary.BigEndian.PutUint16(m[16:], r.InternalPort)
	binary.BigEndian.PutUint16(m[18:], r.ExternalPort)
	pcpAddr(m[20:36], r.ExternalIP, r.ClientIP)
	return b
}

// encodePCPAnnounce is an ANNOUNCE request (section 14.1): it has no data
// and its response tells the server's epoch.
func encodePCPAnnounce(client netip.Addr) []byte {
	b := make([]byte, pcpHeaderSize)
	encodePCPHeader(b, pcpOpAnnounce, 0, client)
	return b
}

// pcpResponse is a decoded PCP response.
type pcpResponse struct {
	Op       uint8
	Result   PCPResultCode
	Lifetime uint32 // of the mapping; of the error when Result is not SUCCESS
	Epoch    uint32
	// MAP data, if HasMap.
	HasMap       bool
	Nonce        pcpNonce
	Protocol     uint8
	InternalPort uint16
	ExternalPort uint16
	ExternalIP   netip.Addr
}

// decodePCPResponse decodes a PCP response to a request of opcode op. A
// non-zero result code is returned in the response, not as an error, as
// the caller must first check that the response is for its request. An
// error response may lack the MAP data (section 7.2 says it is copied from
// the request, but a server that could not parse the request cannot); a
// successful one may not.
func decodePCPResponse(b []byte, op uint8) (pcpResponse, error) {
	var r pcpResponse
	switch {
	case len(b) == 0:
		return r, fmt.Errorf("PCP: %w: empty datagram", ErrTruncated)
	case b[0] != pcpVersion:
		return r, &VersionError{Proto: "PCP", Want: pcpVersion, Got: b[0]}
	case len(b) < pcpHeaderSize:
		return r, fmt.Errorf("PCP: %w: %d bytes, header is %d", ErrTruncated, len(b), pcpHeaderSize)
	// Section 7: messages are a multiple of 4 octets, at most 1100.
	case len(b) > pcpMaxMessage:
		return r, fmt.Errorf("PCP: %w: %d bytes, limit %d", ErrTooLarge, len(b), pcpMaxMessage)
	case len(b)%4 != 0:
		return r, fmt.Errorf("PCP: %w: %d bytes is not a multiple of 4", ErrBadLength, len(b))
	case b[1]&pcpRespBit == 0:
		return r, fmt.Errorf("PCP: %w: opcode %d", ErrNotResponse, b[1])
	}
	r.Op = b[1] &^ pcpRespBit
	if r.Op != op {
		return r, fmt.Errorf("PCP: %w: got %d, want %d", ErrOpcodeMismatch, r.Op, op)
	}
	r.Result = PCPResultCode(b[3])
	r.Lifetime = binary.BigEndian.Uint32(b[4:])
	r.Epoch = binary.BigEndian.Uint32(b[8:])
	rest := b[pcpHeaderSize:]
	if op == pcpOpMap {
		if len(rest) < pcpMapSize {
			if r.Result != PCPSuccess && len(rest) == 0 {
				return r, nil
			}
			return r, fmt.Errorf("PCP: %w: MAP data of %d bytes, want %d", ErrTruncated, len(rest), pcpMapSize)
		}
		r.HasMap = true
		copy(r.Nonce[:], rest)
		r.Protocol = rest[12]
		r.InternalPort = binary.BigEndian.Uint16(rest[16:])
		r.ExternalPort = binary.BigEndian.Uint16(rest[18:])
		r.ExternalIP = netip.AddrFrom16([16]byte(rest[20:36])).Unmap()
		rest = rest[pcpMapSize:]
	}
	// Options (section 7.3): none is needed here, but they must be well
	// formed. Their count is bounded by the message size.
	for len(rest) > 0 {
		if len(rest) < pcpOptHeader {
			return r, fmt.Errorf("PCP: %w: %d bytes left, option header is %d", ErrBadOption, len(rest), pcpOptHeader)
		}
		code, n := rest[0], int(binary.BigEndian.Uint16(rest[2:]))
		padded := (n + 3) &^ 3
		if pcpOptHeader+padded > len(rest) {
			return r, fmt.Errorf("PCP: %w: option %d has length %d, %d bytes left", ErrBadOption, code, n, len(rest)-pcpOptHeader)
		}
		rest = rest[pcpOptHeader+padded:]
	}
	return r, nil
}

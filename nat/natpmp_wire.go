package nat

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// NAT-PMP wire format, RFC 6886 (https://www.rfc-editor.org/rfc/rfc6886).
const (
	pmpPort    = 5351 // section 3: the gateway listens on UDP 5351
	pmpVersion = 0

	pmpOpExternal = 0 // section 3.2
	pmpOpMapUDP   = 1 // section 3.3
	pmpOpMapTCP   = 2
	pmpRespBit    = 128 // responses carry the opcode plus 128

	// pmpHeaderSize is version, opcode, result code and epoch: every
	// response has them, error responses may have nothing else (section 3.5).
	pmpHeaderSize      = 8
	pmpExternalRespLen = 12 // section 3.2
	pmpMapRespLen      = 16 // section 3.3
	// pmpMaxResponse is the largest response of this protocol.
	pmpMaxResponse = pmpMapRespLen
)

// pmpResponse is a decoded NAT-PMP response.
type pmpResponse struct {
	Op     uint8 // without the response bit
	Result PMPResultCode
	Epoch  uint32 // seconds since start of epoch
	// Section 3.2 (opcode 0):
	ExternalIP netip.Addr
	// Section 3.3 (opcodes 1, 2):
	InternalPort uint16
	ExternalPort uint16
	Lifetime     uint32
}

// encodePMPExternal is the external address request (section 3.2).
func encodePMPExternal() []byte { return []byte{pmpVersion, pmpOpExternal} }

// encodePMPMap is a mapping request (section 3.3). A lifetime of 0 with
// external port 0 deletes the mapping of intport (section 3.4).
func encodePMPMap(op uint8, intport, extport uint16, lifetime uint32) []byte {
	b := make([]byte, 12)
	b[0] = pmpVersion
	b[1] = op
	// b[2:4] reserved, zero
	binary.BigEndian.PutUint16(b[4:], intport)
	binary.BigEndian.PutUint16(b[6:], extport)
	binary.BigEndian.PutUint32(b[8:], lifetime)
	return b
}

// decodePMPResponse decodes a NAT-PMP response to a request of opcode op.
// A non-zero result code is returned in the response, not as an error: the
// header is valid and the caller decides. Bytes past the end of the
// response are ignored, as the RFC does not forbid them.
func decodePMPResponse(b []byte, op uint8) (pmpResponse, error) {
	var r pmpResponse
	if len(b) > 0 && b[0] != pmpVersion {
		return r, &VersionError{Proto: "NAT-PMP", Want: pmpVersion, Got: b[0]}
	}
	if len(b) < pmpHeaderSize {
		return r, fmt.Errorf("NAT-PMP: %w: %d bytes, header is %d", ErrTruncated, len(b), pmpHeaderSize)
	}
	if b[1] < pmpRespBit {
		return r, fmt.Errorf("NAT-PMP: %w: opcode %d", ErrNotResponse, b[1])
	}
	r.Op = b[1] - pmpRespBit
	if r.Op != op {
		return r, fmt.Errorf("NAT-PMP: %w: got %d, want %d", ErrOpcodeMismatch, r.Op, op)
	}
	r.Result = PMPResultCode(binary.BigEndian.Uint16(b[2:]))
	r.Epoch = binary.BigEndian.Uint32(b[4:])
	if r.Result != PMPSuccess {
		return r, nil
	}
	switch op {
	case pmpOpExternal:
		if len(b) < pmpExternalRespLen {
			return r, fmt.Errorf("NAT-PMP: %w: external address response of %d bytes, want %d", ErrTruncated, len(b), pmpExternalRespLen)
		}
		r.ExternalIP = netip.AddrFrom4([4]byte(b[8:12]))
	case pmpOpMapUDP, pmpOpMapTCP:
		if len(b) < pmpMapRespLen {
			return r, fmt.Errorf("NAT-PMP: %w: mapping response of %d bytes, want %d", ErrTruncated, len(b), pmpMapRespLen)
		}
		r.InternalPort = binary.BigEndian.Uint16(b[8:])
		r.ExternalPort = binary.BigEndian.Uint16(b[10:])
		r.Lifetime = binary.BigEndian.Uint32(b[12:])
	}
	return r, nil
}

package nodedb

import (
	"encoding/binary"
	"math"
	"net/netip"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

// Key schema. Everything about one remote node lives under the node prefix
// 'n' || id, so deleting a node is one prefix deletion and a scan visits a
// node's entries together:
//
//	'n' id 'a' ip16 field    per-endpoint data; field is one of the field* bytes
//	'n' id 'r'               seq (8 bytes, big endian) || record (RLP, enr.md)
//	'l' id 's'               sequence number of our own record for id
//	"version"                schema version (8 bytes, big endian)
//
// IPs are stored in 16-byte form with IPv4 addresses 4in6-mapped after
// unmapping, so 1.2.3.4 and ::ffff:1.2.3.4 share one key. Per-endpoint
// entries sort before the record ('a' < 'r'), so a scan meets a node's
// endpoints first.
const (
	prefixNode  byte = 'n'
	prefixLocal byte = 'l'

	kindAddr   byte = 'a'
	kindRecord byte = 'r'

	localSeqField byte = 's'

	fieldFindFailsV4 byte = '4'
	fieldFindFailsV5 byte = '5'
	fieldPing        byte = 'i'
	fieldPong        byte = 'o'
)

// Key lengths.
const (
	idLen         = len(enode.ID{})
	nodeKeyLen    = 1 + idLen           // 'n' id
	recordKeyLen  = nodeKeyLen + 1      // 'n' id 'r'
	addrPrefixLen = nodeKeyLen + 1 + 16 // 'n' id 'a' ip16
	addrKeyLen    = addrPrefixLen + 1   // ... field
	localKeyLen   = 1 + idLen + 1       // 'l' id 's'
	seqPrefixLen  = 8                   // record value: seq before the RLP
	int64Len      = 8                   // timestamps and counters
)

// recordMax is the largest record encoding, from enr.md: "The maximum
// encoded size of a node record is 300 bytes."
const recordMax = 300

// versionKey holds the schema version. Bump schemaVersion whenever the
// layout above changes incompatibly: Open then wipes older data rather than
// misreading it.
var versionKey = []byte("version")

const schemaVersion = 1

func nodePrefix(id enode.ID) []byte {
	k := make([]byte, nodeKeyLen, recordKeyLen)
	k[0] = prefixNode
	copy(k[1:], id[:])
	return k
}

func recordKey(id enode.ID) []byte {
	return append(nodePrefix(id), kindRecord)
}

// canonicalIP gives each address one 16-byte form. ok is false for the
// zero Addr.
func canonicalIP(ip netip.Addr) (ip16 [16]byte, ok bool) {
	if !ip.IsValid() {
		return ip16, false
	}
	return ip.Unmap().As16(), true
}

func addrPrefix(id enode.ID, ip16 [16]byte) []byte {
	k := make([]byte, addrPrefixLen, addrKeyLen)
	k[0] = prefixNode
	copy(k[1:], id[:])
	k[nodeKeyLen] = kindAddr
	copy(k[nodeKeyLen+1:], ip16[:])
	return k
}

func addrKey(id enode.ID, ip16 [16]byte, field byte) []byte {
	return append(addrPrefix(id, ip16), field)
}

func localSeqKey(id enode.ID) []byte {
	k := make([]byte, localKeyLen)
	k[0] = prefixLocal
	copy(k[1:], id[:])
	k[localKeyLen-1] = localSeqField
	return k
}

// nodeKeyParts is a parsed key under the node prefix.
type nodeKeyParts struct {
	id    enode.ID
	kind  byte     // kindAddr, kindRecord, or something unknown
	ip16  [16]byte // for kindAddr
	field byte     // for kindAddr
}

// parseNodeKey splits a key under the node prefix. ok is false for keys
// that do not follow the schema: too short to hold an ID, or of a known
// kind with the wrong length. Keys of unknown kinds parse (ok) so that scans
// can attribute them to their node.
func parseNodeKey(k []byte) (p nodeKeyParts, ok bool) {
	if len(k) < recordKeyLen || k[0] != prefixNode {
		return p, false
	}
	copy(p.id[:], k[1:nodeKeyLen])
	p.kind = k[nodeKeyLen]
	switch p.kind {
	case kindRecord:
		return p, len(k) == recordKeyLen
	case kindAddr:
		if len(k) != addrKeyLen {
			return p, false
		}
		copy(p.ip16[:], k[nodeKeyLen+1:addrPrefixLen])
		p.field = k[addrPrefixLen]
	}
	return p, true
}

// Value codecs. Every decoder checks the length and reports ok=false for a
// value it cannot have written; callers then treat the entry as absent.

func encodeUint64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, int64Len), v)
}

func decodeUint64(b []byte) (uint64, bool) {
	if len(b) != int64Len {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}

// Times are Unix milliseconds, which cover the zero time.Time and any
// plausible clock without the overflow of nanoseconds.
func encodeTime(t time.Time) []byte {
	return encodeUint64(uint64(t.UnixMilli()))
}

func decodeTime(b []byte) (time.Time, bool) {
	v, ok := decodeUint64(b)
	if !ok {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(v)), true
}

func encodeCount(n int) []byte {
	return encodeUint64(uint64(n))
}

// decodeCount rejects values that are negative or exceed int, which the
// encoder never writes.
func decodeCount(b []byte) (int, bool) {
	v, ok := decodeUint64(b)
	if !ok || v > math.MaxInt {
		return 0, false
	}
	return int(v), true
}

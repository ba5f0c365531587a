package netutil

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// DistinctNetSet counts IP addresses per subnet and refuses an address once
// its subnet holds Limit members. Discovery tables use it to keep one network
// from filling a bucket (discv4.md "Kademlia table"; go-ethereum uses /24 with
// limit 2 per bucket and 10 per table).
//
// The zero value with Subnet and Limit set is ready to use. Not safe for
// concurrent use.
type DistinctNetSet struct {
	Subnet uint // prefix length that defines a subnet
	Limit  uint // members allowed per subnet

	members map[netip.Prefix]uint
}

// Add records ip and returns true, or returns false without recording if the
// subnet of ip is full.
func (s *DistinctNetSet) Add(ip netip.Addr) bool {
	key, ok := s.key(ip)
	if !ok {
		return false
	}
	if s.members == nil {
		s.members = make(map[netip.Prefix]uint)
	}
	if n := s.members[key]; n < s.Limit {
		s.members[key] = n + 1
		return true
	}
	return false
}

// Remove forgets one occurrence of ip.
func (s *DistinctNetSet) Remove(ip netip.Addr) {
	key, ok := s.key(ip)
	if !ok {
		return
	}
	switch n := s.members[key]; n {
	case 0:
	case 1:
		delete(s.members, key)
	default:
		s.members[key] = n - 1
	}
}

// Contains reports whether the subnet of ip has any member.
func (s *DistinctNetSet) Contains(ip netip.Addr) bool {
	key, ok := s.key(ip)
	return ok && s.members[key] > 0
}

// Len returns the number of recorded addresses.
func (s *DistinctNetSet) Len() int {
	var n uint
	for _, c := range s.members {
		n += c
	}
	return int(n)
}

func (s *DistinctNetSet) key(ip netip.Addr) (netip.Prefix, bool) {
	ip = ip.Unmap()
	bits := int(s.Subnet)
	if bits > ip.BitLen() {
		bits = ip.BitLen()
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// String lists subnets with their counts, e.g. "{10.0.0.0/24×2}".
func (s *DistinctNetSet) String() string {
	keys := slices.SortedFunc(maps.Keys(s.members), func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%v×%d", k, s.members[k])
	}
	b.WriteByte('}')
	return b.String()
}

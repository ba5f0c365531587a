package netutil

import (
	"errors"
	"net"
	"net/netip"
)

// Special-purpose ranges that are never valid node addresses, from the IANA
// special-purpose address registries (RFC 6890):
// https://www.iana.org/assignments/iana-ipv4-special-registry/
// https://www.iana.org/assignments/iana-ipv6-special-registry/
var special4, special6 = MustParseNetlist(
	"0.0.0.0/8," + // "this" network
		"192.0.0.0/29," + // IPv4 service continuity
		"192.0.0.9/32," + // PCP anycast
		"192.0.0.170/32,192.0.0.171/32," + // NAT64/DNS64 discovery
		"192.0.2.0/24," + // TEST-NET-1
		"192.31.196.0/24," + // AS112
		"192.52.193.0/24," + // AMT
		"192.88.99.0/24," + // 6to4 relay anycast
		"192.175.48.0/24," + // AS112
		"198.18.0.0/15," + // benchmarking
		"198.51.100.0/24," + // TEST-NET-2
		"203.0.113.0/24," + // TEST-NET-3
		"255.255.255.255/32", // limited broadcast
), MustParseNetlist(
	"100::/64," + // discard-only
		"2001::/32," + // TEREDO
		"2001:1::1/128," + // PCP anycast
		"2001:2::/48," + // benchmarking
		"2001:3::/32," + // AMT
		"2001:4:112::/48," + // AS112-v6
		"2001:5::/32," + // EID space for LISP
		"2001:10::/28," + // ORCHID (deprecated)
		"2001:20::/28," + // ORCHIDv2
		"2001:db8::/32," + // documentation
		"2002::/16", // 6to4
)

// IsLAN reports whether ip is a loopback, private (RFC 1918, RFC 4193) or
// link-local unicast address: an address that does not route on the Internet.
func IsLAN(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast()
}

// IsSpecialNetwork reports whether ip is multicast or lies in a special-purpose
// range (documentation, benchmarking, broadcast, ...).
func IsSpecialNetwork(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsMulticast() {
		return true
	}
	if ip.Is4() {
		return special4.Contains(ip)
	}
	return special6.Contains(ip)
}

// Errors returned by CheckRelayAddr.
var (
	ErrInvalidAddr  = errors.New("invalid IP")
	ErrUnspecified  = errors.New("unspecified address")
	ErrSpecialAddr  = errors.New("special network address")
	ErrLoopbackAddr = errors.New("loopback address from non-loopback host")
	ErrLANAddr      = errors.New("LAN address from WAN host")
)

// CheckRelayAddr reports whether addr, learned from a node at sender (for
// example in a discovery NEIGHBORS reply), is worth contacting. Special-purpose
// addresses are never valid; a loopback address is only believed from a
// loopback sender, and a LAN address only from a LAN sender.
func CheckRelayAddr(sender, addr netip.Addr) error {
	sender, addr = sender.Unmap(), addr.Unmap()
	switch {
	case !addr.IsValid():
		return ErrInvalidAddr
	case addr.IsUnspecified():
		return ErrUnspecified
	case IsSpecialNetwork(addr):
		return ErrSpecialAddr
	case addr.IsLoopback() && !sender.IsLoopback():
		return ErrLoopbackAddr
	case IsLAN(addr) && !IsLAN(sender):
		return ErrLANAddr
	}
	return nil
}

// AddrIP returns the IP address held by a *net.TCPAddr, *net.UDPAddr or
// *net.IPAddr, unmapped to IPv4 where applicable. For other address types
// (in-memory pipes, Unix sockets) the result is the zero Addr.
func AddrIP(addr net.Addr) netip.Addr {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return IPToAddr(a.IP)
	case *net.UDPAddr:
		return IPToAddr(a.IP)
	case *net.IPAddr:
		return IPToAddr(a.IP)
	}
	return netip.Addr{}
}

// IPToAddr converts a net.IP, keeping IPv4 addresses in their 4-byte form
// (netip.AddrFromSlice would turn a 16-byte IPv4 slice into a mapped address).
func IPToAddr(ip net.IP) netip.Addr {
	if ip4 := ip.To4(); ip4 != nil {
		return netip.AddrFrom4([4]byte(ip4))
	}
	if len(ip) == net.IPv6len {
		return netip.AddrFrom16([16]byte(ip))
	}
	return netip.Addr{}
}

package netutil

import (
	"fmt"
	"net/netip"
	"strings"
)

// Netlist is a list of IP networks, such as the value of a --netrestrict flag.
// A nil *Netlist means "no restriction" to callers that treat it as optional;
// its Contains method reports false.
type Netlist []netip.Prefix

// ParseNetlist parses a comma-separated list of CIDR prefixes. Whitespace and
// empty elements are ignored, so "10.0.0.0/8, ,192.168.0.0/16" is valid.
func ParseNetlist(s string) (*Netlist, error) {
	l := Netlist{}
	for _, field := range strings.Split(s, ",") {
		field = strings.Join(strings.Fields(field), "")
		if field == "" {
			continue
		}
		if err := l.Add(field); err != nil {
			return nil, err
		}
	}
	return &l, nil
}

// MustParseNetlist is ParseNetlist for lists written in source code. It
// panics on a malformed list.
func MustParseNetlist(s string) *Netlist {
	l, err := ParseNetlist(s)
	if err != nil {
		panic(err)
	}
	return l
}

// Add parses a CIDR prefix and appends it to the list. The prefix is masked,
// so "10.1.2.3/8" is stored as "10.0.0.0/8".
func (l *Netlist) Add(cidr string) error {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return fmt.Errorf("netutil: invalid CIDR %q: %w", cidr, err)
	}
	*l = append(*l, p.Masked())
	return nil
}

// Contains reports whether ip lies in one of the networks. IPv4-mapped IPv6
// addresses match IPv4 networks.
func (l *Netlist) Contains(ip netip.Addr) bool {
	if l == nil || !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, p := range *l {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// String renders the list in the form ParseNetlist accepts.
func (l Netlist) String() string {
	parts := make([]string, len(l))
	for i, p := range l {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

// MarshalText implements encoding.TextMarshaler (config files, JSON).
func (l Netlist) MarshalText() ([]byte, error) {
	return []byte(l.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *Netlist) UnmarshalText(text []byte) error {
	parsed, err := ParseNetlist(string(text))
	if err != nil {
		return err
	}
	*l = *parsed
	return nil
}

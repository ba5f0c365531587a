package enode

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enr"
)

// The enode URL format (https://ethereum.org/en/developers/docs/networking-layer/network-addresses/#enode):
//
//	enode://<node ID>@<host>:<tcp port>[?discport=<udp port>]
//
// The node ID is the 64-byte uncompressed public key in hex, without the
// 0x04 prefix. The host is an IPv4 address, an IPv6 address in brackets, or
// a DNS name. The UDP (discovery) port equals the TCP port unless discport
// says otherwise. A bare "enode://<node ID>" (or just the hex) names a node
// without an address, for lookups by ID.

const urlPrefix = "enode://"

const (
	pubkeyHexLen   = 2 * (crypto.PubkeyLength - 1)
	maxHostnameLen = 253 // RFC 1035 section 2.3.4, without the final dot
	maxLabelLen    = 63
)

// NewV4 returns a node from discovery v4 information: an unsigned record
// holding the key, the address (if valid; a 4in6 address counts as IPv4, a
// zone is dropped) and the non-zero ports. It panics if a port is outside
// 0..65535.
func NewV4(p *crypto.PublicKey, ip netip.Addr, tcp, udp int) *Node {
	var r enr.Record
	if e := enr.IPEntry(ip); e != nil {
		r.Set(e)
	}
	if tcp != 0 {
		r.Set(enr.TCP(checkPort(tcp)))
	}
	if udp != 0 {
		r.Set(enr.UDP(checkPort(udp)))
	}
	r.Set(enr.Secp256k1(*p))
	return newNode(&r, PubkeyToIDV4(p), p)
}

func checkPort(p int) uint16 {
	if p < 0 || p > 0xFFFF {
		panic(fmt.Sprintf("enode: port %d out of range", p))
	}
	return uint16(p)
}

// ParseV4 parses an enode URL. The node it returns has an unsigned record
// (like NewV4). A DNS name is kept as the node's Hostname and not resolved;
// the node then has ports but no IP. Errors: ErrInvalidScheme,
// ErrMissingNodeID, ErrInvalidHex, ErrInvalidKeyLength, ErrInvalidPubkey,
// ErrInvalidURL, ErrMissingHost, ErrInvalidHost, ErrInvalidPort.
func ParseV4(rawurl string) (*Node, error) {
	rest, ok := cutPrefixFold(rawurl, urlPrefix)
	if !ok {
		if isBareID(rawurl) {
			return parseBare(rawurl)
		}
		return nil, fmt.Errorf("%w: %q", ErrInvalidScheme, truncate(rawurl))
	}
	if rest == "" {
		return nil, ErrMissingNodeID
	}
	idPart, hostPart, ok := strings.Cut(rest, "@")
	if !ok {
		if isBareID(rest) {
			return parseBare(rest)
		}
		if id, _, _ := strings.Cut(rest, "?"); isBareID(id) {
			return nil, ErrMissingHost
		}
		if strings.ContainsAny(rest, ".:") {
			return nil, ErrMissingNodeID
		}
		return nil, fmt.Errorf("%w: %q", ErrInvalidHex, truncate(rest))
	}
	if idPart == "" {
		return nil, ErrMissingNodeID
	}
	if strings.Contains(idPart, ":") {
		return nil, fmt.Errorf("%w: user info has a password", ErrInvalidURL)
	}
	pub, err := parsePubkey(idPart)
	if err != nil {
		return nil, err
	}

	hostPort, query, hasQuery := strings.Cut(hostPart, "?")
	if strings.Contains(hostPort, "#") || (hasQuery && strings.Contains(query, "#")) {
		return nil, fmt.Errorf("%w: fragment", ErrInvalidURL)
	}
	if hp, path, ok := strings.Cut(hostPort, "/"); ok {
		if path != "" {
			return nil, fmt.Errorf("%w: path %q", ErrInvalidURL, truncate(path))
		}
		hostPort = hp
	}
	host, ip, tcp, err := parseHostPort(hostPort)
	if err != nil {
		return nil, err
	}
	udp := tcp
	if hasQuery {
		q, err := url.ParseQuery(query)
		if err != nil {
			return nil, fmt.Errorf("%w: query: %v", ErrInvalidURL, err)
		}
		if d := q.Get("discport"); d != "" {
			if udp, err = parsePort(d); err != nil {
				return nil, fmt.Errorf("%w: discport %q", ErrInvalidPort, truncate(d))
			}
		}
	}
	if tcp == 0 && udp == 0 {
		return nil, fmt.Errorf("%w: both TCP and UDP ports are 0", ErrInvalidPort)
	}
	n := NewV4(pub, ip, int(tcp), int(udp))
	if !ip.IsValid() {
		n.hostname = host
	}
	return n, nil
}

// parseHostPort splits "host:port" or "[ipv6]:port" and parses both halves.
// ip is valid if the host is an address, otherwise host is a DNS name.
func parseHostPort(hp string) (host string, ip netip.Addr, port uint16, err error) {
	var portStr string
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", ip, 0, fmt.Errorf("%w: missing ']'", ErrInvalidHost)
		}
		host = hp[1:end]
		after := hp[end+1:]
		if !strings.HasPrefix(after, ":") {
			return "", ip, 0, fmt.Errorf("%w: missing port", ErrInvalidPort)
		}
		portStr = after[1:]
		if host == "" {
			return "", ip, 0, ErrMissingHost
		}
		if ip, err = netip.ParseAddr(host); err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", netip.Addr{}, 0, fmt.Errorf("%w: %q is not an IPv6 address", ErrInvalidHost, truncate(host))
		}
		ip = ip.Unmap()
	} else {
		i := strings.LastIndexByte(hp, ':')
		if i < 0 {
			if hp == "" {
				return "", ip, 0, ErrMissingHost
			}
			return "", ip, 0, fmt.Errorf("%w: missing port", ErrInvalidPort)
		}
		host, portStr = hp[:i], hp[i+1:]
		switch {
		case host == "":
			return "", ip, 0, ErrMissingHost
		case strings.Contains(host, ":"):
			return "", ip, 0, fmt.Errorf("%w: IPv6 address without brackets", ErrInvalidHost)
		}
		if a, err := netip.ParseAddr(host); err == nil {
			ip = a
		} else if !validHostname(host) {
			return "", ip, 0, fmt.Errorf("%w: %q", ErrInvalidHost, truncate(host))
		}
	}
	if port, err = parsePort(portStr); err != nil {
		return "", netip.Addr{}, 0, fmt.Errorf("%w: %q", ErrInvalidPort, truncate(portStr))
	}
	return host, ip, port, nil
}

func parsePort(s string) (uint16, error) {
	p, err := strconv.ParseUint(s, 10, 16)
	return uint16(p), err
}

// validHostname checks DNS name syntax (RFC 1123 section 2.1, plus '_'
// which appears in practice): dot-separated labels of letters, digits,
// hyphens and underscores, an optional final dot.
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > maxHostnameLen {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > maxLabelLen {
			return false
		}
		for i := 0; i < len(label); i++ {
			switch c := label[i]; {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			default:
				return false
			}
		}
	}
	return true
}

func parseBare(h string) (*Node, error) {
	pub, err := parsePubkey(h)
	if err != nil {
		return nil, err
	}
	return NewV4(pub, netip.Addr{}, 0, 0), nil
}

// parsePubkey decodes the 128 hex characters of a node ID in a URL.
func parsePubkey(h string) (*crypto.PublicKey, error) {
	if !isHex(h) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidHex, truncate(h))
	}
	if len(h) != pubkeyHexLen {
		return nil, fmt.Errorf("%w: %d characters", ErrInvalidKeyLength, len(h))
	}
	var b [crypto.PubkeyLength]byte
	b[0] = 0x04
	hex.Decode(b[1:], []byte(h))
	pub, err := crypto.UnmarshalPubkey(b[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPubkey, err)
	}
	return pub, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// isBareID reports whether s looks like a bare node ID (hex only). Whether
// it is a valid one is for parsePubkey to say.
func isBareID(s string) bool { return s != "" && isHex(s) }

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// truncate shortens remote-supplied text quoted in errors.
func truncate(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// URLv4 returns the node's enode URL: the DNS name if the node has one,
// else the IP address (IPv6 in brackets), the TCP port, and discport if the
// UDP port differs. A node without either is printed as "enode://<ID>".
// Nodes of test schemes without a public key print "<scheme>.<node ID>" in
// place of the key, which ParseV4 does not accept.
func (n *Node) URLv4() string {
	var b strings.Builder
	b.Grow(len(urlPrefix) + pubkeyHexLen + 64)
	b.WriteString(urlPrefix)
	if n.pub != nil {
		var enc [pubkeyHexLen]byte
		hex.Encode(enc[:], crypto.MarshalPubkey(n.pub)[1:])
		b.Write(enc[:])
	} else {
		b.WriteString(n.r.IdentityScheme())
		b.WriteByte('.')
		b.WriteString(n.id.String())
	}
	switch {
	case n.hostname != "":
		b.WriteByte('@')
		b.WriteString(n.hostname)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(int(n.tcp)))
	case n.ip.IsValid():
		b.WriteByte('@')
		b.WriteString(netip.AddrPortFrom(n.ip, n.tcp).String())
	default:
		return b.String()
	}
	if n.udp != n.tcp {
		b.WriteString("?discport=")
		b.WriteString(strconv.Itoa(int(n.udp)))
	}
	return b.String()
}

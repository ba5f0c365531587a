// Package enode represents nodes of the devp2p network: a verified node
// record (package enr) together with what is derived from it (node ID,
// public key, the endpoint to contact), the enode:// URL format, the
// Kademlia distance metric on node IDs, and LocalNode, the record of the
// node running in this process.
package enode

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enr"
)

// Node is a node of the network. It is immutable, so it can be shared
// between goroutines; WithHostname returns a modified copy.
type Node struct {
	r   enr.Record
	id  ID
	pub *crypto.PublicKey // nil when the record has no valid secp256k1 key

	// hostname is a DNS name from an enode URL, resolved by whoever dials.
	hostname string

	// The endpoint to contact, chosen from the record's addresses by
	// setEndpoint.
	ip       netip.Addr
	tcp, udp uint16
}

// New wraps a record signed under the "v4" identity scheme, verifying the
// signature. Errors are those of enr.VerifyV4: enr.ErrUnsigned,
// enr.ErrMissingScheme, enr.ErrUnknownScheme, a *enr.KeyError for the
// "secp256k1" entry, enr.ErrInvalidSig.
func New(r *enr.Record) (*Node, error) {
	pub, err := enr.VerifyV4(r)
	if err != nil {
		return nil, err
	}
	return newNode(r, PubkeyToIDV4(pub), pub), nil
}

// NewWithSchemes wraps a record after verifying it with the given identity
// schemes (usually an enr.SchemeMap), which also derive the node ID. Use
// New for the v4 scheme; this exists for tests and simulations that use
// other schemes, see TestSchemes.
func NewWithSchemes(schemes enr.IdentityScheme, r *enr.Record) (*Node, error) {
	if err := r.VerifySignature(schemes); err != nil {
		return nil, err
	}
	addr := schemes.NodeAddr(r)
	if len(addr) != len(ID{}) {
		return nil, fmt.Errorf("%w: %d bytes", ErrInvalidNodeAddr, len(addr))
	}
	var key enr.Secp256k1
	var pub *crypto.PublicKey
	if r.Load(&key) == nil {
		pub = (*crypto.PublicKey)(&key)
	}
	return newNode(r, ID(addr), pub), nil
}

func newNode(r *enr.Record, id ID, pub *crypto.PublicKey) *Node {
	n := &Node{r: *r, id: id, pub: pub}
	n.setEndpoint()
	return n
}

// setEndpoint picks the address to contact among "ip" and "ip6" (enr.md
// "Record Structure") the way go-ethereum does, so that both contact the
// same endpoint: a non-multicast address, the more global one if there are
// two, IPv4 on a tie. The ports are tcp/udp, overridden by tcp6/udp6 for an
// IPv6 address. Without a usable address the node has tcp/udp ports and no
// IP.
func (n *Node) setEndpoint() {
	var ip4 enr.IPv4
	var ip6 enr.IPv6
	n.r.Load(&ip4)
	n.r.Load(&ip6)
	a4, a6 := netip.Addr(ip4), netip.Addr(ip6)
	use4, use6 := usableIP(a4), usableIP(a6)
	if use4 && use6 && localityScore(a6) > localityScore(a4) {
		use4 = false
	}
	var tcp enr.TCP
	var udp enr.UDP
	n.r.Load(&tcp)
	n.r.Load(&udp)
	n.tcp, n.udp = uint16(tcp), uint16(udp)
	switch {
	case use4:
		n.ip = a4
	case use6 && a6.Is4In6():
		// An IPv4 address in ip6 is contacted over IPv4, on the IPv4 ports.
		n.ip = a6.Unmap()
	case use6:
		n.ip = a6
		var tcp6 enr.TCP6
		var udp6 enr.UDP6
		if n.r.Load(&tcp6) == nil {
			n.tcp = uint16(tcp6)
		}
		if n.r.Load(&udp6) == nil {
			n.udp = uint16(udp6)
		}
	}
}

func usableIP(ip netip.Addr) bool { return ip.IsValid() && !ip.IsMulticast() }

// localityScore ranks addresses from least (unspecified) to most global.
func localityScore(ip netip.Addr) int {
	switch {
	case ip.IsUnspecified():
		return 0
	case ip.IsLoopback():
		return 1
	case ip.IsLinkLocalUnicast():
		return 2
	case ip.IsPrivate():
		return 3
	default:
		return 4
	}
}

// ID returns the node ID.
func (n *Node) ID() ID { return n.id }

// Seq returns the record's sequence number.
func (n *Node) Seq() uint64 { return n.r.Seq() }

// Record returns a copy of the node record, which the caller may modify.
func (n *Node) Record() *enr.Record {
	cpy := n.r
	return &cpy
}

// Load reads an entry from the node record.
func (n *Node) Load(e enr.Entry) error { return n.r.Load(e) }

// Pubkey returns the node's secp256k1 public key, nil if the record has none
// (possible only for records of test schemes).
func (n *Node) Pubkey() *crypto.PublicKey { return n.pub }

// IPAddr returns the IP address to contact, the zero Addr if the record has
// no usable one. IPv4 addresses are never returned in 4in6 form.
func (n *Node) IPAddr() netip.Addr { return n.ip }

// TCP returns the TCP port for IPAddr, 0 if none.
func (n *Node) TCP() int { return int(n.tcp) }

// UDP returns the UDP port for IPAddr, 0 if none.
func (n *Node) UDP() int { return int(n.udp) }

// Incomplete reports whether the node has no IP address (it was created
// from a bare node ID or from an enode URL with a DNS name).
func (n *Node) Incomplete() bool { return !n.ip.IsValid() }

// TCPEndpoint returns the TCP address to dial, false if the node has no
// specified IP or no TCP port.
func (n *Node) TCPEndpoint() (netip.AddrPort, bool) {
	if !n.ip.IsValid() || n.ip.IsUnspecified() || n.tcp == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(n.ip, n.tcp), true
}

// UDPEndpoint returns the discovery address, false if the node has no
// specified IP or no UDP port.
func (n *Node) UDPEndpoint() (netip.AddrPort, bool) {
	if !n.ip.IsValid() || n.ip.IsUnspecified() || n.udp == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(n.ip, n.udp), true
}

// Hostname returns the DNS name the node was given by an enode URL or
// WithHostname, "" if none.
func (n *Node) Hostname() string { return n.hostname }

// WithHostname returns a copy of n that carries a DNS name. The name is not
// resolved here: whoever dials the node resolves it and contacts the
// resulting address on n's ports.
func (n *Node) WithHostname(h string) *Node {
	cpy := *n
	cpy.hostname = h
	return &cpy
}

// ValidateComplete checks that the node can be contacted for discovery: it
// has a specified IP (multicast addresses are never chosen, see
// setEndpoint), a UDP port, and a valid public key.
func (n *Node) ValidateComplete() error {
	switch {
	case !n.ip.IsValid():
		return ErrMissingIP
	case n.ip.IsUnspecified():
		return fmt.Errorf("%w: %v", ErrInvalidIP, n.ip)
	case n.udp == 0:
		return ErrMissingUDP
	}
	var key enr.Secp256k1
	return n.r.Load(&key)
}

// String returns the record's text form "enr:..." if the record is signed,
// otherwise (nodes from NewV4 and enode URLs) the enode URL.
func (n *Node) String() string {
	if !n.r.Signed() {
		return n.URLv4()
	}
	return n.r.String()
}

// MarshalText returns String (encoding.TextMarshaler).
func (n *Node) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText parses a node with Parse (encoding.TextUnmarshaler).
func (n *Node) UnmarshalText(text []byte) error {
	dec, err := Parse(string(text))
	if err != nil {
		return err
	}
	*n = *dec
	return nil
}

// Parse reads an enode URL (see ParseV4) or a record in text form
// "enr:...", which must be signed under the "v4" scheme.
func Parse(s string) (*Node, error) {
	switch {
	case strings.HasPrefix(s, "enr:"):
		r, err := enr.ParseText(s)
		if err != nil {
			return nil, err
		}
		return New(r)
	case strings.HasPrefix(s, urlPrefix), isBareID(s):
		return ParseV4(s)
	}
	return nil, ErrUnknownFormat
}

// MustParse is Parse for constants in tests: it panics on invalid input.
func MustParse(s string) *Node {
	n, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return n
}

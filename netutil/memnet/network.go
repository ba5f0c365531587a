// Package memnet is an in-memory stand-in for TCP: hosts with IP addresses,
// listeners on ports, dialing, name resolution, and buffered connections with
// deadlines. Servers wired to it run the same code as over sockets, without
// file descriptors or ports, and inside testing/synctest bubbles.
package memnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
)

// Errors returned by the network.
var (
	ErrRefused    = &net.OpError{Op: "dial", Net: "memnet", Err: syscall.ECONNREFUSED}
	ErrAddrInUse  = errors.New("memnet: address already in use")
	ErrNoSuchHost = &net.DNSError{Err: "no such host", IsNotFound: true}
)

// acceptBacklog is how many dialed connections wait for Accept before Dial
// blocks, like a listen(2) backlog.
const acceptBacklog = 4096

// Network is a set of hosts that can reach each other. The zero value is not
// usable; call New.
type Network struct {
	// BufferSize is the per-direction buffer of new connections; zero means
	// DefaultBufferSize. Set it before dialing.
	BufferSize int

	mu        sync.Mutex
	listeners map[netip.AddrPort]*listener
	names     map[string][]netip.Addr
	nextPort  map[netip.Addr]uint16
}

// New returns an empty network.
func New() *Network {
	return &Network{
		listeners: make(map[netip.AddrPort]*listener),
		names:     make(map[string][]netip.Addr),
		nextPort:  make(map[netip.Addr]uint16),
	}
}

// Host returns the view of the network from a machine with the given address.
// Its listeners bind to ip and its outgoing connections come from ip.
func (n *Network) Host(ip netip.Addr) *Host {
	return &Host{net: n, ip: ip.Unmap()}
}

// AddName makes host resolve to addrs in LookupNetIP.
func (n *Network) AddName(host string, addrs ...netip.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.names[host] = append([]netip.Addr(nil), addrs...)
}

// Host is one machine on a Network. It has the method set the p2p server
// needs from a network: Listen, DialContext and LookupNetIP.
type Host struct {
	net *Network
	ip  netip.Addr
}

// IP returns the host's address.
func (h *Host) IP() netip.Addr { return h.ip }

// Listen binds a listener. address is "host:port"; the host part must be
// empty, unspecified or the host's own IP, and port 0 picks a free port.
func (h *Host) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	port, err := h.parseLocal(address)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	n := h.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if port == 0 {
		port = n.freePortLocked(h.ip)
	}
	ap := netip.AddrPortFrom(h.ip, port)
	if _, ok := n.listeners[ap]; ok {
		return nil, &net.OpError{Op: "listen", Net: network, Err: ErrAddrInUse}
	}
	l := &listener{
		net:     n,
		addr:    ap,
		backlog: make(chan net.Conn, acceptBacklog),
		closed:  make(chan struct{}),
	}
	n.listeners[ap] = l
	return l, nil
}

// DialContext connects to a listener at address ("ip:port").
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	n := h.net
	n.mu.Lock()
	l := n.listeners[ap]
	local := netip.AddrPortFrom(h.ip, n.freePortLocked(h.ip))
	bufSize := n.BufferSize
	n.mu.Unlock()
	if l == nil {
		return nil, ErrRefused
	}
	if err := ctx.Err(); err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	c, s := Pipe(net.TCPAddrFromAddrPort(local), net.TCPAddrFromAddrPort(ap), bufSize)
	if !l.enqueue(s) {
		return nil, ErrRefused
	}
	return c, nil
}

// LookupNetIP resolves names added with AddName. IP literals resolve to
// themselves.
func (h *Host) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	h.net.mu.Lock()
	addrs := h.net.names[host]
	h.net.mu.Unlock()
	var out []netip.Addr
	for _, a := range addrs {
		switch {
		case network == "ip4" && !a.Is4():
		case network == "ip6" && !a.Is6():
		default:
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		err := *ErrNoSuchHost
		err.Name = host
		return nil, &err
	}
	return out, nil
}

func (h *Host) parseLocal(address string) (uint16, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return 0, err
	}
	if host != "" {
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return 0, fmt.Errorf("memnet: listen address %q is not an IP", host)
		}
		if !ip.IsUnspecified() && ip.Unmap() != h.ip {
			return 0, fmt.Errorf("memnet: cannot listen on %v from host %v", ip, h.ip)
		}
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("memnet: bad port %q", portStr)
	}
	return uint16(port), nil
}

// freePortLocked hands out ephemeral ports, skipping bound ones.
func (n *Network) freePortLocked(ip netip.Addr) uint16 {
	for {
		p := n.nextPort[ip]
		if p < 32768 {
			p = 32768
		}
		n.nextPort[ip] = p + 1
		if _, used := n.listeners[netip.AddrPortFrom(ip, p)]; !used {
			return p
		}
	}
}

type listener struct {
	net     *Network
	addr    netip.AddrPort
	backlog chan net.Conn
	closed  chan struct{}

	mu       sync.Mutex // orders enqueue against Close
	isClosed bool
}

// enqueue hands a new connection to Accept. A full backlog refuses the
// connection, as a kernel drops SYNs when the accept queue overflows.
func (l *listener) enqueue(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isClosed {
		return false
	}
	select {
	case l.backlog <- c:
		return true
	default:
		return false
	}
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.backlog:
		return c, nil
	case <-l.closed:
		return nil, &net.OpError{Op: "accept", Net: "memnet", Addr: l.Addr(), Err: net.ErrClosed}
	}
}

// Close unbinds the address. Connections still in the backlog are reset.
func (l *listener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isClosed {
		return nil
	}
	l.isClosed = true
	close(l.closed)
	l.net.mu.Lock()
	delete(l.net.listeners, l.addr)
	l.net.mu.Unlock()
	for {
		select {
		case c := <-l.backlog:
			c.Close()
		default:
			return nil
		}
	}
}

func (l *listener) Addr() net.Addr { return net.TCPAddrFromAddrPort(l.addr) }

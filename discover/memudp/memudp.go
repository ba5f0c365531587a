// Package memudp is an in-memory stand-in for UDP sockets: the test double
// shipped next to discover.UDPConn. Discovery nodes on one Network exchange
// datagrams through buffered queues, without file descriptors or ports,
// inside testing/synctest bubbles (where its optional latency runs on fake
// time), and thousands of them fit in one process.
//
// Like UDP, delivery is unreliable in the ways that matter to protocols:
// a datagram to an address nobody listens on, or to a socket whose queue is
// full, is dropped without error, and a datagram larger than the reader's
// buffer is truncated. A Filter can drop, observe or count datagrams, and
// Inject delivers a datagram with any source address, to test spoofing.
package memudp

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultQueueLen is how many datagrams a socket holds before it drops new
// ones, roughly a kernel receive buffer of discovery-sized packets.
const DefaultQueueLen = 512

// Errors returned by the network.
var (
	ErrAddrInUse = errors.New("memudp: address already in use")
	ErrNoPorts   = errors.New("memudp: no free port")
)

// Filter sees every datagram sent on the network before delivery and
// returns false to drop it. It runs on the sender's goroutine and must not
// call back into the network.
type Filter func(from, to netip.AddrPort, b []byte) bool

// Network is a set of sockets that can reach each other. Create it with
// New; configure it before sockets send.
type Network struct {
	// Latency delays every delivery (zero: immediate). Under synctest the
	// delay passes in fake time.
	Latency time.Duration
	// QueueLen is the receive queue of sockets opened afterwards; zero
	// means DefaultQueueLen.
	QueueLen int

	mu       sync.Mutex
	conns    map[netip.AddrPort]*Conn
	nextPort map[netip.Addr]uint16
	filter   Filter

	sent, delivered, dropped atomic.Uint64
}

// New returns an empty network.
func New() *Network {
	return &Network{conns: make(map[netip.AddrPort]*Conn), nextPort: make(map[netip.Addr]uint16)}
}

// SetFilter installs f (nil removes it).
func (n *Network) SetFilter(f Filter) {
	n.mu.Lock()
	n.filter = f
	n.mu.Unlock()
}

// Stats counts datagrams network-wide since New.
type Stats struct {
	Sent      uint64 // written by sockets or injected
	Delivered uint64 // queued at the destination
	Dropped   uint64 // no listener, queue full, or filtered
}

// Stats returns the current counts.
func (n *Network) Stats() Stats {
	return Stats{Sent: n.sent.Load(), Delivered: n.delivered.Load(), Dropped: n.dropped.Load()}
}

// Listen opens a socket at addr. Port 0 picks a free port on addr's IP,
// counting up from 30303. The IP must be valid; 4in6 addresses are unmapped.
func (n *Network) Listen(addr netip.AddrPort) (*Conn, error) {
	ip := addr.Addr().Unmap()
	if !ip.IsValid() {
		return nil, errors.New("memudp: invalid listen address")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	port := addr.Port()
	if port == 0 {
		var ok bool
		if port, ok = n.freePortLocked(ip); !ok {
			return nil, ErrNoPorts
		}
	}
	local := netip.AddrPortFrom(ip, port)
	if n.conns[local] != nil {
		return nil, ErrAddrInUse
	}
	qlen := n.QueueLen
	if qlen <= 0 {
		qlen = DefaultQueueLen
	}
	c := &Conn{net: n, local: local, queue: make(chan datagram, qlen), closed: make(chan struct{})}
	n.conns[local] = c
	return c, nil
}

func (n *Network) freePortLocked(ip netip.Addr) (uint16, bool) {
	p := n.nextPort[ip]
	if p == 0 {
		p = 30303
	}
	for range 1 << 16 {
		if p == 0 {
			p = 1024
		}
		if n.conns[netip.AddrPortFrom(ip, p)] == nil {
			n.nextPort[ip] = p + 1
			return p, true
		}
		p++
	}
	return 0, false
}

// Inject delivers b to the socket at to as if sent from from, which need
// not be a socket of the network (spoofed source addresses). It reports
// whether the datagram was queued (with Latency: scheduled for delivery).
func (n *Network) Inject(from, to netip.AddrPort, b []byte) bool {
	return n.send(from, to, b)
}

func (n *Network) send(from, to netip.AddrPort, b []byte) bool {
	n.sent.Add(1)
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	n.mu.Lock()
	dst, filter := n.conns[to], n.filter
	n.mu.Unlock()
	if (filter != nil && !filter(from, to, b)) || dst == nil {
		n.dropped.Add(1)
		return false
	}
	d := datagram{from: from, data: append([]byte(nil), b...)}
	if n.Latency > 0 {
		dst.delay(n, d, time.Now().Add(n.Latency))
		return true
	}
	return n.deliver(dst, d)
}

// delay queues d for delivery at time at. Datagrams to one socket arrive in
// the order they were sent, as they would over one network path: separate
// timers firing at the same instant would deliver them in random order.
func (c *Conn) delay(n *Network, d datagram, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.delayed = append(c.mu.delayed, delayed{d, at})
	if c.mu.timer == nil {
		c.mu.timer = time.AfterFunc(time.Until(at), func() { c.deliverDue(n) })
	}
}

// deliverDue delivers the datagrams whose time has come and sets the timer
// for the next.
func (c *Conn) deliverDue(n *Network) {
	c.mu.Lock()
	now := time.Now()
	i := 0
	for ; i < len(c.mu.delayed) && !c.mu.delayed[i].at.After(now); i++ {
	}
	due := slices.Clone(c.mu.delayed[:i])
	c.mu.delayed = slices.Delete(c.mu.delayed, 0, i)
	if len(c.mu.delayed) > 0 {
		c.mu.timer = time.AfterFunc(time.Until(c.mu.delayed[0].at), func() { c.deliverDue(n) })
	} else {
		c.mu.timer = nil
	}
	c.mu.Unlock()
	for _, d := range due {
		n.deliver(c, d.datagram)
	}
}

type delayed struct {
	datagram
	at time.Time
}

func (n *Network) deliver(dst *Conn, d datagram) bool {
	select {
	case <-dst.closed:
	default:
		select {
		case dst.queue <- d:
			n.delivered.Add(1)
			dst.received.Add(1)
			return true
		default:
		}
	}
	n.dropped.Add(1)
	return false
}

type datagram struct {
	from netip.AddrPort
	data []byte
}

// Conn is a socket of a Network. It implements discover.UDPConn. Reads may
// run concurrently with writes; Close unblocks a pending read.
type Conn struct {
	net   *Network
	local netip.AddrPort
	queue chan datagram

	closeOnce sync.Once
	closed    chan struct{}

	sent, received atomic.Uint64

	mu struct {
		sync.Mutex
		delayed []delayed   // datagrams in flight to this socket, in send order
		timer   *time.Timer // set while delayed is not empty
	}
}

// ReadFromUDPAddrPort waits for the next datagram. It returns net.ErrClosed
// once the socket is closed.
func (c *Conn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-c.queue:
		return copy(b, d.data), d.from, nil
	case <-c.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

// WriteToUDPAddrPort sends b to addr. Like UDP it succeeds whether or not
// the datagram arrives.
func (c *Conn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.sent.Add(1)
	c.net.send(c.local, addr, b)
	return len(b), nil
}

// Close closes the socket and frees its address. It is idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.net.mu.Lock()
		if c.net.conns[c.local] == c {
			delete(c.net.conns, c.local)
		}
		c.net.mu.Unlock()
		close(c.closed)
		c.mu.Lock()
		if c.mu.timer != nil {
			c.mu.timer.Stop()
			c.mu.timer = nil
		}
		c.mu.delayed = nil
		c.mu.Unlock()
	})
	return nil
}

// LocalAddr returns the socket address as a *net.UDPAddr.
func (c *Conn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.local) }

// LocalAddrPort returns the socket address.
func (c *Conn) LocalAddrPort() netip.AddrPort { return c.local }

// Counts returns how many datagrams this socket has sent and received.
func (c *Conn) Counts() (sent, received uint64) { return c.sent.Load(), c.received.Load() }

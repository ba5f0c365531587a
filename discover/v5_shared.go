package discover

import (
	"errors"
	"net"
	"net/netip"
	"sync"

	"github.com/trellis-p2p/trellis/enode"
)

// ListenShared runs discv4 and discv5 on one socket, as go-ethereum does:
// the discv4 listener reads the socket, and every datagram that is not a
// discv4 packet (too short, or its hash does not match; see
// Config.Unhandled) goes to the discv5 listener, whose writes go straight
// to the socket. Each protocol has its own table. cfg.Unhandled must be
// nil. If cfg.DB is nil, each listener opens an in-memory database of its
// own.
//
// Closing the UDPv4 closes the socket, which stops the UDPv5 reading too;
// close both.
func ListenShared(conn UDPConn, ln *enode.LocalNode, cfg Config) (*UDPv4, *UDPv5, error) {
	if cfg.Unhandled != nil {
		return nil, nil, errors.New("discover: ListenShared sets Config.Unhandled itself")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan ReadPacket, sharedUnhandledQueue)
	cfg4 := cfg
	cfg4.Unhandled = ch
	v4, err := ListenV4(conn, ln, cfg4)
	if err != nil {
		return nil, nil, err
	}
	v5, err := ListenV5(newSharedConn(conn, ch), ln, cfg)
	if err != nil {
		v4.Close()
		return nil, nil, err
	}
	return v4, v5, nil
}

// sharedConn is the discv5 side of a shared socket: reads take the
// datagrams discv4 passed on, writes go to the socket. Close stops reads
// and leaves the socket to discv4.
type sharedConn struct {
	conn      UDPConn
	unhandled <-chan ReadPacket
	closed    chan struct{}
	closeOnce sync.Once
}

func newSharedConn(conn UDPConn, unhandled <-chan ReadPacket) *sharedConn {
	return &sharedConn{conn: conn, unhandled: unhandled, closed: make(chan struct{})}
}

// ReadFromUDPAddrPort returns the next datagram discv4 passed on, or
// net.ErrClosed once either listener has closed.
func (c *sharedConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case p, ok := <-c.unhandled:
		if !ok {
			return 0, netip.AddrPort{}, net.ErrClosed
		}
		return copy(b, p.Data), p.Addr, nil
	case <-c.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (c *sharedConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.conn.WriteToUDPAddrPort(b, addr)
}

func (c *sharedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *sharedConn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

package p2p

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// defaultDialTimeout bounds establishing a TCP connection.
const defaultDialTimeout = 15 * time.Second

// Network is how the server reaches the network: where it listens, how it
// dials and how it resolves host names of static nodes. The default is TCP
// with the system resolver; netutil/memnet provides an in-memory network
// with the same methods (memnet.Host), for tests and simulations.
type Network interface {
	Listen(ctx context.Context, network, address string) (net.Listener, error)
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// TCPNetwork is the real network.
type TCPNetwork struct {
	Dialer   net.Dialer // zero value: 15 s timeout is applied per dial
	Resolver *net.Resolver
}

func (t *TCPNetwork) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, network, address)
}

func (t *TCPNetwork) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := t.Dialer
	if d.Timeout == 0 {
		d.Timeout = defaultDialTimeout
	}
	return d.DialContext(ctx, network, address)
}

func (t *TCPNetwork) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r := t.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	return r.LookupNetIP(ctx, network, host)
}

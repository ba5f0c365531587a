package nat

import (
	"context"
	"net/netip"
	"time"
)

// ExtIP is a fixed external address: the machine is reachable on it, and
// any ports it needs are forwarded by hand. Mapping calls succeed without
// talking to anyone and report the requested port as a permanent mapping.
type ExtIP netip.Addr

func (n ExtIP) String() string { return "ExtIP(" + netip.Addr(n).String() + ")" }

func (n ExtIP) ExternalIP(context.Context) (netip.Addr, error) { return netip.Addr(n), nil }

func (n ExtIP) Status(context.Context) (Status, error) {
	return Status{ExternalIP: netip.Addr(n)}, nil
}

func (n ExtIP) AddMapping(ctx context.Context, protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error) {
	return addMapping(ctx, n, protocol, extport, intport, name, lifetime)
}

func (n ExtIP) MapPort(_ context.Context, r Request) (Lease, error) {
	return manualLease(r, netip.Addr(n))
}

func (ExtIP) DeleteMapping(_ context.Context, protocol string, extport, intport int) error {
	_, err := request(protocol, extport, intport, "", 0)
	return err
}

// manualLease is the answer of mechanisms that cannot map ports: the port
// is assumed forwarded by hand, for good.
func manualLease(r Request, ip netip.Addr) (Lease, error) {
	r, err := r.check()
	if err != nil {
		return Lease{}, err
	}
	return Lease{Protocol: r.Protocol, InternalPort: r.InternalPort, ExternalPort: r.extPort(), ExternalIP: ip}, nil
}

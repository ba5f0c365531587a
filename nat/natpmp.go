package nat

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// pmpSchedule is the retransmission of RFC 6886 section 3.1: first after
// 250 ms, doubling, nine sends in all (about 64 s if nothing answers).
var pmpSchedule = retransmit{initial: 250 * time.Millisecond, max: 64 * time.Second, tries: 9}

// PMP returns a NAT-PMP client (RFC 6886) for the gateway at server. A
// server without an address means the default gateway, looked up at every
// call; port 0 means 5351.
func PMP(server netip.AddrPort) Gateway {
	return &pmp{server: server, sched: pmpSchedule}
}

type pmp struct {
	server netip.AddrPort
	sched  retransmit
}

func (p *pmp) String() string {
	if !p.server.Addr().IsValid() {
		return "NAT-PMP(default gateway)"
	}
	return fmt.Sprintf("NAT-PMP(%v)", gatewayAddr(p.server, pmpPort))
}

// gatewayAddr returns server with its port defaulted, or the default
// gateway's address if server has none.
func gatewayAddr(server netip.AddrPort, port uint16) netip.AddrPort {
	if server.Port() != 0 {
		port = server.Port()
	}
	return netip.AddrPortFrom(server.Addr(), port)
}

func (p *pmp) addr() (netip.AddrPort, error) {
	if p.server.Addr().IsValid() {
		return gatewayAddr(p.server, pmpPort), nil
	}
	gw, err := defaultGateway()
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(gw, pmpPort), nil
}

// call sends one request and returns the successful response.
func (p *pmp) call(ctx context.Context, op uint8, req []byte) (pmpResponse, error) {
	server, err := p.addr()
	if err != nil {
		return pmpResponse{}, err
	}
	var resp pmpResponse
	err = exchange(ctx, "NAT-PMP", server, pmpMaxResponse, p.sched,
		func(netip.AddrPort) []byte { return req },
		func(b []byte) (err error) {
			resp, err = decodePMPResponse(b, op)
			return err
		})
	if err != nil {
		return resp, err
	}
	if resp.Result != PMPSuccess {
		return resp, &PMPError{Op: op, Code: resp.Result}
	}
	return resp, nil
}

// Status asks for the external address (RFC 6886 section 3.2).
func (p *pmp) Status(ctx context.Context) (Status, error) {
	resp, err := p.call(ctx, pmpOpExternal, encodePMPExternal())
	if err != nil {
		return Status{}, err
	}
	s := Status{Epoch: resp.Epoch, HasEpoch: true}
	if !resp.ExternalIP.IsUnspecified() {
		s.ExternalIP = resp.ExternalIP
	}
	return s, nil
}

func (p *pmp) ExternalIP(ctx context.Context) (netip.Addr, error) { return externalIP(ctx, p) }

func (p *pmp) AddMapping(ctx context.Context, protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error) {
	return addMapping(ctx, p, protocol, extport, intport, name, lifetime)
}

func pmpMapOp(proto string) uint8 {
	if proto == UDP {
		return pmpOpMapUDP
	}
	return pmpOpMapTCP
}

// MapPort requests a mapping (RFC 6886 section 3.3). The gateway may map
// another external port or grant a shorter lifetime; both are reported.
func (p *pmp) MapPort(ctx context.Context, r Request) (Lease, error) {
	r, err := r.check()
	if err != nil {
		return Lease{}, err
	}
	secs := lifetimeSeconds(r.Lifetime)
	if secs == 0 {
		return Lease{}, fmt.Errorf("%w: NAT-PMP lifetime below 1 s would delete the mapping", ErrBadRequest)
	}
	op := pmpMapOp(r.Protocol)
	resp, err := p.call(ctx, op, encodePMPMap(op, r.InternalPort, r.extPort(), secs))
	if err != nil {
		return Lease{}, err
	}
	switch {
	case resp.InternalPort != r.InternalPort:
		return Lease{}, fmt.Errorf("NAT-PMP: %w: mapping is for internal port %d, asked %d", ErrFieldMismatch, resp.InternalPort, r.InternalPort)
	case resp.ExternalPort == 0:
		return Lease{}, fmt.Errorf("NAT-PMP: %w: external port 0 granted", ErrBadValue)
	case resp.Lifetime == 0:
		return Lease{}, fmt.Errorf("NAT-PMP: %w: lifetime 0 granted", ErrBadValue)
	}
	return Lease{
		Protocol:     r.Protocol,
		InternalPort: r.InternalPort,
		ExternalPort: resp.ExternalPort,
		Lifetime:     time.Duration(resp.Lifetime) * time.Second,
		Epoch:        resp.Epoch,
		HasEpoch:     true,
	}, nil
}

// DeleteMapping deletes the mapping of intport (RFC 6886 section 3.4: a
// request with lifetime 0 and external port 0). Some gateways (miniupnpd)
// then delete the mapping of intport for the other protocol too.
func (p *pmp) DeleteMapping(ctx context.Context, protocol string, extport, intport int) error {
	r, err := request(protocol, extport, intport, "", 0)
	if err != nil {
		return err
	}
	op := pmpMapOp(r.Protocol)
	_, err = p.call(ctx, op, encodePMPMap(op, r.InternalPort, 0, 0))
	return err
}

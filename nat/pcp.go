package nat

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// pcpSchedule is the retransmission of RFC 6887 section 8.1.1: IRT 3 s,
// MRT 1024 s, no count limit (the context ends it), with jitter.
var pcpSchedule = retransmit{initial: 3 * time.Second, max: 1024 * time.Second, jitter: true}

// pcpFallbackTimeout bounds the NAT-PMP question for the external address.
const pcpFallbackTimeout = 2 * time.Second

// PCP returns a Port Control Protocol client (RFC 6887, MAP opcode) for the
// server at addr. An addr without an address means the default gateway,
// looked up at every call; port 0 means 5351.
//
// PCP has no request for the external address alone: Status reports the
// address of the last mapping granted and, before the first one, asks the
// same server over NAT-PMP, which most PCP servers also speak.
func PCP(server netip.AddrPort) Gateway {
	p := &pcp{server: server, sched: pcpSchedule}
	p.fallback = &pmp{server: server, sched: pmpSchedule}
	p.mu.nonces = make(map[pcpKey]pcpNonce)
	return p
}

type pcp struct {
	server   netip.AddrPort
	sched    retransmit
	fallback *pmp // for the external address before the first mapping

	mu struct {
		sync.Mutex
		nonces map[pcpKey]pcpNonce // of our mappings, to renew and delete them
		extIP  netip.Addr          // from the last MAP response
	}
}

type pcpKey struct {
	proto uint8
	port  uint16
}

func (p *pcp) String() string {
	if !p.server.Addr().IsValid() {
		return "PCP(default gateway)"
	}
	return fmt.Sprintf("PCP(%v)", gatewayAddr(p.server, pcpPort))
}

func (p *pcp) addr() (netip.AddrPort, error) {
	if p.server.Addr().IsValid() {
		return gatewayAddr(p.server, pcpPort), nil
	}
	gw, err := defaultGateway()
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(gw, pcpPort), nil
}

// nonce returns the nonce of the mapping k, making one if it has none.
// Section 11.2: renewals repeat the nonce of the mapping.
func (p *pcp) nonce(k pcpKey) pcpNonce {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, ok := p.mu.nonces[k]
	if !ok {
		rand.Read(n[:])
		p.mu.nonces[k] = n
	}
	return n
}

func pcpProto(proto string) uint8 {
	if proto == UDP {
		return ipProtoUDP
	}
	return ipProtoTCP
}

// mapCall sends a MAP request and returns the response that carries its
// nonce, with a non-SUCCESS result turned into a *PCPError.
func (p *pcp) mapCall(ctx context.Context, req pcpMapRequest) (pcpResponse, error) {
	server, err := p.addr()
	if err != nil {
		return pcpResponse{}, err
	}
	var resp pcpResponse
	err = exchange(ctx, "PCP", server, pcpMaxMessage, p.sched,
		func(local netip.AddrPort) []byte {
			req.ClientIP = local.Addr()
			return req.encode()
		},
		func(b []byte) (err error) {
			if resp, err = decodePCPResponse(b, pcpOpMap); err != nil {
				return err
			}
			// Section 11.3: a response with another nonce is not ours.
			if resp.HasMap && resp.Nonce != req.Nonce {
				return errSkip
			}
			return nil
		})
	if err != nil {
		return resp, err
	}
	if resp.Result != PCPSuccess {
		return resp, &PCPError{Op: pcpOpMap, Code: resp.Result, Lifetime: time.Duration(resp.Lifetime) * time.Second}
	}
	if !resp.HasMap {
		return resp, fmt.Errorf("PCP: %w: successful MAP response without MAP data", ErrTruncated)
	}
	return resp, nil
}

// MapPort requests a mapping (RFC 6887 section 11). The server may assign
// another external port or a shorter lifetime; both are reported, with the
// external address of the mapping.
func (p *pcp) MapPort(ctx context.Context, r Request) (Lease, error) {
	r, err := r.check()
	if err != nil {
		return Lease{}, err
	}
	secs := lifetimeSeconds(r.Lifetime)
	if secs == 0 {
		return Lease{}, fmt.Errorf("%w: PCP lifetime below 1 s would delete the mapping", ErrBadRequest)
	}
	key := pcpKey{pcpProto(r.Protocol), r.InternalPort}
	req := pcpMapRequest{
		Lifetime:     secs,
		Nonce:        p.nonce(key),
		Protocol:     key.proto,
		InternalPort: r.InternalPort,
		ExternalPort: r.extPort(),
	}
	resp, err := p.mapCall(ctx, req)
	if err != nil {
		return Lease{}, err
	}
	switch {
	case resp.Protocol != req.Protocol || resp.InternalPort != req.InternalPort:
		return Lease{}, fmt.Errorf("PCP: %w: mapping is for protocol %d port %d, asked %d port %d",
			ErrFieldMismatch, resp.Protocol, resp.InternalPort, req.Protocol, req.InternalPort)
	case resp.ExternalPort == 0:
		return Lease{}, fmt.Errorf("PCP: %w: external port 0 assigned", ErrBadValue)
	case resp.Lifetime == 0:
		return Lease{}, fmt.Errorf("PCP: %w: lifetime 0 granted", ErrBadValue)
	}
	l := Lease{
		Protocol:     r.Protocol,
		InternalPort: r.InternalPort,
		ExternalPort: resp.ExternalPort,
		Lifetime:     time.Duration(resp.Lifetime) * time.Second,
		Epoch:        resp.Epoch,
		HasEpoch:     true,
	}
	if resp.ExternalIP.IsValid() && !resp.ExternalIP.IsUnspecified() {
		l.ExternalIP = resp.ExternalIP
		p.mu.Lock()
		p.mu.extIP = resp.ExternalIP
		p.mu.Unlock()
	}
	return l, nil
}

func (p *pcp) AddMapping(ctx context.Context, protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error) {
	return addMapping(ctx, p, protocol, extport, intport, name, lifetime)
}

// DeleteMapping sends MAP with lifetime 0 and the mapping's nonce (section
// 15). A mapping this client did not make cannot be deleted: the server
// refuses another nonce with NOT_AUTHORIZED.
func (p *pcp) DeleteMapping(ctx context.Context, protocol string, extport, intport int) error {
	r, err := request(protocol, extport, intport, "", 0)
	if err != nil {
		return err
	}
	key := pcpKey{pcpProto(r.Protocol), r.InternalPort}
	req := pcpMapRequest{
		Nonce:        p.nonce(key),
		Protocol:     key.proto,
		InternalPort: r.InternalPort,
		ExternalPort: r.extPort(),
	}
	if _, err := p.mapCall(ctx, req); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.mu.nonces, key)
	p.mu.Unlock()
	return nil
}

// Status sends ANNOUNCE (section 14.1) for the epoch, and returns it with
// the external address of the last mapping, or the one NAT-PMP tells.
func (p *pcp) Status(ctx context.Context) (Status, error) {
	server, err := p.addr()
	if err != nil {
		return Status{}, err
	}
	var resp pcpResponse
	err = exchange(ctx, "PCP", server, pcpMaxMessage, p.sched,
		func(local netip.AddrPort) []byte { return encodePCPAnnounce(local.Addr()) },
		func(b []byte) (err error) {
			resp, err = decodePCPResponse(b, pcpOpAnnounce)
			return err
		})
	if err != nil {
		return Status{}, err
	}
	if resp.Result != PCPSuccess {
		return Status{}, &PCPError{Op: pcpOpAnnounce, Code: resp.Result, Lifetime: time.Duration(resp.Lifetime) * time.Second}
	}
	s := Status{Epoch: resp.Epoch, HasEpoch: true}
	p.mu.Lock()
	s.ExternalIP = p.mu.extIP
	p.mu.Unlock()
	if !s.ExternalIP.IsValid() {
		// The server answered PCP at once; one that also speaks NAT-PMP
		// answers as fast, so a short wait is enough.
		fctx, cancel := context.WithTimeout(ctx, pcpFallbackTimeout)
		if ps, err := p.fallback.Status(fctx); err == nil {
			s.ExternalIP = ps.ExternalIP
		}
		cancel()
	}
	return s, nil
}

func (p *pcp) ExternalIP(ctx context.Context) (netip.Addr, error) { return externalIP(ctx, p) }

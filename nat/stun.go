package nat

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/stun/v3"
)

// DefaultSTUNServers are asked by STUN when no server is given.
var DefaultSTUNServers = []string{
	"stun.l.google.com:19302",
	"stun1.l.google.com:19302",
	"stun.cloudflare.com:3478",
}

const (
	// stunMaxServers is how many servers one Status call tries.
	stunMaxServers = 3
	// stunMaxResponse bounds a Binding response. A success carries a few
	// address attributes, SOFTWARE and FINGERPRINT: far less than the 548
	// bytes RFC 5389 section 7.1 lets a server assume the path carries.
	stunMaxResponse = 1500
)

// stunSchedule is RFC 5389 section 7.2.1's retransmission (RTO 500 ms,
// doubling), cut to three sends per server so that the next server gets a
// turn within a typical call timeout.
var stunSchedule = retransmit{initial: 500 * time.Millisecond, max: 2 * time.Second, tries: 3}

// STUN returns a mechanism that learns the external address from STUN
// servers (RFC 5389 Binding requests), given as "host" or "host:port"
// (port 3478 if none); none given means DefaultSTUNServers. STUN cannot map
// ports: mapping calls report the requested port as forwarded by hand, as
// ExtIP does.
func STUN(servers ...string) (Gateway, error) {
	if len(servers) == 0 {
		servers = DefaultSTUNServers
	}
	s := &stunClient{sched: stunSchedule}
	for _, srv := range servers {
		hp, err := stunHostPort(srv)
		if err != nil {
			return nil, err
		}
		s.servers = append(s.servers, hp)
	}
	return s, nil
}

// stunHostPort checks a server spec and adds the default port.
func stunHostPort(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port; an IPv6 literal may come with or without brackets.
		host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), strconv.Itoa(stun.DefaultPort)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return "", fmt.Errorf("%w: STUN server %q: bad port", ErrBadRequest, s)
	}
	if host == "" || strings.ContainsAny(host, " /[]") {
		return "", fmt.Errorf("%w: STUN server %q: bad host", ErrBadRequest, s)
	}
	return net.JoinHostPort(host, port), nil
}

type stunClient struct {
	servers []string
	sched   retransmit
}

func (s *stunClient) String() string {
	if len(s.servers) == 1 {
		return "STUN(" + s.servers[0] + ")"
	}
	return "STUN"
}

// Status asks up to three of the servers, in random order, until one
// answers.
func (s *stunClient) Status(ctx context.Context) (Status, error) {
	order := rand.Perm(len(s.servers))
	var errs []error
	for _, i := range order[:min(len(order), stunMaxServers)] {
		ip, err := s.query(ctx, s.servers[i])
		if err == nil {
			return Status{ExternalIP: ip}, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return Status{}, errors.Join(errs...)
}

func (s *stunClient) query(ctx context.Context, server string) (netip.Addr, error) {
	host, port, _ := net.SplitHostPort(server)
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("%w: STUN server %s: %w", ErrNoGateway, server, err)
	}
	p, _ := strconv.ParseUint(port, 10, 16)
	addr := netip.AddrPortFrom(ips[0].Unmap(), uint16(p))

	req, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return netip.Addr{}, err
	}
	var ip netip.Addr
	err = exchange(ctx, "STUN", addr, stunMaxResponse, s.sched,
		func(netip.AddrPort) []byte { return req.Raw },
		func(b []byte) (err error) {
			ip, err = parseSTUNResponse(b, req.TransactionID)
			return err
		})
	return ip, err
}

// parseSTUNResponse decodes a Binding response to the transaction id and
// returns the reflexive address it carries (RFC 5389 sections 7.3.3, 15.1,
// 15.2). Responses to other transactions are skipped.
func parseSTUNResponse(b []byte, id [stun.TransactionIDSize]byte) (netip.Addr, error) {
	if len(b) > stunMaxResponse {
		return netip.Addr{}, fmt.Errorf("STUN: %w: %d bytes, limit %d", ErrTooLarge, len(b), stunMaxResponse)
	}
	if !stun.IsMessage(b) {
		return netip.Addr{}, fmt.Errorf("STUN: %w: not a STUN message", ErrBadValue)
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := m.Decode(); err != nil {
		return netip.Addr{}, fmt.Errorf("STUN: %w: %v", ErrBadValue, err)
	}
	if m.TransactionID != id {
		return netip.Addr{}, errSkip
	}
	switch m.Type {
	case stun.BindingSuccess:
	case stun.BindingError:
		var ec stun.ErrorCodeAttribute
		if err := ec.GetFrom(m); err != nil {
			return netip.Addr{}, fmt.Errorf("STUN: %w: error response without a code", ErrBadValue)
		}
		return netip.Addr{}, &STUNError{Code: int(ec.Code), Reason: string(ec.Reason)}
	default:
		return netip.Addr{}, fmt.Errorf("STUN: %w: message type %v", ErrNotResponse, m.Type)
	}
	var ip net.IP
	var xa stun.XORMappedAddress
	if err := xa.GetFrom(m); err == nil {
		ip = xa.IP
	} else {
		// RFC 3489 servers send only MAPPED-ADDRESS.
		var ma stun.MappedAddress
		if err := ma.GetFrom(m); err != nil {
			return netip.Addr{}, fmt.Errorf("STUN: %w: no mapped address in response", ErrBadValue)
		}
		ip = ma.IP
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok || a.Unmap().IsUnspecified() {
		return netip.Addr{}, fmt.Errorf("STUN: %w: mapped address %v", ErrBadValue, ip)
	}
	return a.Unmap(), nil
}

// STUNError is a STUN error response (RFC 5389 section 15.6).
type STUNError struct {
	Code   int
	Reason string
}

func (e *STUNError) Error() string {
	return fmt.Sprintf("nat: STUN binding error %d %q", e.Code, e.Reason)
}

func (s *stunClient) ExternalIP(ctx context.Context) (netip.Addr, error) { return externalIP(ctx, s) }

func (s *stunClient) AddMapping(ctx context.Context, protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error) {
	return addMapping(ctx, s, protocol, extport, intport, name, lifetime)
}

func (s *stunClient) MapPort(_ context.Context, r Request) (Lease, error) {
	return manualLease(r, netip.Addr{})
}

func (s *stunClient) DeleteMapping(_ context.Context, protocol string, extport, intport int) error {
	_, err := request(protocol, extport, intport, "", 0)
	return err
}

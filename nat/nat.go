// Package nat asks the gateway of the local network to make local ports
// reachable from the Internet, and learns the gateway's external address.
//
// Mechanisms: UPnP IGDv1 and IGDv2 (UPnP Forum WANIPConnection:1 and :2,
// WANPPPConnection:1), NAT-PMP (RFC 6886), PCP (RFC 6887, MAP opcode), STUN
// (RFC 5389, external address only) and a fixed external IP. Parse turns a
// command-line spec such as "any", "upnp" or "extip:203.0.113.5" into one of
// them; Map keeps a node's ports mapped and its record up to date.
//
// Discovery traffic: NAT-PMP and PCP are unicast to the default gateway (read
// from /proc/net/route) unless an address is given; UPnP without a
// description URL multicasts an SSDP search on the local network.
package nat

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Interface is a port mapper. Every method may talk to a gateway on the local
// network, so every method takes a context that bounds the exchange.
//
// Every mechanism of this package also implements Gateway, which reports
// what the gateway granted in more detail.
type Interface interface {
	// ExternalIP returns the Internet-facing address of the gateway.
	ExternalIP(ctx context.Context) (netip.Addr, error)

	// AddMapping maps extport on the gateway to intport on this machine for
	// the given lifetime. protocol is "TCP" or "UDP"; name is a label some
	// gateways show to users. The gateway may choose a different external
	// port: the port actually mapped is returned. Mappings must be refreshed
	// before their lifetime ends.
	AddMapping(ctx context.Context, protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error)

	// DeleteMapping removes a mapping made by AddMapping.
	DeleteMapping(ctx context.Context, protocol string, extport, intport int) error

	// String names the mechanism, for logs.
	String() string
}

// Gateway is an Interface that reports everything the gateway said: the
// lifetime it granted (which may be shorter than asked, or permanent) and,
// for NAT-PMP and PCP, its epoch, from which a reboot can be told. Map uses
// it when the Interface it is given has it.
type Gateway interface {
	Interface

	// MapPort is AddMapping with the full answer.
	MapPort(ctx context.Context, r Request) (Lease, error)

	// Status returns the external address and, where the protocol has one,
	// the gateway's epoch. ExternalIP is Status without the epoch.
	Status(ctx context.Context) (Status, error)
}

// Protocol names accepted by AddMapping and Request.
const (
	TCP = "TCP"
	UDP = "UDP"
)

// Request asks for a port mapping.
type Request struct {
	Protocol     string // TCP or UDP (case does not matter)
	InternalPort uint16 // the port on this machine; not 0
	ExternalPort uint16 // the port wanted on the gateway; 0 means InternalPort
	Name         string // label shown by some gateways (UPnP)
	Lifetime     time.Duration
}

// Lease is a mapping the gateway granted.
type Lease struct {
	Protocol     string // TCP or UDP
	InternalPort uint16
	ExternalPort uint16 // may differ from the one requested
	// Lifetime is what the gateway granted, rounded down to seconds. Zero
	// means permanent: a gateway that only supports permanent mappings
	// (UPnP error 725) or a mechanism that does not map (STUN, extip).
	Lifetime time.Duration
	// ExternalIP is the address the mapping lives on, where the protocol
	// says so with the mapping (PCP). Invalid otherwise.
	ExternalIP netip.Addr
	// Epoch is the gateway's epoch time in seconds (RFC 6886 section 3.6,
	// RFC 6887 section 8.5), valid if HasEpoch.
	Epoch    uint32
	HasEpoch bool
}

// Status is what a gateway says about itself.
type Status struct {
	// ExternalIP is invalid if the gateway has not said (PCP before its
	// first mapping, when it does not speak NAT-PMP either).
	ExternalIP netip.Addr
	Epoch      uint32
	HasEpoch   bool
}

// normProtocol returns "TCP" or "UDP" for any capitalisation of them.
func normProtocol(p string) (string, error) {
	switch strings.ToUpper(p) {
	case TCP:
		return TCP, nil
	case UDP:
		return UDP, nil
	}
	return "", fmt.Errorf("%w: protocol %q is neither TCP nor UDP", ErrBadRequest, p)
}

// request checks the arguments of AddMapping and turns them into a Request.
func request(protocol string, extport, intport int, name string, lifetime time.Duration) (Request, error) {
	proto, err := normProtocol(protocol)
	if err != nil {
		return Request{}, err
	}
	if intport <= 0 || intport > 0xffff || extport < 0 || extport > 0xffff {
		return Request{}, fmt.Errorf("%w: ports %d -> %d out of range", ErrBadRequest, extport, intport)
	}
	if lifetime < 0 {
		return Request{}, fmt.Errorf("%w: negative lifetime %v", ErrBadRequest, lifetime)
	}
	return Request{proto, uint16(intport), uint16(extport), name, lifetime}, nil
}

// check validates r and fills in the external port.
func (r Request) check() (Request, error) {
	return request(r.Protocol, int(r.ExternalPort), int(r.InternalPort), r.Name, r.Lifetime)
}

func (r Request) extPort() uint16 {
	if r.ExternalPort == 0 {
		return r.InternalPort
	}
	return r.ExternalPort
}

// lifetimeSeconds converts a lifetime for the wire, where all three
// protocols carry 32-bit seconds.
func lifetimeSeconds(d time.Duration) uint32 {
	s := d / time.Second
	if s > 0xffffffff {
		return 0xffffffff
	}
	return uint32(s)
}

// addMapping implements Interface.AddMapping on top of MapPort.
func addMapping(ctx context.Context, g Gateway, protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error) {
	r, err := request(protocol, extport, intport, name, lifetime)
	if err != nil {
		return 0, err
	}
	l, err := g.MapPort(ctx, r)
	return l.ExternalPort, err
}

// externalIP implements Interface.ExternalIP on top of Status.
func externalIP(ctx context.Context, g Gateway) (netip.Addr, error) {
	s, err := g.Status(ctx)
	if err != nil {
		return netip.Addr{}, err
	}
	if !s.ExternalIP.IsValid() {
		return netip.Addr{}, fmt.Errorf("%w: %s has not told its external address", ErrNoExternalIP, g)
	}
	return s.ExternalIP, nil
}

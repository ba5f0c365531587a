// Package nat describes how the p2p stack asks a gateway to make local ports
// reachable from the Internet and learns the gateway's external address.
//
// This file holds only the contract; the mechanisms (UPnP, NAT-PMP, a fixed
// external IP) implement it elsewhere.
package nat

import (
	"context"
	"net/netip"
	"time"
)

// Interface is a port mapper. Every method may talk to a gateway on the local
// network, so every method takes a context that bounds the exchange.
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

package nat

import (
	"fmt"
	"net/netip"
	"strings"
)

// Parse returns the mechanism a spec names (mechanism names ignore case):
//
//	"", "none", "off"       nil: no NAT handling
//	"any", "auto", "on"     Any: the first of PCP, NAT-PMP, UPnP that answers
//	"upnp"                  UPnP, found with an SSDP search
//	"upnp:<URL>"            UPnP, device description at URL (no multicast)
//	"pmp", "natpmp", "nat-pmp"   NAT-PMP to the default gateway
//	"pmp:<IP>[:port]"       NAT-PMP to that gateway (also natpmp:, nat-pmp:)
//	"pcp", "pcp:<IP>[:port]"     PCP, likewise
//	"stun"                  STUN, DefaultSTUNServers
//	"stun:<host>[:port]"    STUN, that server (port 3478 if none)
//	"extip:<IP>", "ip:<IP>" a fixed external address
//
// IPv6 gateway addresses with a port take brackets: "pcp:[fe80::1%eth0]:5351".
// Every non-nil result also implements Gateway.
func Parse(spec string) (Interface, error) {
	mech, arg, hasArg := strings.Cut(spec, ":")
	bad := func(format string, args ...any) (Interface, error) {
		return nil, fmt.Errorf("%w: NAT spec %q: %s", ErrBadRequest, spec, fmt.Sprintf(format, args...))
	}
	noArg := func(g Gateway) (Interface, error) {
		if hasArg {
			return bad("%s takes no argument", mech)
		}
		return g, nil
	}
	switch strings.ToLower(mech) {
	case "", "none", "off":
		if hasArg {
			return bad("%q takes no argument", mech)
		}
		return nil, nil
	case "any", "auto", "on":
		return noArg(Any())
	case "extip", "ip":
		ip, err := netip.ParseAddr(arg)
		if err != nil || ip.Unmap().IsUnspecified() {
			return bad("need an IP address")
		}
		return ExtIP(ip.Unmap()), nil
	case "upnp":
		if !hasArg {
			return UPnP(), nil
		}
		g, err := UPnPAt(arg)
		if err != nil {
			return nil, err
		}
		return g, nil
	case "pmp", "natpmp", "nat-pmp":
		if !hasArg {
			return PMP(netip.AddrPort{}), nil
		}
		ap, ok := parseGateway(arg)
		if !ok {
			return bad("need a gateway IP address, optionally with a port")
		}
		return PMP(ap), nil
	case "pcp":
		if !hasArg {
			return PCP(netip.AddrPort{}), nil
		}
		ap, ok := parseGateway(arg)
		if !ok {
			return bad("need a gateway IP address, optionally with a port")
		}
		return PCP(ap), nil
	case "stun":
		if !hasArg {
			return STUN()
		}
		g, err := STUN(arg)
		if err != nil {
			return nil, err
		}
		return g, nil
	}
	return bad("unknown mechanism %q", mech)
}

// parseGateway parses "IP" or "IP:port" ("[IPv6]:port").
func parseGateway(s string) (netip.AddrPort, bool) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), 0), !ip.IsUnspecified()
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Addr().IsUnspecified() {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

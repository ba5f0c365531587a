package nat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/huin/goupnp/httpu"
	"github.com/huin/goupnp/ssdp"
)

const (
	// ssdpWait is how long a search waits for answers; SSDP's MX (UPnP
	// Device Architecture 1.1 section 1.3.2) is its whole seconds.
	ssdpWait = 2500 * time.Millisecond
	// ssdpSends is how many times each search is multicast, as UDP drops.
	ssdpSends = 2
	// ssdpMaxDevices bounds the descriptions fetched after one search.
	ssdpMaxDevices = 16
)

// ssdpTargets are the device types searched: any IGD has one of them.
var ssdpTargets = []string{
	"urn:schemas-upnp-org:device:InternetGatewayDevice:2",
	"urn:schemas-upnp-org:device:InternetGatewayDevice:1",
}

// ssdpSearch multicasts SSDP searches for gateways on every IPv4 interface
// that can multicast and returns the description URLs of the devices that
// answer.
func ssdpSearch(ctx context.Context) ([]*url.URL, error) {
	addrs, err := multicastAddrs()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoGateway, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: no interface can multicast", ErrNoGateway)
	}
	ctx, cancel := context.WithTimeout(ctx, ssdpWait)
	defer cancel()

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = make(map[string]bool)
		locs []*url.URL
		errs []error
	)
	// One client set per search: an httpu client runs one request at a time.
	sets := make([][]httpu.ClientInterfaceCtx, len(ssdpTargets))
	for i := range ssdpTargets {
		for _, a := range addrs {
			c, err := httpu.NewHTTPUClientAddr(a)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			defer c.Close()
			sets[i] = append(sets[i], c)
		}
	}
	for i, target := range ssdpTargets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps, err := ssdp.RawSearch(ctx, httpu.NewMultiClientCtx(sets[i]), target, ssdpSends)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				errs = append(errs, err)
			}
			for _, r := range resps {
				loc, err := r.Location()
				if err != nil || (loc.Scheme != "http" && loc.Scheme != "https") || seen[loc.String()] || len(locs) >= ssdpMaxDevices {
					continue
				}
				seen[loc.String()] = true
				locs = append(locs, loc)
			}
		}()
	}
	wg.Wait()
	if len(locs) == 0 {
		if len(errs) > 0 {
			return nil, fmt.Errorf("%w: no UPnP gateway answered the SSDP search: %w", ErrNoGateway, errors.Join(errs...))
		}
		return nil, fmt.Errorf("%w: no UPnP gateway answered the SSDP search", ErrNoGateway)
	}
	return locs, nil
}

// multicastAddrs returns the IPv4 addresses of the interfaces that are up,
// not loopback, and can multicast.
func multicastAddrs() ([]string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 || iface.Flags&net.FlagMulticast == 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				out = append(out, ipn.IP.String())
			}
		}
	}
	return out, nil
}

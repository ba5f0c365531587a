package nat

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"sync"
	"time"
)

const (
	// anyDiscoveryTimeout bounds one round of discovery.
	anyDiscoveryTimeout = 5 * time.Second
	// anyMulticastDelay is the head start of the unicast probes: a gateway
	// that answers PCP or NAT-PMP that fast spares the network the SSDP
	// multicast.
	anyMulticastDelay = 300 * time.Millisecond
)

// Any returns a Gateway that, at its first use, asks the default gateway
// over PCP and NAT-PMP and, after a short head start for those, searches
// for a UPnP gateway with SSDP, all at once; it uses the first mechanism
// that answers. If none answers, or the one found stops answering, the next
// call looks again.
func Any() Gateway {
	return newAny(anyConfig{
		gateway: func() (netip.AddrPort, error) {
			gw, err := defaultGateway()
			return netip.AddrPortFrom(gw, pmpPort), err
		},
		search:         ssdpSearch,
		multicastDelay: anyMulticastDelay,
		timeout:        anyDiscoveryTimeout,
	})
}

// anyConfig says where Any looks; tests point it at loopback fakes.
type anyConfig struct {
	gateway        func() (netip.AddrPort, error) // PCP/NAT-PMP server
	search         func(context.Context) ([]*url.URL, error)
	multicastDelay time.Duration
	timeout        time.Duration
}

func newAny(cfg anyConfig) *autoGateway {
	return &autoGateway{cfg: cfg, finding: make(chan struct{}, 1)}
}

// autoGateway is the Gateway of Any. mu guards the mechanism found; finding
// lets one caller at a time look for it, and guards the candidates.
type autoGateway struct {
	cfg     anyConfig
	finding chan struct{}

	// The candidates are kept from one discovery to the next: the PCP
	// client holds the nonces of its mappings, which the server wants
	// again for renewals, and the UPnP client the gateway's location.
	candGW   netip.AddrPort
	pcp, pmp Gateway
	upnp     *upnp

	mu struct {
		sync.Mutex
		found Gateway
	}
}

func (a *autoGateway) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mu.found != nil {
		return "any(" + a.mu.found.String() + ")"
	}
	return "any"
}

// Found returns the mechanism in use, nil before one answered.
func (a *autoGateway) Found() Gateway {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mu.found
}

func (a *autoGateway) gateway(ctx context.Context) (Gateway, error) {
	if g := a.Found(); g != nil {
		return g, nil
	}
	select {
	case a.finding <- struct{}{}:
		defer func() { <-a.finding }()
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: any: %w", ErrNoResponse, ctx.Err())
	}
	if g := a.Found(); g != nil {
		return g, nil
	}
	g, err := a.discover(ctx)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.mu.found = g
	a.mu.Unlock()
	return g, nil
}

// forget drops the mechanism found after it stopped answering.
func (a *autoGateway) forget(g Gateway, err error) {
	if !errors.Is(err, ErrNoResponse) || errors.Is(err, context.Canceled) {
		return
	}
	a.mu.Lock()
	if a.mu.found == g {
		a.mu.found = nil
	}
	a.mu.Unlock()
}

// discover probes every mechanism at once and returns the first that
// answers. All probes have ended when it returns.
func (a *autoGateway) discover(ctx context.Context) (Gateway, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.timeout)
	defer cancel()

	type result struct {
		g   Gateway
		err error
	}
	var (
		results = make(chan result)
		n       int
		wg      sync.WaitGroup
		probe   = func(g Gateway, delay time.Duration) {
			n++
			wg.Add(1)
			go func() {
				defer wg.Done()
				if delay > 0 {
					t := time.NewTimer(delay)
					defer t.Stop()
					select {
					case <-t.C:
					case <-ctx.Done():
						results <- result{g, fmt.Errorf("%s: %w", g, ctx.Err())}
						return
					}
				}
				_, err := g.Status(ctx)
				results <- result{g, err}
			}()
		}
	)
	defer wg.Wait()
	defer cancel() // runs before wg.Wait: stops the probes still running

	var errs []error
	if gw, err := a.cfg.gateway(); err == nil {
		if a.pcp == nil || gw != a.candGW {
			a.candGW, a.pcp, a.pmp = gw, PCP(gw), PMP(gw)
		}
		probe(a.pcp, 0)
		probe(a.pmp, 0)
	} else {
		errs = append(errs, err)
	}
	if a.upnp == nil {
		a.upnp = newUPnP(nil, a.cfg.search)
	}
	probe(a.upnp, a.cfg.multicastDelay)

	var found Gateway
	for range n {
		r := <-results
		switch {
		case found != nil:
		case r.err == nil:
			found = r.g
			cancel()
		default:
			errs = append(errs, r.err)
		}
	}
	if found != nil {
		return found, nil
	}
	return nil, fmt.Errorf("%w: nothing answered PCP, NAT-PMP or UPnP: %w", ErrNoGateway, errors.Join(errs...))
}

func (a *autoGateway) Status(ctx context.Context) (Status, error) {
	g, err := a.gateway(ctx)
	if err != nil {
		return Status{}, err
	}
	s, err := g.Status(ctx)
	a.forget(g, err)
	return s, err
}

func (a *autoGateway) ExternalIP(ctx context.Context) (netip.Addr, error) { return externalIP(ctx, a) }

func (a *autoGateway) MapPort(ctx context.Context, r Request) (Lease, error) {
	g, err := a.gateway(ctx)
	if err != nil {
		return Lease{}, err
	}
	l, err := g.MapPort(ctx, r)
	a.forget(g, err)
	return l, err
}

func (a *autoGateway) AddMapping(ctx context.Context, protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error) {
	return addMapping(ctx, a, protocol, extport, intport, name, lifetime)
}

func (a *autoGateway) DeleteMapping(ctx context.Context, protocol string, extport, intport int) error {
	g, err := a.gateway(ctx)
	if err != nil {
		return err
	}
	err = g.DeleteMapping(ctx, protocol, extport, intport)
	a.forget(g, err)
	return err
}

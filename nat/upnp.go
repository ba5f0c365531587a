package nat

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/huin/goupnp/soap"
)

// upnpRandomPortTries is how many random external ports an IGDv1 mapping
// tries when the one asked is taken (IGDv2 lets the gateway choose).
const upnpRandomPortTries = 3

// UPnP returns a UPnP IGD client that finds the gateway with an SSDP search
// (a multicast on the local network) at its first use, and again after the
// gateway stops answering.
func UPnP() Gateway {
	return newUPnP(nil, ssdpSearch)
}

// UPnPAt returns a UPnP IGD client for the gateway whose device
// description is at location (for example
// "http://192.168.1.1:5000/rootDesc.xml"). It sends no multicast.
func UPnPAt(location string) (Gateway, error) {
	u, err := url.Parse(location)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: UPnP description URL %q", ErrBadRequest, location)
	}
	return newUPnP(u, nil), nil
}

func newUPnP(loc *url.URL, search func(context.Context) ([]*url.URL, error)) *upnp {
	u := &upnp{location: loc, search: search, hc: newUPnPHTTPClient(), finding: make(chan struct{}, 1)}
	return u
}

// upnp is a UPnP gateway client. Calls may come from several goroutines;
// mu guards the cached device, finding lets one of them look for it.
type upnp struct {
	location *url.URL                                  // nil: search
	search   func(context.Context) ([]*url.URL, error) // SSDP
	hc       *http.Client
	finding  chan struct{}

	mu struct {
		sync.Mutex
		dev           *upnpDevice
		found         *url.URL // description URL of the last device found by search
		permanentOnly bool     // the gateway answered 725 OnlyPermanentLeasesSupported
	}
}

// upnpDevice is the service found, with the address the gateway sees us at.
type upnpDevice struct {
	upnpService
	internalIP netip.Addr
}

func (u *upnp) String() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case u.mu.dev != nil:
		return fmt.Sprintf("UPnP(%s %s)", u.mu.dev.kind, u.mu.dev.control.Host)
	case u.location != nil:
		return "UPnP(" + u.location.String() + ")"
	}
	return "UPnP"
}

// device returns the gateway's service, finding it if need be.
func (u *upnp) device(ctx context.Context) (*upnpDevice, error) {
	u.mu.Lock()
	dev := u.mu.dev
	u.mu.Unlock()
	if dev != nil {
		return dev, nil
	}
	select {
	case u.finding <- struct{}{}:
		defer func() { <-u.finding }()
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: UPnP: %w", ErrNoResponse, ctx.Err())
	}
	u.mu.Lock()
	dev = u.mu.dev // found by another caller meanwhile?
	u.mu.Unlock()
	if dev != nil {
		return dev, nil
	}
	dev, err := u.find(ctx)
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	u.mu.dev = dev
	u.mu.Unlock()
	return dev, nil
}

// forget drops the cached device after a failure that suggests it went
// away, so that the next call looks again.
func (u *upnp) forget(dev *upnpDevice, err error) {
	if !errors.Is(err, ErrNoResponse) {
		return
	}
	u.mu.Lock()
	if u.mu.dev == dev {
		u.mu.dev = nil
	}
	u.mu.Unlock()
}

// find looks for the gateway: at the configured location, or else at the
// location found last (a gateway that restarts keeps it, and asking there
// spares a multicast), or else with an SSDP search.
func (u *upnp) find(ctx context.Context) (*upnpDevice, error) {
	if u.location != nil {
		return u.probe(ctx, u.location)
	}
	u.mu.Lock()
	last := u.mu.found
	u.mu.Unlock()
	var errs []error
	if last != nil {
		dev, err := u.probe(ctx, last)
		if err == nil {
			return dev, nil
		}
		errs = append(errs, err)
	}
	locs, err := u.search(ctx)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	for _, loc := range locs {
		dev, err := u.probe(ctx, loc)
		if err == nil {
			u.mu.Lock()
			u.mu.found = loc
			u.mu.Unlock()
			return dev, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// probe fetches the description at loc and picks its best service. Among
// several, one that says NAT is enabled is preferred; failing that the
// first, as many gateways do not implement GetNATRSIPStatus.
func (u *upnp) probe(ctx context.Context, loc *url.URL) (*upnpDevice, error) {
	root, err := fetchDescription(ctx, u.hc, loc)
	if err != nil {
		return nil, err
	}
	services := upnpServices(root, loc, u.hc)
	if len(services) == 0 {
		return nil, fmt.Errorf("%w: %s has no WANIPConnection or WANPPPConnection service", ErrNoGateway, loc)
	}
	best := services[0]
	if len(services) > 1 {
		for _, s := range services {
			var nat bool
			err := upnpCall(ctx, "GetNATRSIPStatus", func(ctx context.Context) (err error) {
				_, nat, err = s.client.GetNATRSIPStatusCtx(ctx)
				return err
			})
			if err == nil && nat {
				best = s
				break
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: UPnP %s: %w", ErrNoResponse, loc, ctx.Err())
			}
		}
	}
	ip, err := localAddrFor(ctx, best.control)
	if err != nil {
		return nil, err
	}
	return &upnpDevice{upnpService: best, internalIP: ip}, nil
}

// localAddrFor returns the local address that packets to u's host leave
// from: the InternalClient of our mappings. Connecting a UDP socket sends
// nothing.
func localAddrFor(ctx context.Context, u *url.URL) (netip.Addr, error) {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: UPnP gateway %s: %w", ErrNoResponse, u.Host, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

// upnpCall runs one SOAP action and classifies its error.
func upnpCall(ctx context.Context, action string, f func(ctx context.Context) error) error {
	cctx, st := withCallState(ctx)
	err := f(cctx)
	if err == nil {
		return nil
	}
	var fault *soap.SOAPFaultError
	switch {
	case errors.As(err, &fault):
		desc := fault.Detail.UPnPError.ErrorDescription
		if desc == "" {
			desc = fault.FaultString
		}
		return &UPnPError{Action: action, Code: fault.Detail.UPnPError.Errorcode, Description: desc}
	case ctx.Err() != nil:
		return fmt.Errorf("%w: UPnP %s: %w", ErrNoResponse, action, ctx.Err())
	case st.tooLarge:
		return fmt.Errorf("UPnP %s: %w: over %d bytes", action, ErrTooLarge, maxSOAPResponseSize)
	case st.netErr != nil || st.status == 0:
		return fmt.Errorf("%w: UPnP %s: %v", ErrNoResponse, action, err)
	}
	return fmt.Errorf("UPnP %s: %w: HTTP %d: %v", action, ErrMalformedResponse, st.status, err)
}

// Status asks for the external address (GetExternalIPAddress).
func (u *upnp) Status(ctx context.Context) (Status, error) {
	dev, err := u.device(ctx)
	if err != nil {
		return Status{}, err
	}
	var s string
	err = upnpCall(ctx, "GetExternalIPAddress", func(ctx context.Context) (err error) {
		s, err = dev.client.GetExternalIPAddressCtx(ctx)
		return err
	})
	if err != nil {
		u.forget(dev, err)
		return Status{}, err
	}
	if s == "" {
		return Status{}, nil // the gateway has no external address yet
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return Status{}, fmt.Errorf("UPnP GetExternalIPAddress: %w: %q", ErrBadValue, s)
	}
	if ip.Unmap().IsUnspecified() {
		return Status{}, nil
	}
	return Status{ExternalIP: ip.Unmap()}, nil
}

func (u *upnp) ExternalIP(ctx context.Context) (netip.Addr, error) { return externalIP(ctx, u) }

func (u *upnp) AddMapping(ctx context.Context, protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error) {
	return addMapping(ctx, u, protocol, extport, intport, name, lifetime)
}

func (u *upnp) permanentOnly() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.mu.permanentOnly
}

// MapPort adds a port mapping (AddPortMapping). A gateway that only keeps
// permanent mappings (error 725) is asked again with lease 0, and from then
// on always so. When the external port is taken (718, 729), IGDv2 lets the
// gateway pick one (AddAnyPortMapping); on IGDv1 a few random ports are
// tried. A gateway that wants equal ports (724) gets them.
func (u *upnp) MapPort(ctx context.Context, r Request) (Lease, error) {
	r, err := r.check()
	if err != nil {
		return Lease{}, err
	}
	dev, err := u.device(ctx)
	if err != nil {
		return Lease{}, err
	}
	lease := lifetimeSeconds(r.Lifetime)
	if u.permanentOnly() {
		lease = 0
	}
	var add func(ext uint16) error
	add = func(ext uint16) error {
		err := upnpCall(ctx, "AddPortMapping", func(ctx context.Context) error {
			return dev.client.AddPortMappingCtx(ctx, "", ext, r.Protocol, r.InternalPort, dev.internalIP.String(), true, r.Name, lease)
		})
		if upnpCode(err) == UPnPOnlyPermanentLeasesSupported && lease != 0 {
			u.mu.Lock()
			u.mu.permanentOnly = true
			u.mu.Unlock()
			lease = 0
			return add(ext)
		}
		return err
	}
	ext := r.extPort()
	err = add(ext)
	if upnpCode(err) == UPnPSamePortValuesRequired && ext != r.InternalPort {
		ext = r.InternalPort
		err = add(ext)
	}
	if c := upnpCode(err); c == UPnPConflictInMappingEntry || c == UPnPConflictWithOtherMechanisms {
		ext, err = u.otherPort(ctx, dev, r, ext, &lease, add)
	}
	if err != nil {
		u.forget(dev, err)
		return Lease{}, err
	}
	return Lease{
		Protocol:     r.Protocol,
		InternalPort: r.InternalPort,
		ExternalPort: ext,
		Lifetime:     time.Duration(lease) * time.Second,
	}, nil
}

// otherPort maps r on some free external port after ext was taken.
func (u *upnp) otherPort(ctx context.Context, dev *upnpDevice, r Request, ext uint16, lease *uint32, add func(uint16) error) (uint16, error) {
	if anyc, ok := dev.client.(upnpAnyPortClient); ok {
		var port uint16
		err := upnpCall(ctx, "AddAnyPortMapping", func(ctx context.Context) (err error) {
			port, err = anyc.AddAnyPortMappingCtx(ctx, "", ext, r.Protocol, r.InternalPort, dev.internalIP.String(), true, r.Name, *lease)
			return err
		})
		if upnpCode(err) == UPnPOnlyPermanentLeasesSupported && *lease != 0 {
			u.mu.Lock()
			u.mu.permanentOnly = true
			u.mu.Unlock()
			*lease = 0
			err = upnpCall(ctx, "AddAnyPortMapping", func(ctx context.Context) (err error) {
				port, err = anyc.AddAnyPortMappingCtx(ctx, "", ext, r.Protocol, r.InternalPort, dev.internalIP.String(), true, r.Name, 0)
				return err
			})
		}
		switch {
		case err == nil && port != 0:
			return port, nil
		case err == nil:
			return 0, fmt.Errorf("UPnP AddAnyPortMapping: %w: reserved port 0", ErrBadValue)
		case upnpCode(err) != UPnPInvalidAction:
			return 0, err
		}
		// The gateway claims IGDv2 but lacks the action: try as on IGDv1.
	}
	var err error
	for range upnpRandomPortTries {
		p := uint16(1024 + rand.IntN(65536-1024))
		if err = add(p); err == nil {
			return p, nil
		}
		if c := upnpCode(err); c != UPnPConflictInMappingEntry && c != UPnPConflictWithOtherMechanisms {
			return 0, err
		}
	}
	return 0, err
}

// DeleteMapping removes the mapping of extport (DeletePortMapping). A
// mapping that is not there (714) counts as deleted.
func (u *upnp) DeleteMapping(ctx context.Context, protocol string, extport, intport int) error {
	r, err := request(protocol, extport, intport, "", 0)
	if err != nil {
		return err
	}
	dev, err := u.device(ctx)
	if err != nil {
		return err
	}
	err = upnpCall(ctx, "DeletePortMapping", func(ctx context.Context) error {
		return dev.client.DeletePortMappingCtx(ctx, "", r.extPort(), r.Protocol)
	})
	if upnpCode(err) == UPnPNoSuchEntryInArray {
		return nil
	}
	u.forget(dev, err)
	return err
}

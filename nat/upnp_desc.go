package nat

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/huin/goupnp"
	"github.com/huin/goupnp/dcps/internetgateway2"
	"github.com/huin/goupnp/soap"
)

// Size limits of what a UPnP gateway sends. The UPnP specifications set
// none; these are far above what real gateways send (miniupnpd's
// description is 4 KB, SOAP responses are a few hundred bytes).
const (
	maxDescriptionSize  = 512 << 10
	maxSOAPResponseSize = 64 << 10
	maxHTTPHeaderSize   = 16 << 10
)

// newUPnPHTTPClient is the HTTP client for gateways: no proxy (the gateway
// is on the LAN), no connection reuse (gateways handle it badly, and idle
// connections would outlive the caller), bounded headers and bodies.
func newUPnPHTTPClient() *http.Client {
	return &http.Client{
		Transport: &limitTransport{
			base: &http.Transport{
				Proxy:                  nil,
				DialContext:            (&net.Dialer{}).DialContext,
				DisableKeepAlives:      true,
				MaxResponseHeaderBytes: maxHTTPHeaderSize,
				ResponseHeaderTimeout:  10 * time.Second,
			},
			limit: maxSOAPResponseSize,
		},
		// A gateway has no reason to redirect.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// callState records how an HTTP exchange went. goupnp flattens the errors
// of the exchanges it makes into strings; the transport notes what happened
// here, in a value carried by the request's context, so that the error can
// be classified.
type callState struct {
	status   int   // HTTP status, 0 if no response came
	netErr   error // from the transport
	tooLarge bool
}

type callStateKey struct{}

func withCallState(ctx context.Context) (context.Context, *callState) {
	st := new(callState)
	return context.WithValue(ctx, callStateKey{}, st), st
}

// limitTransport cuts response bodies at limit bytes: reading past it fails.
type limitTransport struct {
	base  http.RoundTripper
	limit int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st, _ := req.Context().Value(callStateKey{}).(*callState)
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		if st != nil {
			st.netErr = err
		}
		return nil, err
	}
	if st != nil {
		st.status = resp.StatusCode
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: t.limit, st: st}
	return resp, nil
}

type limitedBody struct {
	io.ReadCloser
	left int64
	st   *callState
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the limit: the body may end right here.
		var one [1]byte
		if n, err := b.ReadCloser.Read(one[:]); n == 0 {
			return 0, err
		}
		if b.st != nil {
			b.st.tooLarge = true
		}
		return 0, ErrTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// fetchDescription downloads and parses the device description at loc.
func fetchDescription(ctx context.Context, hc *http.Client, loc *url.URL) (*goupnp.RootDevice, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: description URL %q: %w", ErrBadRequest, loc, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: UPnP description %s: %w", ErrNoResponse, loc, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("UPnP description %s: %w: HTTP %s", loc, ErrBadValue, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDescriptionSize+1))
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%w: UPnP description %s: %w", ErrNoResponse, loc, ctx.Err())
	case err != nil:
		return nil, fmt.Errorf("%w: UPnP description %s: %w", ErrNoResponse, loc, err)
	case len(body) > maxDescriptionSize:
		return nil, fmt.Errorf("UPnP description %s: %w: over %d bytes", loc, ErrTooLarge, maxDescriptionSize)
	}
	return parseDescription(body, loc)
}

// parseDescription decodes a device description (UPnP Device Architecture
// 1.1 section 2.3) and resolves its URLs against URLBase or loc.
func parseDescription(body []byte, loc *url.URL) (*goupnp.RootDevice, error) {
	root := new(goupnp.RootDevice)
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.DefaultSpace = goupnp.DeviceXMLNamespace
	dec.CharsetReader = asciiCompatible
	if err := dec.Decode(root); err != nil {
		return nil, fmt.Errorf("UPnP description: %w: %v", ErrMalformedResponse, err)
	}
	base := loc
	if root.URLBaseStr != "" {
		u, err := url.Parse(root.URLBaseStr)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("UPnP description: %w: URLBase %q", ErrBadValue, root.URLBaseStr)
		}
		base = u
	}
	root.SetURLBase(base)
	return root, nil
}

// asciiCompatible lets descriptions that declare a Latin charset through:
// every element this package reads is ASCII.
func asciiCompatible(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "us-ascii", "ascii", "iso-8859-1", "latin1", "windows-1252":
		return r, nil
	}
	return nil, fmt.Errorf("unsupported charset %q", charset)
}

// upnpClient is what the goupnp clients of WANIPConnection:1, :2 and
// WANPPPConnection:1 have in common.
type upnpClient interface {
	GetExternalIPAddressCtx(ctx context.Context) (string, error)
	AddPortMappingCtx(ctx context.Context, remoteHost string, extPort uint16, proto string, intPort uint16,
		intClient string, enabled bool, desc string, lease uint32) error
	DeletePortMappingCtx(ctx context.Context, remoteHost string, extPort uint16, proto string) error
	GetNATRSIPStatusCtx(ctx context.Context) (rsip bool, natEnabled bool, err error)
}

// upnpAnyPortClient is WANIPConnection:2's way to let the gateway pick a
// free port (IGD:2 WANIPConnection:2 section 2.5.16).
type upnpAnyPortClient interface {
	AddAnyPortMappingCtx(ctx context.Context, remoteHost string, extPort uint16, proto string, intPort uint16,
		intClient string, enabled bool, desc string, lease uint32) (uint16, error)
}

// upnpService is one port mapping service of a gateway.
type upnpService struct {
	kind    string // e.g. "IGDv2-IP2"
	control *url.URL
	client  upnpClient
}

// upnpServices returns the port mapping services of a device, best first:
// WANIPConnection:2 (lease durations, AddAnyPortMapping), then
// WANIPConnection:1, then WANPPPConnection:1.
func upnpServices(root *goupnp.RootDevice, loc *url.URL, hc *http.Client) []upnpService {
	igd := "IGDv1"
	if strings.HasSuffix(root.Device.DeviceType, ":2") {
		igd = "IGDv2"
	}
	var out []upnpService
	for _, t := range []struct {
		urn, kind string
		make      func(goupnp.ServiceClient) upnpClient
	}{
		{internetgateway2.URN_WANIPConnection_2, "IP2", func(sc goupnp.ServiceClient) upnpClient {
			return &internetgateway2.WANIPConnection2{ServiceClient: sc}
		}},
		{internetgateway2.URN_WANIPConnection_1, "IP1", func(sc goupnp.ServiceClient) upnpClient {
			return &internetgateway2.WANIPConnection1{ServiceClient: sc}
		}},
		{internetgateway2.URN_WANPPPConnection_1, "PPP1", func(sc goupnp.ServiceClient) upnpClient {
			return &internetgateway2.WANPPPConnection1{ServiceClient: sc}
		}},
	} {
		for _, srv := range root.Device.FindService(t.urn) {
			if !srv.ControlURL.Ok {
				continue
			}
			control := srv.ControlURL.URL
			if control.Scheme != "http" && control.Scheme != "https" {
				continue
			}
			sc := goupnp.ServiceClient{
				SOAPClient: &soap.SOAPClient{EndpointURL: control, HTTPClient: *hc},
				RootDevice: root,
				Location:   loc,
				Service:    srv,
			}
			out = append(out, upnpService{kind: igd + "-" + t.kind, control: &control, client: t.make(sc)})
		}
	}
	return out
}

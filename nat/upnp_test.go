package nat

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/huin/goupnp/dcps/internetgateway2"
)

const (
	igd1 = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
	igd2 = "urn:schemas-upnp-org:device:InternetGatewayDevice:2"
	ip1  = internetgateway2.URN_WANIPConnection_1
	ip2  = internetgateway2.URN_WANIPConnection_2
	ppp1 = internetgateway2.URN_WANPPPConnection_1
)

func testUPnP(t *testing.T, f *fakeIGD) *upnp {
	t.Helper()
	g, err := UPnPAt(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	return g.(*upnp)
}

func TestUPnPServiceChoice(t *testing.T) {
	for _, tc := range []struct {
		device   string
		services []string
		disabled string
		want     string
	}{
		{igd2, []string{ip1, ip2}, "", "IGDv2-IP2"},
		{igd1, []string{ip1}, "", "IGDv1-IP1"},
		{igd1, []string{ppp1}, "", "IGDv1-PPP1"},
		{igd2, []string{ip1, ppp1}, "", "IGDv2-IP1"},
		{igd2, []string{ip1, ppp1}, ip1, "IGDv2-PPP1"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			f := newFakeIGD(t, tc.device, tc.services...)
			f.natDisabled[tc.disabled] = true
			u := testUPnP(t, f)
			ctx := ctxTimeout(t, 5*time.Second)
			if ip, err := u.ExternalIP(ctx); err != nil || ip.String() != "203.0.113.9" {
				t.Fatalf("ExternalIP: %v %v", ip, err)
			}
			if u.mu.dev.kind != tc.want {
				t.Fatalf("chose %s", u.mu.dev.kind)
			}
			if p, err := u.AddMapping(ctx, "udp", 0, 30303, "test", time.Hour); err != nil || p != 30303 {
				t.Fatalf("AddMapping: %d %v", p, err)
			}
		})
	}
}

func TestUPnPMapping(t *testing.T) {
	f := newFakeIGD(t, igd2, ip2)
	u := testUPnP(t, f)
	ctx := ctxTimeout(t, 5*time.Second)

	l, err := u.MapPort(ctx, Request{Protocol: "tcp", InternalPort: 30303, Name: "trellis", Lifetime: 20 * time.Minute})
	want := Lease{Protocol: TCP, InternalPort: 30303, ExternalPort: 30303, Lifetime: 20 * time.Minute}
	if err != nil || l != want {
		t.Fatalf("MapPort: %+v %v", l, err)
	}
	m, ok := f.mapping(TCP, 30303)
	if !ok || m.intPort != 30303 || m.client != "127.0.0.1" || m.lease != 1200 || m.desc != "trellis" {
		t.Fatalf("gateway holds %+v %v", m, ok)
	}
	if err := u.DeleteMapping(ctx, TCP, 30303, 30303); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.mapping(TCP, 30303); ok {
		t.Fatal("not deleted")
	}
	// Deleting what is not there (714) is no error.
	if err := u.DeleteMapping(ctx, TCP, 30303, 30303); err != nil {
		t.Fatal("second delete:", err)
	}
}

// Error 725: the mapping is made permanent, and later requests ask for a
// permanent one straight away.
func TestUPnPPermanentOnly(t *testing.T) {
	f := newFakeIGD(t, igd2, ip2)
	f.permanentOnly = true
	u := testUPnP(t, f)
	ctx := ctxTimeout(t, 5*time.Second)
	for range 2 {
		l, err := u.MapPort(ctx, Request{Protocol: UDP, InternalPort: 30303, Lifetime: time.Hour})
		if err != nil || l.Lifetime != 0 || l.ExternalPort != 30303 {
			t.Fatalf("MapPort: %+v %v", l, err)
		}
	}
	if m, ok := f.mapping(UDP, 30303); !ok || m.lease != 0 {
		t.Fatalf("gateway holds %+v", m)
	}
	adds := 0
	for _, c := range f.callLog() {
		if c == "AddPortMapping" {
			adds++
		}
	}
	if adds != 3 {
		t.Fatalf("%d AddPortMapping calls, want 3 (refused, permanent, renewal): %v", adds, f.callLog())
	}
}

// Error 718: IGDv2 lets the gateway choose; IGDv1 tries random ports.
func TestUPnPConflict(t *testing.T) {
	for _, tc := range []struct {
		name     string
		device   string
		service  string
		noAny    bool
		wantNext bool // the gateway picked the next port
	}{
		{"IGDv2", igd2, ip2, false, true},
		{"IGDv2 without AddAnyPortMapping", igd2, ip2, true, false},
		{"IGDv1", igd1, ip1, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIGD(t, tc.device, tc.service)
			f.taken[30303] = true
			f.noAnyPort = tc.noAny
			u := testUPnP(t, f)
			l, err := u.MapPort(ctxTimeout(t, 5*time.Second), Request{Protocol: TCP, InternalPort: 30303, Lifetime: time.Hour})
			if err != nil || l.ExternalPort == 30303 || l.ExternalPort < 1024 {
				t.Fatalf("MapPort: %+v %v", l, err)
			}
			if tc.wantNext && l.ExternalPort != 30304 {
				t.Fatalf("got port %d, want the gateway's choice 30304", l.ExternalPort)
			}
			if m, ok := f.mapping(TCP, l.ExternalPort); !ok || m.intPort != 30303 {
				t.Fatalf("gateway holds %+v %v", m, ok)
			}
		})
	}
}

func TestUPnPErrors(t *testing.T) {
	req := Request{Protocol: TCP, InternalPort: 30303, Lifetime: time.Hour}
	for _, tc := range []struct {
		name  string
		setup func(f *fakeIGD)
		call  func(ctx context.Context, u *upnp) error
		check func(t *testing.T, err error)
	}{
		{
			"SOAP fault",
			func(f *fakeIGD) { f.fault["AddPortMapping"] = UPnPActionNotAuthorized },
			func(ctx context.Context, u *upnp) error { _, err := u.MapPort(ctx, req); return err },
			func(t *testing.T, err error) {
				var ue *UPnPError
				if !errors.As(err, &ue) || ue.Code != 606 || ue.Action != "AddPortMapping" {
					t.Fatalf("got %v", err)
				}
			},
		},
		{
			"no port maps available",
			func(f *fakeIGD) { f.fault["AddPortMapping"] = UPnPNoPortMapsAvailable },
			func(ctx context.Context, u *upnp) error { _, err := u.MapPort(ctx, req); return err },
			func(t *testing.T, err error) {
				if upnpCode(err) != 728 {
					t.Fatalf("got %v", err)
				}
			},
		},
		{
			"garbage response",
			func(f *fakeIGD) { f.raw["GetExternalIPAddress"] = "<html>router login</html>" },
			func(ctx context.Context, u *upnp) error { _, err := u.ExternalIP(ctx); return err },
			wantErr(ErrMalformedResponse),
		},
		{
			"invalid address",
			func(f *fakeIGD) { f.extIP = "not-an-ip" },
			func(ctx context.Context, u *upnp) error { _, err := u.ExternalIP(ctx); return err },
			wantErr(ErrBadValue),
		},
		{
			"no address yet",
			func(f *fakeIGD) { f.extIP = "" },
			func(ctx context.Context, u *upnp) error { _, err := u.ExternalIP(ctx); return err },
			wantErr(ErrNoExternalIP),
		},
		{
			"invalid reserved port",
			func(f *fakeIGD) {
				f.taken[30303] = true
				f.raw["AddAnyPortMapping"] = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` +
					`<u:AddAnyPortMappingResponse xmlns:u="x"><NewReservedPort>99999</NewReservedPort>` +
					`</u:AddAnyPortMappingResponse></s:Body></s:Envelope>`
			},
			func(ctx context.Context, u *upnp) error { _, err := u.MapPort(ctx, req); return err },
			wantErr(ErrMalformedResponse),
		},
		{
			"endless response",
			func(f *fakeIGD) { f.huge = true },
			func(ctx context.Context, u *upnp) error { _, err := u.MapPort(ctx, req); return err },
			wantErr(ErrTooLarge),
		},
		{
			"no answer",
			func(f *fakeIGD) { f.hang = true },
			func(ctx context.Context, u *upnp) error {
				ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				defer cancel()
				_, err := u.MapPort(ctx, req)
				return err
			},
			func(t *testing.T, err error) {
				if !errors.Is(err, ErrNoResponse) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("got %v", err)
				}
			},
		},
		{
			"description not XML",
			func(f *fakeIGD) { f.description = "{}" },
			func(ctx context.Context, u *upnp) error { _, err := u.ExternalIP(ctx); return err },
			wantErr(ErrMalformedResponse),
		},
		{
			"no WAN service",
			func(f *fakeIGD) { f.services = nil },
			func(ctx context.Context, u *upnp) error { _, err := u.ExternalIP(ctx); return err },
			wantErr(ErrNoGateway),
		},
		{
			"bad URLBase",
			func(f *fakeIGD) {
				f.description = `<root xmlns="urn:schemas-upnp-org:device-1-0"><URLBase>file:///etc</URLBase><device/></root>`
			},
			func(ctx context.Context, u *upnp) error { _, err := u.ExternalIP(ctx); return err },
			wantErr(ErrBadValue),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIGD(t, igd2, ip2)
			tc.setup(f)
			u := testUPnP(t, f)
			tc.check(t, tc.call(ctxTimeout(t, 5*time.Second), u))
		})
	}
}

func wantErr(want error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("got %v, want %v", err, want)
		}
	}
}

// A gateway that stops answering is looked up again on the next call.
func TestUPnPGatewayGone(t *testing.T) {
	f := newFakeIGD(t, igd2, ip2)
	u := testUPnP(t, f)
	ctx := ctxTimeout(t, 5*time.Second)
	if _, err := u.ExternalIP(ctx); err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	if _, err := u.ExternalIP(ctx); !errors.Is(err, ErrNoResponse) {
		t.Fatalf("gateway down: %v", err)
	}
	if u.mu.dev != nil {
		t.Fatal("device still cached")
	}
	if _, err := u.ExternalIP(ctx); !errors.Is(err, ErrNoResponse) {
		t.Fatalf("description unreachable: %v", err)
	}
}

func TestUPnPAtBadURL(t *testing.T) {
	for _, s := range []string{"", "192.168.1.1", "ftp://x/y", "http://", "::"} {
		if _, err := UPnPAt(s); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

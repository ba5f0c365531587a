package nat

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testAny points Any at loopback fakes: gw for PCP and NAT-PMP, igd (may
// be nil) for what the SSDP search would find.
func testAny(gw netip.AddrPort, igd *fakeIGD, searches *atomic.Int32) *autoGateway {
	return newAny(anyConfig{
		gateway: func() (netip.AddrPort, error) {
			if !gw.IsValid() {
				return gw, ErrNoGateway
			}
			return gw, nil
		},
		search: func(ctx context.Context) ([]*url.URL, error) {
			searches.Add(1)
			if igd == nil {
				return nil, ErrNoGateway
			}
			u, _ := url.Parse(igd.URL)
			return []*url.URL{u}, nil
		},
		multicastDelay: 100 * time.Millisecond,
		timeout:        2 * time.Second,
	})
}

func closedUDPPort(t *testing.T) netip.AddrPort {
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.LocalAddr().(*net.UDPAddr).AddrPort()
}

// The gateway answers PCP and NAT-PMP at once: no multicast is sent.
func TestAnyUnicastFirst(t *testing.T) {
	srv := newFakePortmapper(t)
	var searches atomic.Int32
	a := testAny(srv.Addr, newFakeIGD(t, igd2, ip2), &searches)
	ctx := ctxTimeout(t, 5*time.Second)
	ip, err := a.ExternalIP(ctx)
	if err != nil || ip != srv.extIP {
		t.Fatalf("ExternalIP: %v %v", ip, err)
	}
	if s := a.String(); !strings.HasPrefix(s, "any(PCP(") && !strings.HasPrefix(s, "any(NAT-PMP(") {
		t.Fatalf("found %s", s)
	}
	if n := searches.Load(); n != 0 {
		t.Fatalf("%d SSDP searches", n)
	}
	if p, err := a.AddMapping(ctx, TCP, 0, 30303, "", time.Hour); err != nil || p != 30303 {
		t.Fatalf("AddMapping: %d %v", p, err)
	}
	if err := a.DeleteMapping(ctx, TCP, 30303, 30303); err != nil {
		t.Fatal(err)
	}
}

func TestAnyNATPMPOnly(t *testing.T) {
	srv := newFakePortmapper(t)
	srv.set(func(f *fakePortmapper) { f.speakPCP = false })
	var searches atomic.Int32
	a := testAny(srv.Addr, nil, &searches)
	if _, err := a.Status(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if s := a.String(); !strings.HasPrefix(s, "any(NAT-PMP(") {
		t.Fatalf("found %s", s)
	}
}

// Nothing answers on the gateway's port: UPnP is found.
func TestAnyFallsBackToUPnP(t *testing.T) {
	var searches atomic.Int32
	igd := newFakeIGD(t, igd1, ip1)
	a := testAny(closedUDPPort(t), igd, &searches)
	ctx := ctxTimeout(t, 5*time.Second)
	if p, err := a.AddMapping(ctx, UDP, 0, 30303, "", time.Hour); err != nil || p != 30303 {
		t.Fatalf("AddMapping: %d %v", p, err)
	}
	if s := a.String(); !strings.HasPrefix(s, "any(UPnP(IGDv1-IP1") {
		t.Fatalf("found %s", s)
	}
	if _, ok := igd.mapping(UDP, 30303); !ok {
		t.Fatal("no mapping on the IGD")
	}
}

func TestAnyNothing(t *testing.T) {
	var searches atomic.Int32
	a := testAny(netip.AddrPort{}, nil, &searches)
	_, err := a.ExternalIP(ctxTimeout(t, 5*time.Second))
	if !errors.Is(err, ErrNoGateway) {
		t.Fatalf("got %v", err)
	}
	// The next call looks again.
	a.ExternalIP(ctxTimeout(t, 5*time.Second))
	if n := searches.Load(); n != 2 {
		t.Fatalf("%d searches", n)
	}
}

// A gateway that stops answering is forgotten, and found again later; the
// PCP client found again still renews its mappings (same nonces).
func TestAnyGatewayGone(t *testing.T) {
	srv := newFakePortmapper(t)
	srv.set(func(f *fakePortmapper) { f.speakPMP = false })
	var searches atomic.Int32
	a := testAny(srv.Addr, nil, &searches)
	req := Request{Protocol: TCP, InternalPort: 30303, Lifetime: time.Hour}
	if _, err := a.MapPort(ctxTimeout(t, 5*time.Second), req); err != nil {
		t.Fatal(err)
	}
	if s := a.String(); !strings.HasPrefix(s, "any(PCP(") {
		t.Fatalf("found %s", s)
	}
	srv.set(func(f *fakePortmapper) { f.silent = true })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := a.Status(ctx); !errors.Is(err, ErrNoResponse) {
		t.Fatalf("silent: %v", err)
	}
	if a.Found() != nil {
		t.Fatal("still using the silent gateway")
	}
	srv.set(func(f *fakePortmapper) { f.silent = false })
	if _, err := a.MapPort(ctxTimeout(t, 5*time.Second), req); err != nil {
		t.Fatal("renewal after rediscovery:", err)
	}
}

package nat

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func testPCP(srv *fakePortmapper) *pcp {
	p := PCP(srv.Addr).(*pcp)
	p.sched = fastSchedule
	p.fallback.sched = fastSchedule
	return p
}

func TestPCPClient(t *testing.T) {
	srv := newFakePortmapper(t)
	c := testPCP(srv)
	ctx := ctxTimeout(t, 5*time.Second)

	// Before any mapping the address comes over NAT-PMP.
	s, err := c.Status(ctx)
	if err != nil || s.ExternalIP != srv.extIP || !s.HasEpoch {
		t.Fatalf("Status: %+v %v", s, err)
	}

	l, err := c.MapPort(ctx, Request{Protocol: TCP, InternalPort: 30303, Lifetime: 20 * time.Minute})
	want := Lease{Protocol: TCP, InternalPort: 30303, ExternalPort: 30303, Lifetime: 20 * time.Minute,
		ExternalIP: srv.extIP, Epoch: l.Epoch, HasEpoch: true}
	if err != nil || l != want {
		t.Fatalf("MapPort: %+v %v", l, err)
	}
	m, ok := srv.mapping(ipProtoTCP, 30303)
	if !ok {
		t.Fatal("no mapping on the server")
	}
	// The request carried our source address (RFC 6887 section 8.1).
	srv.set(func(f *fakePortmapper) {
		if ips := f.pcpClientIPs; ips[len(ips)-1] != netip.MustParseAddr("127.0.0.1") {
			t.Fatalf("client IPs %v", ips)
		}
	})

	// A renewal repeats the nonce (section 11.2), or the server would
	// refuse it.
	if _, err := c.MapPort(ctx, Request{Protocol: TCP, InternalPort: 30303, Lifetime: 20 * time.Minute}); err != nil {
		t.Fatal("renewal:", err)
	}
	if m2, _ := srv.mapping(ipProtoTCP, 30303); m2.nonce != m.nonce {
		t.Fatal("nonce changed")
	}

	// Without NAT-PMP, the address is the one of the last mapping.
	srv.set(func(f *fakePortmapper) { f.speakPMP = false })
	if ip, err := c.ExternalIP(ctx); err != nil || ip != srv.extIP {
		t.Fatalf("ExternalIP: %v %v", ip, err)
	}

	// Another port when the asked one is taken; a shorter lifetime.
	srv.set(func(f *fakePortmapper) { f.taken[30304] = true; f.maxLifetime = 100 })
	l, err = c.MapPort(ctx, Request{Protocol: UDP, InternalPort: 30304, Lifetime: time.Hour})
	if err != nil || l.ExternalPort != 30305 || l.Lifetime != 100*time.Second {
		t.Fatalf("taken port: %+v %v", l, err)
	}

	if err := c.DeleteMapping(ctx, UDP, 30305, 30304); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.mapping(ipProtoUDP, 30304); ok {
		t.Fatal("mapping not deleted")
	}
}

func TestPCPExternalIPUnknown(t *testing.T) {
	srv := newFakePortmapper(t)
	srv.set(func(f *fakePortmapper) { f.speakPMP = false })
	c := testPCP(srv)
	s, err := c.Status(ctxTimeout(t, 5*time.Second))
	if err != nil || s.ExternalIP.IsValid() || !s.HasEpoch {
		t.Fatalf("Status: %+v %v", s, err)
	}
	if _, err := c.ExternalIP(ctxTimeout(t, 5*time.Second)); !errors.Is(err, ErrNoExternalIP) {
		t.Fatalf("ExternalIP: %v", err)
	}
}

func TestPCPRefusals(t *testing.T) {
	srv := newFakePortmapper(t)
	c := testPCP(srv)
	ctx := ctxTimeout(t, 5*time.Second)
	req := Request{Protocol: TCP, InternalPort: 30303, Lifetime: time.Hour}

	srv.set(func(f *fakePortmapper) { f.pcpResult = PCPNoResources })
	var pe *PCPError
	if _, err := c.MapPort(ctx, req); !errors.As(err, &pe) || pe.Code != PCPNoResources || pe.Lifetime != 30*time.Second {
		t.Fatalf("NO_RESOURCES: %v", err)
	}

	// Someone else's mapping: another nonce is NOT_AUTHORIZED.
	srv.set(func(f *fakePortmapper) {
		f.pcpResult = 0
		f.maps[pcpKey{ipProtoTCP, 30303}] = &fakeMapping{ext: 30303, nonce: pcpNonce{9}, lifetime: 100}
	})
	if _, err := c.MapPort(ctx, req); !errors.As(err, &pe) || pe.Code != PCPNotAuthorized {
		t.Fatalf("foreign mapping: %v", err)
	}

	// A NAT-PMP-only gateway.
	srv.set(func(f *fakePortmapper) { f.speakPCP = false })
	var ve *VersionError
	if _, err := c.MapPort(ctx, req); !errors.As(err, &ve) || ve.Got != pmpVersion {
		t.Fatalf("NAT-PMP-only server: %v", err)
	}
}

func TestPCPBadResponses(t *testing.T) {
	srv := newFakePortmapper(t)
	c := testPCP(srv)
	ctx := ctxTimeout(t, 5*time.Second)
	req := Request{Protocol: TCP, InternalPort: 30303, Lifetime: time.Hour}
	echo := func(mod func(r *pcpResponse)) func([]byte) []byte {
		return func(b []byte) []byte {
			mr, _ := decodePCPMapRequest(b)
			r := pcpResponse{Op: pcpOpMap, Lifetime: 60, HasMap: true, Nonce: mr.Nonce, Protocol: mr.Protocol,
				InternalPort: mr.InternalPort, ExternalPort: 1000, ExternalIP: netip.MustParseAddr("203.0.113.1")}
			mod(&r)
			return encodePCPResponse(r)
		}
	}
	for _, tc := range []struct {
		name  string
		reply func([]byte) []byte
		want  error
	}{
		{"garbage", func([]byte) []byte { return []byte("\x02\x81garbage!") }, ErrTruncated},
		{"one zero byte", func([]byte) []byte { return []byte{0} }, &VersionError{}},
		{"odd length", func([]byte) []byte { return append([]byte{2, 0x81}, make([]byte, 25)...) }, ErrBadLength},
		{"request echoed", func(b []byte) []byte { return b }, ErrNotResponse},
		{"other protocol", echo(func(r *pcpResponse) { r.Protocol = ipProtoUDP }), ErrFieldMismatch},
		{"other port", echo(func(r *pcpResponse) { r.InternalPort++ }), ErrFieldMismatch},
		{"external port 0", echo(func(r *pcpResponse) { r.ExternalPort = 0 }), ErrBadValue},
		{"lifetime 0", echo(func(r *pcpResponse) { r.Lifetime = 0 }), ErrBadValue},
		{"success without MAP data", echo(func(r *pcpResponse) { r.HasMap = false }), ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.set(func(f *fakePortmapper) { f.reply = tc.reply })
			_, err := c.MapPort(ctx, req)
			var ve *VersionError
			if errors.As(tc.want, &ve) {
				if !errors.As(err, &ve) {
					t.Fatalf("got %v, want VersionError", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// Responses for another nonce are not ours: the client keeps waiting.
func TestPCPOtherNonce(t *testing.T) {
	srv := newFakePortmapper(t)
	srv.set(func(f *fakePortmapper) {
		f.reply = func(b []byte) []byte {
			mr, _ := decodePCPMapRequest(b)
			return encodePCPResponse(pcpResponse{Op: pcpOpMap, Lifetime: 60, HasMap: true, Nonce: pcpNonce{0xff},
				Protocol: mr.Protocol, InternalPort: mr.InternalPort, ExternalPort: 1})
		}
	})
	c := testPCP(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	c.sched = pcpSchedule
	_, err := c.MapPort(ctx, Request{Protocol: TCP, InternalPort: 1, Lifetime: time.Hour})
	if !errors.Is(err, ErrNoResponse) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

// A PCP reply from another address is dropped, as a NAT-PMP one is; the
// gateway's own is taken.
func TestPCPWrongSource(t *testing.T) {
	srv := newFakePortmapper(t)
	srv.set(func(f *fakePortmapper) { f.spoofFirst = true })
	c := testPCP(srv)
	l, err := c.MapPort(ctxTimeout(t, 5*time.Second), Request{Protocol: UDP, InternalPort: 30303, ExternalPort: 30303, Lifetime: time.Hour})
	if err != nil || l.ExternalPort != 30303 || l.ExternalIP != srv.extIP {
		t.Fatalf("got %+v %v, want port 30303 at %v", l, err, srv.extIP)
	}
}

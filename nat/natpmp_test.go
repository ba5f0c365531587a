package nat

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// fastSchedule keeps the unanswered-request tests short.
var fastSchedule = retransmit{initial: 20 * time.Millisecond, max: 40 * time.Millisecond, tries: 3}

func testPMP(srv *fakePortmapper) *pmp {
	return &pmp{server: srv.Addr, sched: fastSchedule}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestPMPClient(t *testing.T) {
	srv := newFakePortmapper(t)
	c := testPMP(srv)
	ctx := ctxTimeout(t, 5*time.Second)

	s, err := c.Status(ctx)
	if err != nil || s.ExternalIP != srv.extIP || !s.HasEpoch || s.Epoch < 1000 {
		t.Fatalf("Status: %+v %v", s, err)
	}
	ip, err := c.ExternalIP(ctx)
	if err != nil || ip != srv.extIP {
		t.Fatalf("ExternalIP: %v %v", ip, err)
	}

	l, err := c.MapPort(ctx, Request{Protocol: "tcp", InternalPort: 30303, Lifetime: 20 * time.Minute})
	want := Lease{Protocol: TCP, InternalPort: 30303, ExternalPort: 30303, Lifetime: 20 * time.Minute, Epoch: l.Epoch, HasEpoch: true}
	if err != nil || l != want {
		t.Fatalf("MapPort: %+v %v", l, err)
	}
	if m, ok := srv.mapping(ipProtoTCP, 30303); !ok || m.ext != 30303 || m.lifetime != 1200 {
		t.Fatalf("server holds %+v %v", m, ok)
	}

	// The gateway picks another port when the one asked is taken, and may
	// grant less time than asked: both are reported.
	srv.set(func(f *fakePortmapper) { f.taken[30304] = true; f.maxLifetime = 600 })
	p, err := c.AddMapping(ctx, "UDP", 30304, 30304, "x", time.Hour)
	if err != nil || p != 30305 {
		t.Fatalf("AddMapping on a taken port: %d %v", p, err)
	}
	l, err = c.MapPort(ctx, Request{Protocol: UDP, InternalPort: 30304, ExternalPort: 30305, Lifetime: time.Hour})
	if err != nil || l.ExternalPort != 30305 || l.Lifetime != 10*time.Minute {
		t.Fatalf("renewal: %+v %v", l, err)
	}

	if err := c.DeleteMapping(ctx, UDP, 30305, 30304); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.mapping(ipProtoUDP, 30304); ok {
		t.Fatal("mapping not deleted")
	}
}

func TestPMPBadRequests(t *testing.T) {
	c := &pmp{server: netip.MustParseAddrPort("127.0.0.1:9"), sched: fastSchedule}
	ctx := ctxTimeout(t, time.Second)
	for _, r := range []Request{
		{Protocol: "SCTP", InternalPort: 1, Lifetime: time.Hour},
		{Protocol: TCP, InternalPort: 0, Lifetime: time.Hour},
		{Protocol: TCP, InternalPort: 1, Lifetime: 0},
		{Protocol: TCP, InternalPort: 1, Lifetime: -time.Second},
	} {
		if _, err := c.MapPort(ctx, r); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%+v: %v", r, err)
		}
	}
	if _, err := c.AddMapping(ctx, TCP, 70000, 1, "", time.Hour); !errors.Is(err, ErrBadRequest) {
		t.Errorf("port 70000: %v", err)
	}
}

// Result codes become *PMPError; a PCP-only server a *VersionError.
func TestPMPRefusals(t *testing.T) {
	srv := newFakePortmapper(t)
	c := testPMP(srv)
	ctx := ctxTimeout(t, 5*time.Second)

	srv.set(func(f *fakePortmapper) { f.pmpResult = PMPNotAuthorized })
	_, err := c.MapPort(ctx, Request{Protocol: TCP, InternalPort: 1, Lifetime: time.Hour})
	var pe *PMPError
	if !errors.As(err, &pe) || pe.Code != PMPNotAuthorized || pe.Op != pmpOpMapTCP {
		t.Fatalf("refused mapping: %v", err)
	}
	srv.set(func(f *fakePortmapper) { f.pmpResult = PMPNetworkFailure })
	if _, err := c.ExternalIP(ctx); !errors.As(err, &pe) || pe.Code != PMPNetworkFailure {
		t.Fatalf("no external address: %v", err)
	}

	srv.set(func(f *fakePortmapper) { f.pmpResult = 0; f.speakPMP = false })
	var ve *VersionError
	if _, err := c.Status(ctx); !errors.As(err, &ve) || ve.Got != pcpVersion {
		t.Fatalf("PCP-only server: %v", err)
	}

	// A gateway with no external address says 0.0.0.0.
	srv.set(func(f *fakePortmapper) { f.speakPMP = true; f.extIP = netip.IPv4Unspecified() })
	if _, err := c.ExternalIP(ctx); !errors.Is(err, ErrNoExternalIP) {
		t.Fatalf("0.0.0.0: %v", err)
	}
}

func TestPMPBadResponses(t *testing.T) {
	srv := newFakePortmapper(t)
	c := testPMP(srv)
	ctx := ctxTimeout(t, 5*time.Second)
	mapReq := Request{Protocol: TCP, InternalPort: 30303, Lifetime: time.Hour}
	for _, tc := range []struct {
		name  string
		reply func(req []byte) []byte
		want  error
	}{
		{"garbage", func([]byte) []byte { return []byte("\x00\x02garbage") }, ErrNotResponse},
		{"not NAT-PMP at all", func([]byte) []byte { return []byte("HTTP/1.1 400 Bad Request\r\n\r\n") }, &VersionError{}},
		{"truncated", func([]byte) []byte { return []byte{0, 130, 0, 0, 0, 0, 0, 1, 0x76} }, ErrTruncated},
		{"other internal port", func([]byte) []byte {
			return encodePMPResponse(pmpResponse{Op: pmpOpMapTCP, InternalPort: 1, ExternalPort: 2, Lifetime: 3})
		}, ErrFieldMismatch},
		{"external port 0", func([]byte) []byte {
			return encodePMPResponse(pmpResponse{Op: pmpOpMapTCP, InternalPort: 30303, Lifetime: 3})
		}, ErrBadValue},
		{"lifetime 0", func([]byte) []byte {
			return encodePMPResponse(pmpResponse{Op: pmpOpMapTCP, InternalPort: 30303, ExternalPort: 1})
		}, ErrBadValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.set(func(f *fakePortmapper) { f.reply = tc.reply })
			_, err := c.MapPort(ctx, mapReq)
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

func TestPMPNoResponse(t *testing.T) {
	srv := newFakePortmapper(t)
	srv.set(func(f *fakePortmapper) { f.silent = true })
	c := testPMP(srv)

	// The schedule runs out.
	start := time.Now()
	_, err := c.Status(context.Background())
	if !errors.Is(err, ErrNoResponse) {
		t.Fatalf("silent gateway: %v", err)
	}
	srv.set(func(f *fakePortmapper) {
		if f.requests != 3 {
			t.Errorf("%d requests sent, want 3", f.requests)
		}
	})
	// Or the context ends first.
	c.sched = pmpSchedule
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = c.Status(ctx)
	if !errors.Is(err, ErrNoResponse) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}

	// Nothing listening: the ICMP error ends the wait at once.
	l, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	closed := l.LocalAddr().(*net.UDPAddr).AddrPort()
	l.Close()
	c = &pmp{server: closed, sched: pmpSchedule}
	start = time.Now()
	if _, err := c.Status(ctxTimeout(t, 10*time.Second)); !errors.Is(err, ErrNoResponse) {
		t.Fatalf("closed port: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("closed port took %v", d)
	}
}

// A reply from another address is dropped; the gateway's own is taken.
func TestPMPWrongSource(t *testing.T) {
	srv := newFakePortmapper(t)
	srv.set(func(f *fakePortmapper) { f.spoofFirst = true })
	c := testPMP(srv)
	ip, err := c.ExternalIP(ctxTimeout(t, 5*time.Second))
	if err != nil || ip != srv.extIP {
		t.Fatalf("got %v %v, want %v", ip, err, srv.extIP)
	}
}

package nat_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/nat"
	"github.com/trellis-p2p/trellis/nat/nattest"
)

var (
	extIP  = netip.MustParseAddr("203.0.113.5")
	extIP2 = netip.MustParseAddr("198.51.100.77")
	quiet  = slog.New(slog.NewTextHandler(io.Discard, nil))
)

func newLocalNode(t *testing.T) *enode.LocalNode {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return enode.NewLocalNode(nil, key)
}

// startMapper maps 30303/tcp and 30301/udp; the mapper is closed when the
// test ends.
func startMapper(t *testing.T, n nat.Interface, ln *enode.LocalNode, mod func(*nat.MapConfig)) *nat.Mapper {
	t.Helper()
	cfg := nat.MapConfig{TCP: 30303, UDP: 30301, Logger: quiet}
	if mod != nil {
		mod(&cfg)
	}
	m, err := nat.Map(n, ln, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// wantRecord checks the local node's endpoint.
func wantRecord(t *testing.T, ln *enode.LocalNode, ip netip.Addr, tcp, udp int) {
	t.Helper()
	n := ln.Node()
	if n.IPAddr() != ip || n.TCP() != tcp || n.UDP() != udp {
		t.Fatalf("record has %v tcp %d udp %d, want %v tcp %d udp %d", n.IPAddr(), n.TCP(), n.UDP(), ip, tcp, udp)
	}
}

func wantMappings(t *testing.T, gw *nattest.Gateway, want map[nattest.Key]uint16) {
	t.Helper()
	got := gw.Mappings()
	if len(got) != len(want) {
		t.Fatalf("gateway holds %v, want %v", got, want)
	}
	for k, ext := range want {
		if got[k].ExternalPort != ext {
			t.Fatalf("gateway holds %v, want %v", got, want)
		}
	}
}

// mapCalls returns the times of the MapPort calls for proto.
func mapCalls(gw *nattest.Gateway, proto string) (at []time.Duration, ext []uint16, start time.Time) {
	for _, c := range gw.Calls() {
		if start.IsZero() {
			start = c.At
		}
		if c.Op == "MapPort" && c.Protocol == proto {
			at = append(at, c.At.Sub(start))
			ext = append(ext, c.External)
		}
	}
	return at, ext, start
}

var both = map[nattest.Key]uint16{{Protocol: "TCP", Port: 30303}: 30303, {Protocol: "UDP", Port: 30301}: 30301}

func TestMapperLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := nattest.New(extIP)
		ln := newLocalNode(t)
		m := startMapper(t, gw, ln, nil)
		synctest.Wait()

		wantMappings(t, gw, both)
		wantRecord(t, ln, extIP, 30303, 30301)
		st, _ := m.Status()
		if st.ExternalIP != extIP || len(st.Mappings) != 2 || !st.Mappings[0].Mapped() || !st.Mappings[1].Mapped() {
			t.Fatalf("status %+v", st)
		}
		if l := st.Mappings[0].Lifetime; l != nat.DefaultLifetime {
			t.Fatalf("lifetime %v", l)
		}

		// Renewed at half the lifetime: the mappings never lapse.
		time.Sleep(45 * time.Minute)
		synctest.Wait()
		wantMappings(t, gw, both)
		at, _, _ := mapCalls(gw, "TCP")
		want := []time.Duration{0, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute, 40 * time.Minute}
		if !equalDurations(at, want) {
			t.Fatalf("TCP requests at %v, want %v", at, want)
		}

		m.Close()
		wantMappings(t, gw, nil)
		m.Close() // idempotent
		st, _ = m.Status()
		if st.Mappings[0].Mapped() || st.Mappings[1].Mapped() {
			t.Fatalf("status after Close %+v", st)
		}
	})
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A gateway granting less time than asked gets renewals at half of it.
func TestMapperShortLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := nattest.New(extIP)
		gw.SetMaxLifetime(2 * time.Minute)
		startMapper(t, gw, nil, nil)
		time.Sleep(3*time.Minute + time.Second)
		synctest.Wait()
		at, _, _ := mapCalls(gw, "UDP")
		want := []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute}
		if !equalDurations(at, want) {
			t.Fatalf("UDP requests at %v, want %v", at, want)
		}
		wantMappings(t, gw, both)
	})
}

// A permanent mapping is asked again at half the configured lifetime.
func TestMapperPermanentLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := nattest.New(extIP)
		gw.SetPermanentOnly(true)
		m := startMapper(t, gw, nil, nil)
		synctest.Wait()
		st, _ := m.Status()
		if ms := st.Mappings[0]; !ms.Mapped() || ms.Lifetime != 0 || !ms.Expires.IsZero() {
			t.Fatalf("status %+v", ms)
		}
		time.Sleep(25 * time.Minute)
		synctest.Wait()
		at, _, _ := mapCalls(gw, "TCP")
		if want := []time.Duration{0, 10 * time.Minute, 20 * time.Minute}; !equalDurations(at, want) {
			t.Fatalf("TCP requests at %v, want %v", at, want)
		}
	})
}

// The port granted is accepted, published, and asked for on renewal.
func TestMapperOtherPort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := nattest.New(extIP)
		gw.Take("TCP", 30303)
		ln := newLocalNode(t)
		startMapper(t, gw, ln, nil)
		synctest.Wait()
		wantRecord(t, ln, extIP, 30304, 30301)
		time.Sleep(11 * time.Minute)
		synctest.Wait()
		_, ext, _ := mapCalls(gw, "TCP")
		if len(ext) != 2 || ext[0] != 30303 || ext[1] != 30304 {
			t.Fatalf("TCP requests asked for %v", ext)
		}
	})
}

// A gateway reboot shows in the epoch at the next status check, well
// before the renewal, and the mappings are made again at once.
func TestMapperGatewayReboot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := nattest.New(extIP)
		m := startMapper(t, gw, nil, nil)
		synctest.Wait()
		time.Sleep(3 * time.Minute)
		gw.Reboot()
		wantMappings(t, gw, nil)

		time.Sleep(time.Minute + time.Second) // status checks every 2 min
		synctest.Wait()
		wantMappings(t, gw, both)
		st, _ := m.Status()
		if st.Reboots != 1 {
			t.Fatalf("reboots %d", st.Reboots)
		}
		at, _, _ := mapCalls(gw, "TCP")
		if want := []time.Duration{0, 4 * time.Minute}; !equalDurations(at, want) {
			t.Fatalf("TCP requests at %v, want %v", at, want)
		}
	})
}

// Slow answers are no reboots: epochs are compared with the time they
// arrived, not with when the round of requests began.
func TestMapperSlowGateway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := nattest.New(extIP)
		gw.SetDelay(4 * time.Second)
		m := startMapper(t, gw, nil, nil)
		time.Sleep(time.Hour)
		synctest.Wait()
		st, _ := m.Status()
		if st.Reboots != 0 {
			t.Fatalf("%d reboots detected", st.Reboots)
		}
		wantMappings(t, gw, both)
	})
}

// Without an epoch (UPnP) a lost mapping comes back at the next renewal.
func TestMapperLostWithoutEpoch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := nattest.New(extIP)
		gw.SetNoEpoch(true)
		startMapper(t, gw, nil, func(c *nat.MapConfig) { c.Lifetime = 6 * time.Second })
		synctest.Wait()
		gw.Reboot()
		wantMappings(t, gw, nil)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		wantMappings(t, gw, both)
	})
}

func TestMapperExternalIPChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := nattest.New(extIP)
		ln := newLocalNode(t)
		m := startMapper(t, gw, ln, nil)
		synctest.Wait()
		_, changed := m.Status()
		gw.SetExternalIP(extIP2)
		time.Sleep(2*time.Minute + time.Second)
		synctest.Wait()
		select {
		case <-changed:
		default:
			t.Fatal("status change not signalled")
		}
		wantRecord(t, ln, extIP2, 30303, 30301)
		at, _, _ := mapCalls(gw, "TCP")
		if want := []time.Duration{0, 2 * time.Minute}; !equalDurations(at, want) {
			t.Fatalf("TCP requests at %v, want %v (mapped anew on the new address)", at, want)
		}
	})
}

// Failures are retried with backoff; the record is not touched before the
// external address is known.
func TestMapperFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := nattest.New(extIP)
		down := errors.New("gateway down")
		gw.SetError(down)
		ln := newLocalNode(t)
		before := ln.Node()
		m := startMapper(t, gw, ln, nil)
		synctest.Wait()
		st, _ := m.Status()
		if !errors.Is(st.StatusErr, down) || !errors.Is(st.Mappings[0].Err, down) || st.Mappings[0].Mapped() {
			t.Fatalf("status %+v", st)
		}
		if n := ln.Node(); n.Seq() != before.Seq() || n.TCP() != 0 {
			t.Fatalf("record changed: %v", n)
		}

		time.Sleep(5 * time.Minute)
		synctest.Wait()
		at, _, _ := mapCalls(gw, "TCP")
		// 20 min / 16 = 75 s, capped to 30 s, then doubling.
		want := []time.Duration{0, 30 * time.Second, 90 * time.Second, 210 * time.Second}
		if !equalDurations(at, want) {
			t.Fatalf("TCP requests at %v, want %v", at, want)
		}

		gw.SetError(nil)
		time.Sleep(4 * time.Minute)
		synctest.Wait()
		wantMappings(t, gw, both)
		wantRecord(t, ln, extIP, 30303, 30301)
	})
}

// An Interface without the Gateway methods works too.
func TestMapperPlainInterface(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := nattest.New(extIP)
		ln := newLocalNode(t)
		startMapper(t, plain{gw}, ln, nil)
		synctest.Wait()
		wantMappings(t, gw, both)
		wantRecord(t, ln, extIP, 30303, 30301)
	})
}

type plain struct{ g *nattest.Gateway }

func (p plain) String() string { return "plain" }
func (p plain) ExternalIP(ctx context.Context) (netip.Addr, error) {
	return p.g.ExternalIP(ctx)
}
func (p plain) AddMapping(ctx context.Context, proto string, ext, in int, name string, life time.Duration) (uint16, error) {
	return p.g.AddMapping(ctx, proto, ext, in, name, life)
}
func (p plain) DeleteMapping(ctx context.Context, proto string, ext, in int) error {
	return p.g.DeleteMapping(ctx, proto, ext, in)
}

// Close does not wait for a gateway that does not answer longer than the
// call timeout.
func TestMapperCloseHanging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := nattest.New(extIP)
		m := startMapper(t, gw, nil, nil)
		synctest.Wait()
		gw.SetBlock(true)
		time.Sleep(10 * time.Minute) // a renewal is in flight
		start := time.Now()
		m.Close()
		if d := time.Since(start); d > 2*nat.DefaultCallTimeout {
			t.Fatalf("Close took %v", d)
		}
	})
}

// ExtIP publishes the address and the local ports as they are.
func TestMapperExtIP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newLocalNode(t)
		startMapper(t, nat.ExtIP(extIP), ln, nil)
		synctest.Wait()
		wantRecord(t, ln, extIP, 30303, 30301)
	})
}

func TestMapBadConfig(t *testing.T) {
	for _, cfg := range []nat.MapConfig{
		{TCP: -1}, {UDP: 70000}, {Lifetime: time.Second}, {Lifetime: -1}, {CallTimeout: -1},
	} {
		if _, err := nat.Map(nat.ExtIP(extIP), nil, cfg); !errors.Is(err, nat.ErrBadRequest) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	if _, err := nat.Map(nil, nil, nat.MapConfig{}); !errors.Is(err, nat.ErrBadRequest) {
		t.Errorf("nil Interface: %v", err)
	}
}

// Lifetime is what is asked of the gateway (zero: DefaultLifetime); one
// below MinLifetime is refused.
func TestMapLifetime(t *testing.T) {
	lifetimes := func(cfg nat.MapConfig) time.Duration {
		t.Helper()
		gw := nattest.New(extIP)
		cfg.TCP, cfg.Logger = 30303, quiet
		m, err := nat.Map(gw, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		for {
			st, changed := m.Status()
			if st.Mappings[0].Mapped() {
				return st.Mappings[0].Lifetime
			}
			<-changed
		}
	}
	if l := lifetimes(nat.MapConfig{}); l != nat.DefaultLifetime {
		t.Errorf("zero Lifetime: granted %v, want %v", l, nat.DefaultLifetime)
	}
	if l := lifetimes(nat.MapConfig{Lifetime: 6 * time.Second}); l != 6*time.Second {
		t.Errorf("Lifetime 6s: granted %v", l)
	}
	if _, err := nat.Map(nattest.New(extIP), nil, nat.MapConfig{TCP: 30303, Lifetime: time.Second, Logger: quiet}); !errors.Is(err, nat.ErrBadRequest) {
		t.Errorf("Lifetime 1s: %v", err)
	}
}

// The mapper's info lines name the mechanism that did the work ("via"),
// which for Any is known only once a gateway answered.
func TestMapperLogsMechanism(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(&lockedWriter{&mu, &buf}, nil))
	m, err := nat.Map(nattest.New(extIP), nil, nat.MapConfig{TCP: 30303, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	for {
		st, changed := m.Status()
		if st.Mappings[0].Mapped() {
			break
		}
		<-changed
	}
	m.Close()
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), `"msg":"Mapped port"`) || !strings.Contains(buf.String(), `"via":"nattest"`) {
		t.Fatalf("no Mapped port line naming the mechanism:\n%s", buf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

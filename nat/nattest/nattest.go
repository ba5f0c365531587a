// Package nattest provides an in-memory gateway for tests of code that maps
// ports with package nat.
package nattest

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/trellis-p2p/trellis/nat"
)

// Key names a mapping: protocol ("TCP"/"UDP") and internal port.
type Key struct {
	Protocol string
	Port     uint16
}

// Mapping is a mapping the gateway holds.
type Mapping struct {
	ExternalPort uint16
	Lifetime     time.Duration // 0: permanent
	Expires      time.Time     // zero if permanent
}

// Call is one request the gateway received.
type Call struct {
	Op       string // "Status", "MapPort", "DeleteMapping"
	Protocol string
	Internal uint16
	External uint16
	Lifetime time.Duration
	At       time.Time
}

// Gateway is an in-memory nat.Gateway that behaves like a NAT-PMP/PCP
// router: it reports an epoch, keeps mappings for their lifetime, grants
// another port when the one asked is taken, and loses everything on
// Reboot. Its clock is time.Now, so it follows a testing/synctest bubble.
// It is safe for concurrent use.
type Gateway struct {
	mu            sync.Mutex
	extIP         netip.Addr
	boot          time.Time
	noEpoch       bool
	maps          map[Key]Mapping
	taken         map[Key]bool // external ports held by other hosts
	maxLifetime   time.Duration
	permanentOnly bool
	err           error
	block         bool
	delay         time.Duration
	calls         []Call
}

// New returns a gateway with external address ext.
func New(ext netip.Addr) *Gateway {
	return &Gateway{
		extIP: ext,
		boot:  time.Now().Add(-time.Hour),
		maps:  make(map[Key]Mapping),
		taken: make(map[Key]bool),
	}
}

var _ nat.Gateway = (*Gateway)(nil)

func (g *Gateway) String() string { return "nattest" }

// SetExternalIP changes the external address.
func (g *Gateway) SetExternalIP(ip netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.extIP = ip
}

// SetError makes every call fail with err (nil: succeed again).
func (g *Gateway) SetError(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.err = err
}

// SetBlock makes every call wait for its context to end.
func (g *Gateway) SetBlock(block bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.block = block
}

// SetDelay makes every call take d (or until its context ends).
func (g *Gateway) SetDelay(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.delay = d
}

// SetNoEpoch makes the gateway report no epoch, as UPnP does.
func (g *Gateway) SetNoEpoch(noEpoch bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.noEpoch = noEpoch
}

// SetMaxLifetime caps the lifetimes granted (0: no cap).
func (g *Gateway) SetMaxLifetime(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.maxLifetime = d
}

// SetPermanentOnly makes the gateway grant permanent mappings only.
func (g *Gateway) SetPermanentOnly(p bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.permanentOnly = p
}

// Take marks an external port as held by another host.
func (g *Gateway) Take(protocol string, extport uint16) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.taken[Key{strings.ToUpper(protocol), extport}] = true
}

// Reboot forgets every mapping and restarts the epoch.
func (g *Gateway) Reboot() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.maps = make(map[Key]Mapping)
	g.boot = time.Now()
}

// Mappings returns the mappings in force now.
func (g *Gateway) Mappings() map[Key]Mapping {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expireLocked(time.Now())
	return maps.Clone(g.maps)
}

// Calls returns the requests received so far.
func (g *Gateway) Calls() []Call {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Call(nil), g.calls...)
}

func (g *Gateway) expireLocked(now time.Time) {
	for k, m := range g.maps {
		if !m.Expires.IsZero() && !now.Before(m.Expires) {
			delete(g.maps, k)
		}
	}
}

// begin logs a call and applies the failure settings. It returns with g.mu
// held if err is nil.
func (g *Gateway) begin(ctx context.Context, c Call) error {
	g.mu.Lock()
	if d := g.delay; d > 0 {
		g.mu.Unlock()
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: nattest: %w", nat.ErrNoResponse, ctx.Err())
		}
		g.mu.Lock()
	}
	c.At = time.Now()
	g.calls = append(g.calls, c)
	block, err := g.block, g.err
	if block {
		g.mu.Unlock()
		<-ctx.Done()
		return fmt.Errorf("%w: nattest: %w", nat.ErrNoResponse, ctx.Err())
	}
	if err != nil {
		g.mu.Unlock()
		return err
	}
	return nil
}

func (g *Gateway) epochLocked() (uint32, bool) {
	return uint32(time.Since(g.boot) / time.Second), !g.noEpoch
}

// Status implements nat.Gateway.
func (g *Gateway) Status(ctx context.Context) (nat.Status, error) {
	if err := g.begin(ctx, Call{Op: "Status"}); err != nil {
		return nat.Status{}, err
	}
	defer g.mu.Unlock()
	s := nat.Status{ExternalIP: g.extIP}
	s.Epoch, s.HasEpoch = g.epochLocked()
	return s, nil
}

// ExternalIP implements nat.Interface.
func (g *Gateway) ExternalIP(ctx context.Context) (netip.Addr, error) {
	s, err := g.Status(ctx)
	return s.ExternalIP, err
}

// MapPort implements nat.Gateway.
func (g *Gateway) MapPort(ctx context.Context, r nat.Request) (nat.Lease, error) {
	proto := strings.ToUpper(r.Protocol)
	if proto != nat.TCP && proto != nat.UDP || r.InternalPort == 0 {
		return nat.Lease{}, fmt.Errorf("%w: nattest: %+v", nat.ErrBadRequest, r)
	}
	if err := g.begin(ctx, Call{Op: "MapPort", Protocol: proto, Internal: r.InternalPort, External: r.ExternalPort, Lifetime: r.Lifetime}); err != nil {
		return nat.Lease{}, err
	}
	defer g.mu.Unlock()
	now := time.Now()
	g.expireLocked(now)
	k := Key{proto, r.InternalPort}
	m, ok := g.maps[k]
	if !ok {
		want := r.ExternalPort
		if want == 0 {
			want = r.InternalPort
		}
		for g.inUseLocked(proto, want) {
			want++
		}
		m.ExternalPort = want
	}
	m.Lifetime = r.Lifetime
	if g.maxLifetime != 0 && m.Lifetime > g.maxLifetime {
		m.Lifetime = g.maxLifetime
	}
	if g.permanentOnly {
		m.Lifetime = 0
	}
	m.Expires = time.Time{}
	if m.Lifetime > 0 {
		m.Expires = now.Add(m.Lifetime)
	}
	g.maps[k] = m
	l := nat.Lease{Protocol: proto, InternalPort: r.InternalPort, ExternalPort: m.ExternalPort, Lifetime: m.Lifetime}
	l.Epoch, l.HasEpoch = g.epochLocked()
	return l, nil
}

func (g *Gateway) inUseLocked(proto string, port uint16) bool {
	if g.taken[Key{proto, port}] {
		return true
	}
	for k, m := range g.maps {
		if k.Protocol == proto && m.ExternalPort == port {
			return true
		}
	}
	return false
}

// AddMapping implements nat.Interface.
func (g *Gateway) AddMapping(ctx context.Context, protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error) {
	l, err := g.MapPort(ctx, nat.Request{Protocol: protocol, InternalPort: uint16(intport), ExternalPort: uint16(extport), Name: name, Lifetime: lifetime})
	return l.ExternalPort, err
}

// DeleteMapping implements nat.Interface.
func (g *Gateway) DeleteMapping(ctx context.Context, protocol string, extport, intport int) error {
	proto := strings.ToUpper(protocol)
	if err := g.begin(ctx, Call{Op: "DeleteMapping", Protocol: proto, Internal: uint16(intport), External: uint16(extport)}); err != nil {
		return err
	}
	defer g.mu.Unlock()
	delete(g.maps, Key{proto, uint16(intport)})
	return nil
}

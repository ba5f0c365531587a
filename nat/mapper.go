package nat

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// Mapper defaults.
const (
	// DefaultLifetime is the lifetime asked for each mapping; mappings are
	// renewed at half of what the gateway granted.
	DefaultLifetime = 20 * time.Minute
	// MinLifetime is the shortest lifetime Map accepts: renewals every
	// second, for tests against real routers.
	MinLifetime = 2 * time.Second
	// DefaultCallTimeout bounds one request to the gateway.
	DefaultCallTimeout = 10 * time.Second
	// DefaultName labels the mappings on gateways that show one.
	DefaultName = "trellis p2p"

	// statusInterval is the longest time between two looks at the external
	// address, which also carry the NAT-PMP/PCP epoch that tells a reboot.
	statusInterval = 2 * time.Minute
	// minRenewal keeps a gateway granting tiny lifetimes from making the
	// mapper spin.
	minRenewal = time.Second
	// maxRetryStart is the longest first wait after a failed request.
	maxRetryStart = 30 * time.Second
)

// MapConfig says what Map keeps mapped.
type MapConfig struct {
	// TCP and UDP are the local ports to map: the p2p listener and the
	// discovery socket. 0 maps nothing for that protocol.
	TCP, UDP int
	// Name labels the mappings. Empty means DefaultName.
	Name string
	// Lifetime is asked for each mapping; it is renewed at half of it.
	// Zero means DefaultLifetime; anything else must be at least
	// MinLifetime.
	Lifetime time.Duration
	// CallTimeout bounds each request to the gateway. Zero means
	// DefaultCallTimeout.
	CallTimeout time.Duration
	// Logger receives the mapper's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// Mapper keeps ports mapped on a gateway and a local node's record in step
// with what the gateway granted. Map starts it; Close deletes the mappings
// and stops it.
//
// All mapping state is owned by the loop goroutine; Status reads a copy
// the loop publishes under status.mu.
type Mapper struct {
	nat   Interface
	gw    Gateway // nat as a Gateway, nil if it is not one
	ln    *enode.LocalNode
	cfg   MapConfig
	log   *slog.Logger
	close context.CancelFunc
	done  chan struct{}

	// Owned by loop.
	maps       []*portMapping
	extIP      netip.Addr
	nextStatus time.Time
	epoch      epochTracker
	reboots    int

	status struct {
		sync.Mutex
		cur     MapperStatus
		changed chan struct{} // closed at the next change of cur
	}
}

// portMapping is the state of one mapped port.
type portMapping struct {
	proto    string
	intPort  uint16
	wantExt  uint16 // asked next: the internal port, then what was granted
	lease    Lease
	granted  bool      // lease holds (or held, if expires passed) a mapping
	grantAt  time.Time // when the gateway last granted it
	expires  time.Time // of the lease; zero if permanent
	next     time.Time // of the next request
	failures int
	err      error // of the last request
}

// MapperStatus is a snapshot of a Mapper's state.
type MapperStatus struct {
	Mechanism  string
	ExternalIP netip.Addr // invalid until the gateway told it
	Mappings   []MappingStatus
	// Reboots counts the gateway reboots detected from the NAT-PMP/PCP
	// epoch (RFC 6887 section 8.5), each followed by mapping anew.
	Reboots int
	// StatusErr is the error of the last look at the external address.
	StatusErr error
}

// MappingStatus is the state of one mapping.
type MappingStatus struct {
	Protocol     string
	InternalPort uint16
	ExternalPort uint16        // 0 until granted
	Lifetime     time.Duration // granted; 0 means permanent
	Granted      time.Time     // when the gateway last granted it
	Expires      time.Time     // zero if permanent or not granted
	Renew        time.Time     // when the next request is due
	Err          error         // of the last request, nil if it succeeded
}

// Mapped reports whether the gateway holds the mapping according to its
// last answer.
func (s MappingStatus) Mapped() bool { return s.ExternalPort != 0 && s.Err == nil }

// Map starts keeping the ports of cfg mapped on n, and ln's record showing
// the external address and the mapped ports: it sets the static IP, the tcp
// entry and the fallback UDP port of ln. The record is only touched once
// the external address is known, so that it never pairs a LAN address with
// an external port, and again after every exchange with the gateway, so
// that a component that publishes its local port later (the p2p server's
// tcp entry, discovery's fallback UDP port) is corrected. ln may be nil.
//
// Mappings are renewed at half their granted lifetime (a permanent one at
// half of cfg.Lifetime, which restores it if the gateway lost it), retried
// with backoff after failures, and made anew at once when the external
// address changes or the gateway's epoch shows it rebooted. The external
// port the gateway grants is accepted and asked for again on renewal.
func Map(n Interface, ln *enode.LocalNode, cfg MapConfig) (*Mapper, error) {
	if n == nil {
		return nil, fmt.Errorf("%w: nil Interface", ErrBadRequest)
	}
	if cfg.TCP < 0 || cfg.TCP > 0xffff || cfg.UDP < 0 || cfg.UDP > 0xffff {
		return nil, fmt.Errorf("%w: ports %d/tcp %d/udp out of range", ErrBadRequest, cfg.TCP, cfg.UDP)
	}
	if cfg.Lifetime < 0 || cfg.CallTimeout < 0 {
		return nil, fmt.Errorf("%w: negative durations in MapConfig", ErrBadRequest)
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.Lifetime < MinLifetime {
		return nil, fmt.Errorf("%w: lifetime %v below %v", ErrBadRequest, cfg.Lifetime, MinLifetime)
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Mapper{nat: n, ln: ln, cfg: cfg, log: cfg.Logger.With("nat", n.String()), done: make(chan struct{})}
	m.gw, _ = n.(Gateway)
	now := time.Now()
	for _, p := range []struct {
		proto string
		port  int
	}{{TCP, cfg.TCP}, {UDP, cfg.UDP}} {
		if p.port != 0 {
			m.maps = append(m.maps, &portMapping{proto: p.proto, intPort: uint16(p.port), wantExt: uint16(p.port), next: now})
		}
	}
	m.nextStatus = now
	m.status.changed = make(chan struct{})
	m.publishStatus(nil)
	ctx, cancel := context.WithCancel(context.Background())
	m.close = cancel
	go m.loop(ctx)
	return m, nil
}

// Close deletes the mappings made (each request bounded by CallTimeout)
// and stops the mapper. The local record keeps its last content. Close may
// be called more than once.
func (m *Mapper) Close() {
	m.close()
	<-m.done
}

// Status returns the current state, and a channel closed when it next
// changes.
func (m *Mapper) Status() (MapperStatus, <-chan struct{}) {
	m.status.Lock()
	defer m.status.Unlock()
	st := m.status.cur
	st.Mappings = append([]MappingStatus(nil), st.Mappings...)
	return st, m.status.changed
}

func (m *Mapper) loop(ctx context.Context) {
	defer close(m.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			m.deleteAll()
			return
		case <-timer.C:
		}
		statusErr := m.tick(ctx, time.Now())
		m.publishStatus(statusErr)
		timer.Reset(time.Until(m.nextWake()))
	}
}

// tick does what is due at now: the status check, then the mappings due.
func (m *Mapper) tick(ctx context.Context, now time.Time) (statusErr error) {
	if !now.Before(m.nextStatus) {
		m.nextStatus = now.Add(min(statusInterval, m.cfg.Lifetime/2))
		statusErr = m.checkStatus(ctx)
	}
	for _, pm := range m.maps {
		if ctx.Err() != nil {
			return statusErr
		}
		if !now.Before(pm.next) {
			m.request(ctx, pm)
		}
	}
	m.publishRecord()
	return statusErr
}

func (m *Mapper) nextWake() time.Time {
	next := m.nextStatus
	for _, pm := range m.maps {
		if pm.next.Before(next) {
			next = pm.next
		}
	}
	return next
}

// checkStatus asks for the external address (and the epoch). Like request,
// it takes the time after the exchange: epochs are compared with the
// client's clock at their arrival, and a call may take seconds.
func (m *Mapper) checkStatus(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	defer cancel()
	var s Status
	var err error
	if m.gw != nil {
		s, err = m.gw.Status(cctx)
	} else {
		s.ExternalIP, err = m.nat.ExternalIP(cctx)
	}
	if err != nil {
		if ctx.Err() == nil {
			m.log.Debug("Couldn't get external IP", "err", err)
		}
		return err
	}
	now := time.Now()
	if s.HasEpoch {
		m.observeEpoch(s.Epoch, now)
	}
	m.observeIP(s.ExternalIP, now)
	return nil
}

// observeEpoch checks a gateway epoch and maps everything anew if the
// gateway lost its state.
func (m *Mapper) observeEpoch(epoch uint32, now time.Time) {
	if !m.epoch.observe(epoch, now) {
		return
	}
	m.reboots++
	m.log.Info("Gateway lost its mappings (epoch went back), mapping again", "epoch", epoch)
	m.remapAll(now)
}

// observeIP takes note of the external address. When it changes, the
// mappings are made anew: another address often means another gateway.
func (m *Mapper) observeIP(ip netip.Addr, now time.Time) {
	if !ip.IsValid() || ip.IsUnspecified() || ip == m.extIP {
		return
	}
	if m.extIP.IsValid() {
		m.log.Info("External IP changed", "old", m.extIP, "new", ip)
		m.remapAll(now)
	} else {
		m.log.Info("External IP", "ip", ip, "via", m.nat.String())
	}
	m.extIP = ip
}

func (m *Mapper) remapAll(now time.Time) {
	for _, pm := range m.maps {
		pm.next = now
	}
}

// request adds or renews one mapping.
func (m *Mapper) request(ctx context.Context, pm *portMapping) {
	cctx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	defer cancel()
	r := Request{Protocol: pm.proto, InternalPort: pm.intPort, ExternalPort: pm.wantExt, Name: m.cfg.Name, Lifetime: m.cfg.Lifetime}
	var l Lease
	var err error
	if m.gw != nil {
		l, err = m.gw.MapPort(cctx, r)
	} else {
		var port uint16
		port, err = m.nat.AddMapping(cctx, r.Protocol, int(r.ExternalPort), int(r.InternalPort), r.Name, r.Lifetime)
		l = Lease{Protocol: r.Protocol, InternalPort: r.InternalPort, ExternalPort: port, Lifetime: r.Lifetime}
	}
	if err != nil && ctx.Err() != nil {
		return // closing
	}
	now := time.Now()
	pm.err = err
	if err != nil {
		pm.failures++
		pm.next = now.Add(m.retryDelay(pm.failures))
		lost := pm.granted && !pm.expires.IsZero() && !now.Before(pm.expires)
		if lost {
			m.log.Warn("Port mapping expired, gateway does not renew it", "proto", pm.proto, "extport", pm.lease.ExternalPort, "err", err)
		} else {
			m.log.Debug("Couldn't map port", "proto", pm.proto, "intport", pm.intPort, "err", err, "failures", pm.failures)
		}
		return
	}
	if l.ExternalPort != pm.lease.ExternalPort || !pm.granted {
		// via names the mechanism, which for "any" is known only now.
		m.log.Info("Mapped port", "proto", pm.proto, "extport", l.ExternalPort, "intport", pm.intPort, "lifetime", l.Lifetime, "via", m.nat.String())
	}
	pm.failures = 0
	pm.granted = true
	pm.grantAt = now
	pm.lease = l
	pm.wantExt = l.ExternalPort
	renew := m.cfg.Lifetime / 2
	pm.expires = time.Time{}
	if l.Lifetime > 0 {
		pm.expires = now.Add(l.Lifetime)
		renew = max(l.Lifetime/2, minRenewal)
	}
	if l.HasEpoch {
		m.observeEpoch(l.Epoch, now)
	}
	m.observeIP(l.ExternalIP, now)
	// After the observations, which may have called for mapping everything
	// anew: this mapping was just made on the gateway as it is now.
	pm.next = now.Add(renew)
}

// retryDelay is the wait after the n-th failure in a row: doubling from
// Lifetime/16 (at least a second, at most 30 s) up to Lifetime/2.
func (m *Mapper) retryDelay(n int) time.Duration {
	d := min(max(m.cfg.Lifetime/16, time.Second), maxRetryStart)
	for i := 1; i < n && d < m.cfg.Lifetime/2; i++ {
		d *= 2
	}
	return min(d, m.cfg.Lifetime/2)
}

// publishRecord puts the external address and the mapped ports into the
// local record, once the address is known.
func (m *Mapper) publishRecord() {
	if m.ln == nil || !m.extIP.IsValid() {
		return
	}
	m.ln.SetStaticIP(m.extIP)
	for _, pm := range m.maps {
		if !pm.granted {
			continue
		}
		switch pm.proto {
		case TCP:
			m.ln.Set(enr.TCP(pm.lease.ExternalPort))
		case UDP:
			m.ln.SetFallbackUDP(int(pm.lease.ExternalPort))
		}
	}
}

// deleteAll deletes the mappings granted, on shutdown.
func (m *Mapper) deleteAll() {
	for _, pm := range m.maps {
		if !pm.granted {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.CallTimeout)
		err := m.nat.DeleteMapping(ctx, pm.proto, int(pm.lease.ExternalPort), int(pm.intPort))
		cancel()
		if err != nil {
			m.log.Debug("Couldn't delete port mapping", "proto", pm.proto, "extport", pm.lease.ExternalPort, "err", err)
		} else {
			m.log.Debug("Deleted port mapping", "proto", pm.proto, "extport", pm.lease.ExternalPort)
		}
		pm.granted = false
		pm.err = err
	}
	m.publishStatus(nil)
}

func (m *Mapper) publishStatus(statusErr error) {
	st := MapperStatus{Mechanism: m.nat.String(), ExternalIP: m.extIP, Reboots: m.reboots, StatusErr: statusErr}
	for _, pm := range m.maps {
		ms := MappingStatus{Protocol: pm.proto, InternalPort: pm.intPort, Renew: pm.next, Err: pm.err}
		if pm.granted {
			ms.ExternalPort = pm.lease.ExternalPort
			ms.Lifetime = pm.lease.Lifetime
			ms.Granted = pm.grantAt
			ms.Expires = pm.expires
		}
		st.Mappings = append(st.Mappings, ms)
	}
	m.status.Lock()
	m.status.cur = st
	close(m.status.changed)
	m.status.changed = make(chan struct{})
	m.status.Unlock()
}

// epochTracker tells from successive epochs of a gateway whether it lost
// its state (RFC 6887 section 8.5; RFC 6886 section 3.6 has the same idea):
// the epoch went back by more than a second, or it advanced at a rate
// too far from the client's clock.
type epochTracker struct {
	valid  bool
	server uint32    // last epoch
	client time.Time // when it came
}

func (e *epochTracker) observe(epoch uint32, now time.Time) (lost bool) {
	if e.valid {
		scurr, sprev := int64(epoch), int64(e.server)
		if scurr < sprev-1 {
			lost = true
		} else {
			cdelta := now.Sub(e.client).Seconds()
			sdelta := float64(scurr - sprev)
			lost = sdelta+2 < cdelta-cdelta/16 || cdelta+2 < sdelta-sdelta/16
		}
	}
	e.valid, e.server, e.client = true, epoch, now
	return lost
}

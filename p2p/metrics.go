package p2p

import (
	"errors"
	"sort"
	"sync"
	"sync/atomic"
)

// baseCap labels base protocol messages (Hello, Disconnect, Ping, Pong) in
// metrics.
var baseCap = Cap{Name: "p2p", Version: baseProtocolVersion}

// ConnOutcome classifies how the setup of a connection ended, for metrics.
// The names follow go-ethereum's p2p/dials/error/* and p2p/serves/error/*
// meters.
type ConnOutcome uint8

const (
	ConnSuccess             ConnOutcome = iota // became a peer
	ConnDialError                              // could not connect (dial only)
	ConnTooManyPeers                           // "saturated"
	ConnAlreadyConnected                       // "known"
	ConnSelf                                   // connected to ourselves
	ConnUselessPeer                            // no shared protocol
	ConnUnexpectedIdentity                     // key differs from the dialed node's
	ConnEncHandshakeError                      // RLPx handshake failed
	ConnProtoHandshakeError                    // Hello exchange failed
	ConnRejected                               // inbound refused before handshake: NetRestrict, throttle
	ConnOther
	numConnOutcomes
)

var connOutcomeNames = [numConnOutcomes]string{
	ConnSuccess:             "success",
	ConnDialError:           "connection",
	ConnTooManyPeers:        "saturated",
	ConnAlreadyConnected:    "known",
	ConnSelf:                "self",
	ConnUselessPeer:         "useless",
	ConnUnexpectedIdentity:  "id/unexpected",
	ConnEncHandshakeError:   "rlpx/enc",
	ConnProtoHandshakeError: "rlpx/proto",
	ConnRejected:            "rejected",
	ConnOther:               "other",
}

func (o ConnOutcome) String() string {
	if o < numConnOutcomes {
		return connOutcomeNames[o]
	}
	return "invalid"
}

// outcomeOf classifies a connection setup error.
func outcomeOf(err error) ConnOutcome {
	var r DiscReason
	switch {
	case err == nil:
		return ConnSuccess
	case errors.As(err, &r):
		switch r {
		case DiscTooManyPeers:
			return ConnTooManyPeers
		case DiscAlreadyConnected:
			return ConnAlreadyConnected
		case DiscSelf:
			return ConnSelf
		case DiscUselessPeer:
			return ConnUselessPeer
		case DiscUnexpectedIdentity:
			return ConnUnexpectedIdentity
		}
		return ConnProtoHandshakeError
	case errors.Is(err, ErrProtoHandshake):
		return ConnProtoHandshakeError
	case errors.Is(err, ErrEncHandshake):
		return ConnEncHandshakeError
	case errors.Is(err, errDial):
		return ConnDialError
	}
	return ConnOther
}

// Metrics receives the server's measurements. The server calls it from many
// goroutines, and Ingress/Egress for every message, so implementations must
// be concurrency-safe and cheap. CounterMetrics is the default; a node can
// export it or its own implementation to Prometheus.
type Metrics interface {
	// PeerAdded and PeerRemoved track the peer set.
	PeerAdded(inbound bool)
	PeerRemoved(inbound bool)
	// DialAttempt counts outbound connection attempts.
	DialAttempt()
	// ConnSetup reports how the setup of a connection ended.
	ConnSetup(inbound bool, outcome ConnOutcome)
	// Ingress and Egress count one message of a protocol (baseCap for the
	// base protocol) by its code within the protocol and its size on the
	// wire (after compression and encryption framing).
	Ingress(proto Cap, code uint64, wireSize int)
	Egress(proto Cap, code uint64, wireSize int)
}

// CounterMetrics is the default Metrics: atomic counters with a Snapshot.
type CounterMetrics struct {
	inbound, outbound atomic.Int64
	dials             atomic.Uint64
	dialOutcome       [numConnOutcomes]atomic.Uint64
	serveOutcome      [numConnOutcomes]atomic.Uint64
	ingress, egress   sync.Map // msgKey -> *trafficCounter
}

type msgKey struct {
	proto Cap
	code  uint64
}

type trafficCounter struct{ bytes, packets atomic.Uint64 }

// NewCounterMetrics returns zeroed counters.
func NewCounterMetrics() *CounterMetrics { return new(CounterMetrics) }

func (m *CounterMetrics) PeerAdded(inbound bool) {
	if inbound {
		m.inbound.Add(1)
	} else {
		m.outbound.Add(1)
	}
}

func (m *CounterMetrics) PeerRemoved(inbound bool) {
	if inbound {
		m.inbound.Add(-1)
	} else {
		m.outbound.Add(-1)
	}
}

func (m *CounterMetrics) DialAttempt() { m.dials.Add(1) }

func (m *CounterMetrics) ConnSetup(inbound bool, o ConnOutcome) {
	if o >= numConnOutcomes {
		o = ConnOther
	}
	if inbound {
		m.serveOutcome[o].Add(1)
	} else {
		m.dialOutcome[o].Add(1)
	}
}

func (m *CounterMetrics) Ingress(proto Cap, code uint64, size int) {
	count(&m.ingress, proto, code, size)
}
func (m *CounterMetrics) Egress(proto Cap, code uint64, size int) {
	count(&m.egress, proto, code, size)
}

func count(table *sync.Map, proto Cap, code uint64, size int) {
	key := msgKey{proto, code}
	v, ok := table.Load(key)
	if !ok {
		v, _ = table.LoadOrStore(key, new(trafficCounter))
	}
	c := v.(*trafficCounter)
	c.bytes.Add(uint64(size))
	c.packets.Add(1)
}

// MetricsSnapshot is a copy of CounterMetrics at one moment.
type MetricsSnapshot struct {
	InboundPeers, OutboundPeers int64
	Dials                       uint64
	DialOutcomes                map[string]uint64 // by ConnOutcome name, non-zero only
	ServeOutcomes               map[string]uint64
	Ingress, Egress             []Traffic // sorted by protocol, then code
	IngressBytes, EgressBytes   uint64
}

// Traffic is the message count and wire bytes of one protocol message code.
type Traffic struct {
	Proto   Cap
	Code    uint64
	Bytes   uint64
	Packets uint64
}

// Snapshot copies the counters.
func (m *CounterMetrics) Snapshot() MetricsSnapshot {
	s := MetricsSnapshot{
		InboundPeers:  m.inbound.Load(),
		OutboundPeers: m.outbound.Load(),
		Dials:         m.dials.Load(),
		DialOutcomes:  make(map[string]uint64),
		ServeOutcomes: make(map[string]uint64),
	}
	for o := range numConnOutcomes {
		if n := m.dialOutcome[o].Load(); n > 0 {
			s.DialOutcomes[o.String()] = n
		}
		if n := m.serveOutcome[o].Load(); n > 0 {
			s.ServeOutcomes[o.String()] = n
		}
	}
	s.Ingress, s.IngressBytes = trafficSnapshot(&m.ingress)
	s.Egress, s.EgressBytes = trafficSnapshot(&m.egress)
	return s
}

func trafficSnapshot(table *sync.Map) ([]Traffic, uint64) {
	var out []Traffic
	var total uint64
	table.Range(func(k, v any) bool {
		key, c := k.(msgKey), v.(*trafficCounter)
		t := Traffic{Proto: key.proto, Code: key.code, Bytes: c.bytes.Load(), Packets: c.packets.Load()}
		total += t.Bytes
		out = append(out, t)
		return true
	})
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Proto.Cmp(out[j].Proto); c != 0 {
			return c < 0
		}
		return out[i].Code < out[j].Code
	})
	return out, total
}

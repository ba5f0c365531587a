package discover

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enode/nodedb"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/netutil"
)

// UDPConn is the network a discovery listener runs on: *net.UDPConn, a
// memudp.Conn in tests and simulations, or a socket shared with another
// protocol. ReadFromUDPAddrPort is called from one goroutine; writes come
// from several at once and must be safe for that (as they are for
// *net.UDPConn). Close must unblock a pending read.
type UDPConn interface {
	ReadFromUDPAddrPort(b []byte) (n int, addr netip.AddrPort, err error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (n int, err error)
	Close() error
	LocalAddr() net.Addr
}

// ReadPacket is a datagram the listener could not use because it is not a
// discv4 packet, handed on through Config.Unhandled so that another protocol
// on the same socket (discv5) can try it.
type ReadPacket struct {
	Data []byte
	Addr netip.AddrPort
}

// Config configures a discovery listener. Only PrivateKey is required; every
// other field has a working default.
type Config struct {
	// PrivateKey is the node key. It must be the key of the LocalNode.
	PrivateKey *crypto.PrivateKey

	// DB is the node database: endpoint proofs, findnode failures and the
	// records of nodes proven live, which seed the table on the next start.
	// Nil opens an in-memory database that is closed with the listener.
	DB *nodedb.DB

	// Bootnodes are contacted when the table has nothing better. They must
	// have an IP and a UDP port; DNS names are not resolved here.
	Bootnodes []*enode.Node

	// NetRestrict, if set, confines discovery to these networks: packets
	// from other addresses are dropped, and nodes outside them are neither
	// added to the table nor contacted.
	NetRestrict *netutil.Netlist

	// Unhandled, if set, receives datagrams that are not discv4 packets
	// (too short, or the hash does not match), for a discv5 listener
	// sharing the socket. Sends do not block: when the channel is full the
	// datagram is dropped. The channel is closed when the listener stops
	// reading.
	Unhandled chan<- ReadPacket

	// PingInterval is the mean time between liveness checks of new nodes;
	// proven nodes are checked three times less often. Default 3s, as in
	// go-ethereum.
	PingInterval time.Duration

	// RefreshInterval is the longest time between table refreshes (a
	// lookup of the own ID and three random lookups); each wait is drawn
	// between half of it and all of it. Default 30 minutes.
	RefreshInterval time.Duration

	// ValidSchemes are the identity schemes accepted for records in ENR
	// responses. Default: "v4" only. Simulations use schemes that skip
	// the signature check.
	ValidSchemes enr.IdentityScheme

	// Log receives debug messages about dropped packets and table changes.
	// Default: discarded.
	Log *slog.Logger

	// Clock is the time source for timeouts, expirations and schedules.
	// Default: the system clock, which testing/synctest fakes as well.
	Clock Clock
}

// Default values of Config.
const (
	DefaultPingInterval    = 3 * time.Second
	DefaultRefreshInterval = 30 * time.Minute
)

func (cfg Config) withDefaults() (Config, error) {
	if cfg.PrivateKey == nil {
		return cfg, errors.New("discover: Config.PrivateKey is required")
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.ValidSchemes == nil {
		cfg.ValidSchemes = enr.SchemeMap{string(enr.IDv4): enr.V4ID{}}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	return cfg, nil
}

// Clock is a source of time and timers. The table and the protocol take
// every time from it, so that tests can run them on a clock they control.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a timer of a Clock, like time.Timer.
type Timer interface {
	C() <-chan time.Time
	// Reset changes the timer to expire after d. Like time.Timer.Reset since
	// Go 1.23, no stale value is received after it returns.
	Reset(d time.Duration)
	Stop()
}

// SystemClock is the real clock. Inside a testing/synctest bubble it runs
// on the bubble's fake time.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

func (SystemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time   { return t.t.C }
func (t systemTimer) Reset(d time.Duration) { t.t.Reset(d) }
func (t systemTimer) Stop()                 { t.t.Stop() }

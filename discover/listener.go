package discover

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enode/nodedb"
	"github.com/trellis-p2p/trellis/netutil"
)

// listener is what the discv4 and discv5 listeners share: the socket, the
// local node, the node database, the table, the packet counters and the
// goroutine group, with how they are set up and torn down. UDPv4 and UDPv5
// embed it; each adds its protocol's goroutines to wg.
type listener struct {
	conn  UDPConn
	ln    *enode.LocalNode
	db    *nodedb.DB
	ownDB bool // db was opened here (in memory) and is closed with the listener
	tab   *table
	cfg   Config
	log   *slog.Logger
	clock Clock
	stats statsCounter

	ctx       context.Context // cancelled by Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// init sets the listener up for net, the protocol that embeds it: it checks
// that cfg's key is ln's, opens an in-memory node database when cfg has
// none, and creates the table. On error nothing is left open. cfg must have
// its defaults set.
func (l *listener) init(net transport, c UDPConn, ln *enode.LocalNode, cfg Config) error {
	if ln.ID() != enode.PubkeyToIDV4(cfg.PrivateKey.PubKey()) {
		return errors.New("discover: Config.PrivateKey is not the key of the LocalNode")
	}
	l.conn, l.ln, l.db, l.cfg, l.log, l.clock = c, ln, cfg.DB, cfg, cfg.Log, cfg.Clock
	l.stats.init()
	if l.db == nil {
		db, err := nodedb.Open("", nodedb.WithClock(cfg.Clock), nodedb.WithIdentitySchemes(cfg.ValidSchemes))
		if err != nil {
			return err
		}
		l.db, l.ownDB = db, true
	}
	tab, err := newTable(net, l.db, cfg)
	if err != nil {
		if l.ownDB {
			l.db.Close()
		}
		return err
	}
	l.tab = tab
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return nil
}

// Close stops the listener: it closes the socket, fails the requests in
// flight with ErrClosed, stops the table and waits for every goroutine
// (discv5: TALKREQ handlers included). It is idempotent.
func (l *listener) Close() {
	l.closeOnce.Do(func() {
		l.cancel()
		l.conn.Close()
		l.wg.Wait()
		l.tab.close()
		if l.ownDB {
			l.db.Close()
		}
	})
}

// Self returns the local node's current record.
func (l *listener) Self() *enode.Node { return l.ln.Node() }

// LocalNode returns the local node.
func (l *listener) LocalNode() *enode.LocalNode { return l.ln }

// TableBuckets returns the table's entries, bucket by bucket from the
// closest distances (bucket 0 holds distances up to 240) to distance 256.
func (l *listener) TableBuckets() [][]BucketNode { return l.tab.snapshot() }

// Stats returns the packet counters and the table size. On a socket shared
// by discv4 and discv5, the discv4 listener counts the datagrams it passes
// on to discv5 as read but not as dropped.
func (l *listener) Stats() Stats { return l.stats.snapshot(l.tab.len()) }

// readPacket reads the next datagram into buf, retrying after temporary
// errors, and counts it. The sender's address comes back with IPv4-mapped
// IPv6 addresses unmapped. ok is false once the socket is closed or fails:
// the read loop ends.
func (l *listener) readPacket(buf []byte) (n int, from netip.AddrPort, ok bool) {
	for {
		n, from, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if netutil.IsTemporaryError(err) {
				l.log.Debug("Temporary UDP read error", "err", err)
				continue
			}
			if l.ctx.Err() == nil {
				l.log.Debug("UDP read error, listener stops", "err", err)
			}
			return 0, netip.AddrPort{}, false
		}
		l.stats.read(n)
		return n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), true
	}
}

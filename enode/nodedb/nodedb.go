package nodedb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// Clock is the time source of the expirer and QuerySeeds. Under
// testing/synctest the default, the real clock, is already fake.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Option configures Open.
type Option func(*config)

type config struct {
	clock          Clock
	expireInterval time.Duration
	commitDelay    time.Duration
	schemes        enr.IdentityScheme
	log            *slog.Logger
}

// WithClock sets the clock used by the expirer and QuerySeeds.
func WithClock(c Clock) Option { return func(cfg *config) { cfg.clock = c } }

// WithExpireInterval sets how often the expirer runs (default one hour).
// Non-positive values keep the default.
func WithExpireInterval(d time.Duration) Option {
	return func(cfg *config) {
		if d > 0 {
			cfg.expireInterval = d
		}
	}
}

// WithCommitDelay sets how long a write may wait to be batched with others
// before it is committed to disk (default 10ms). It bounds what a crash can
// lose. It has no effect on the in-memory database, which has no disk.
// Non-positive values keep the default.
func WithCommitDelay(d time.Duration) Option {
	return func(cfg *config) {
		if d > 0 {
			cfg.commitDelay = d
		}
	}
}

// WithIdentitySchemes sets the identity schemes that stored records are
// verified with when read back (default: "v4" only). Tests that store nodes
// of the "null" scheme pass enode.TestSchemes().
func WithIdentitySchemes(s enr.IdentityScheme) Option {
	return func(cfg *config) { cfg.schemes = s }
}

// WithLogger sets where the database reports what it cannot return as an
// error: a wipe on open, records that fail to decode, expiry runs. The
// default discards.
func WithLogger(l *slog.Logger) Option { return func(cfg *config) { cfg.log = l } }

// DB is the node database. It is safe for concurrent use.
//
// Ownership: the store is shared by all goroutines through its
// transactions. On disk, one writer goroutine (see batchWriter) performs
// every write transaction; other goroutines stage writes in its overlay and
// read through it. The expirer goroutine, once started, owns only its
// ticker and hands expiry runs to the writer. Close stops them in reverse
// order: expirer, writer, store.
type DB struct {
	store kvStore
	w     writePath
	cfg   config
	wiped bool
	cache nodeCache

	// updateMu makes UpdateNode's compare-and-store of the sequence number
	// atomic; nothing else writes records except deletions.
	updateMu sync.Mutex

	expirer struct {
		sync.Mutex
		cancel context.CancelFunc // stops the loop; nil until started
		done   chan struct{}      // closed when the loop has returned
		closed bool
	}
	closeOnce sync.Once
	closeErr  error
}

// Open opens the database at path, creating it if needed. An empty path
// opens an in-memory database that touches no files. If the file holds data
// of an incompatible schema version, it is wiped: Wiped reports it, and the
// logger is told.
//
// A file is locked while open; Open fails with ErrLocked if another process
// holds it.
func Open(path string, opts ...Option) (*DB, error) {
	cfg := config{
		clock:          realClock{},
		expireInterval: defaultExpireInterval,
		commitDelay:    defaultCommitDelay,
		log:            slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}
	var (
		store kvStore
		err   error
	)
	if path == "" {
		store = newMemStore()
	} else if store, err = openBolt(path); err != nil {
		return nil, fmt.Errorf("nodedb: open %s: %w", path, err)
	}
	wiped, err := checkVersion(store)
	if err != nil {
		store.close()
		return nil, fmt.Errorf("nodedb: open %s: %w", path, err)
	}
	if wiped {
		cfg.log.Warn("Node database had an incompatible schema version and was wiped", "path", path, "version", schemaVersion)
	}
	db := &DB{store: store, cfg: cfg, wiped: wiped}
	if path == "" {
		db.w = directWriter{store}
	} else {
		db.w = newBatchWriter(store, cfg.commitDelay)
	}
	return db, nil
}

// checkVersion makes the store hold data of schemaVersion, wiping anything
// else in the same transaction, so a crash leaves either the old data or an
// empty database of the current version.
func checkVersion(store kvStore) (wiped bool, err error) {
	want := encodeUint64(schemaVersion)
	err = store.update(func(tx kvWriter) error {
		v, ok := tx.get(versionKey)
		if ok && bytes.Equal(v, want) {
			return nil
		}
		empty := true
		tx.ascend(nil, func(k, _ []byte) bool {
			empty = bytes.Equal(k, versionKey)
			return empty
		})
		if !empty {
			wiped = true
			if err := tx.delPrefix(nil); err != nil {
				return err
			}
		}
		return tx.put(versionKey, want)
	})
	return wiped, err
}

// Wiped reports whether Open discarded data of an incompatible schema
// version.
func (db *DB) Wiped() bool { return db.wiped }

// Close stops the expirer, commits pending writes and closes the file. It
// returns the error of the last commit, if that failed. Close is idempotent.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.stopExpirer()
		werr := db.w.shutdown()
		serr := db.store.close()
		db.closeErr = errors.Join(werr, serr)
	})
	return db.closeErr
}

// Flush waits until every write made before the call is durable on disk. A
// crash after Flush returns loses none of them.
func (db *DB) Flush(ctx context.Context) error {
	return db.w.exec(ctx, nil)
}

// get reads key, staged writes first. The returned slice must not be
// modified.
func (db *DB) get(key []byte) ([]byte, bool) {
	switch v, res := db.w.lookup(key); res {
	case lookupFound:
		return v, true
	case lookupDeleted:
		return nil, false
	}
	var (
		val []byte
		ok  bool
	)
	db.store.view(func(r kvReader) error {
		var v []byte
		if v, ok = r.get(key); ok {
			val = bytes.Clone(v)
		}
		return nil
	})
	return val, ok
}

// Node returns the stored node with the given ID, or nil if there is none
// or its stored record does not decode and verify (corrupted data is
// treated as absent, and logged).
func (db *DB) Node(id enode.ID) *enode.Node {
	v, ok := db.get(recordKey(id))
	if !ok {
		return nil
	}
	n, err := db.decodeNode(id, v)
	if err != nil {
		db.cfg.log.Debug("Dropping undecodable node record", "id", id, "err", err)
		return nil
	}
	return n
}

// errCorrupt marks a stored value this package could not have written.
var errCorrupt = errors.New("nodedb: corrupt stored value")

// decodeNode decodes a stored record value, from the cache if it was
// verified before. v must not be modified afterwards.
func (db *DB) decodeNode(id enode.ID, v []byte) (*enode.Node, error) {
	if n := db.cache.get(id, v); n != nil {
		return n, nil
	}
	n, err := db.verifyNode(id, v)
	if err == nil {
		db.cache.add(id, v, n)
	}
	return n, err
}

// verifyNode decodes a stored record value: seq || record. The record is
// verified again, since bbolt pages carry no checksum, and must belong to
// id and carry the stored seq.
func (db *DB) verifyNode(id enode.ID, v []byte) (*enode.Node, error) {
	if len(v) <= seqPrefixLen {
		return nil, fmt.Errorf("%w: record value of %d bytes", errCorrupt, len(v))
	}
	seq := binary.BigEndian.Uint64(v)
	var r enr.Record
	if err := r.UnmarshalBinary(v[seqPrefixLen:]); err != nil {
		return nil, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	var (
		n   *enode.Node
		err error
	)
	if db.cfg.schemes == nil {
		n, err = enode.New(&r)
	} else {
		n, err = enode.NewWithSchemes(db.cfg.schemes, &r)
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", errCorrupt, err)
	case n.ID() != id:
		return nil, fmt.Errorf("%w: record of node %v stored under %v", errCorrupt, n.ID(), id)
	case n.Seq() != seq:
		return nil, fmt.Errorf("%w: record seq %d stored as %d", errCorrupt, n.Seq(), seq)
	}
	return n, nil
}

// UpdateNode stores n's record unless a record with a higher sequence
// number is already stored for its ID (enr.md: the higher seq is newer). n
// must carry a signed record; nodes built from enode URLs have none and are
// refused with enr.ErrUnsigned.
func (db *DB) UpdateNode(n *enode.Node) error {
	if n == nil {
		return ErrNilNode
	}
	val := binary.BigEndian.AppendUint64(make([]byte, 0, seqPrefixLen+recordMax), n.Seq())
	val, err := n.Record().AppendBinary(val)
	if err != nil {
		return fmt.Errorf("nodedb: store node %v: %w", n.ID(), err)
	}
	key := recordKey(n.ID())
	db.updateMu.Lock()
	defer db.updateMu.Unlock()
	if cur, ok := db.get(key); ok && len(cur) > seqPrefixLen && binary.BigEndian.Uint64(cur) > n.Seq() {
		// Keep the stored record only if it is sound: a corrupt value with
		// a high seq prefix must not block updates forever.
		if _, err := db.decodeNode(n.ID(), cur); err == nil {
			return nil
		}
	}
	return db.w.stage(op{kind: opPut, key: key, val: val})
}

// DeleteNode removes everything stored about the node: its record and the
// data of all its endpoints. The local sequence number, which is about this
// process's own record, stays.
func (db *DB) DeleteNode(id enode.ID) {
	if err := db.w.stage(op{kind: opDelPrefix, key: nodePrefix(id)}); err != nil {
		db.cfg.log.Debug("Node deletion failed", "id", id, "err", err)
	}
}

// Per-endpoint data. A node is tracked per IP it was seen at, since the
// same ID may answer from several addresses and only the one that proved
// itself should count as bonded (discv4.md "Endpoint Proof").

func (db *DB) getAddr(id enode.ID, ip netip.Addr, field byte) ([]byte, bool) {
	ip16, ok := canonicalIP(ip)
	if !ok {
		return nil, false
	}
	return db.get(addrKey(id, ip16, field))
}

func (db *DB) putAddr(id enode.ID, ip netip.Addr, field byte, val []byte) error {
	ip16, ok := canonicalIP(ip)
	if !ok {
		return fmt.Errorf("%w: %v", ErrInvalidIP, ip)
	}
	return db.w.stage(op{kind: opPut, key: addrKey(id, ip16, field), val: val})
}

func (db *DB) getTime(id enode.ID, ip netip.Addr, field byte) time.Time {
	v, ok := db.getAddr(id, ip, field)
	if !ok {
		return time.Time{}
	}
	t, _ := decodeTime(v)
	return t
}

func (db *DB) getCount(id enode.ID, ip netip.Addr, field byte) int {
	v, ok := db.getAddr(id, ip, field)
	if !ok {
		return 0
	}
	n, _ := decodeCount(v)
	return n
}

func (db *DB) putCount(id enode.ID, ip netip.Addr, field byte, n int) error {
	if n < 0 {
		return fmt.Errorf("%w: %d", ErrNegativeCount, n)
	}
	return db.putAddr(id, ip, field, encodeCount(n))
}

// LastPingReceived returns when the node last pinged us from ip, the zero
// time if never (or if ip is invalid). Times have millisecond precision.
func (db *DB) LastPingReceived(id enode.ID, ip netip.Addr) time.Time {
	return db.getTime(id, ip, fieldPing)
}

// UpdateLastPingReceived records a ping from the node at ip.
func (db *DB) UpdateLastPingReceived(id enode.ID, ip netip.Addr, t time.Time) error {
	return db.putAddr(id, ip, fieldPing, encodeTime(t))
}

// LastPongReceived returns when the node last answered our ping from ip,
// the zero time if never (or if ip is invalid).
func (db *DB) LastPongReceived(id enode.ID, ip netip.Addr) time.Time {
	return db.getTime(id, ip, fieldPong)
}

// UpdateLastPongReceived records a pong from the node at ip. The pong time
// is what keeps a node from expiring.
func (db *DB) UpdateLastPongReceived(id enode.ID, ip netip.Addr, t time.Time) error {
	return db.putAddr(id, ip, fieldPong, encodeTime(t))
}

// FindFails returns the count of failed discv4 FINDNODE requests to the
// node at ip.
func (db *DB) FindFails(id enode.ID, ip netip.Addr) int {
	return db.getCount(id, ip, fieldFindFailsV4)
}

// UpdateFindFails stores the count of failed discv4 FINDNODE requests.
func (db *DB) UpdateFindFails(id enode.ID, ip netip.Addr, fails int) error {
	return db.putCount(id, ip, fieldFindFailsV4, fails)
}

// FindFailsV5 returns the count of failed discv5 FINDNODE requests to the
// node at ip, kept apart from discv4's.
func (db *DB) FindFailsV5(id enode.ID, ip netip.Addr) int {
	return db.getCount(id, ip, fieldFindFailsV5)
}

// UpdateFindFailsV5 stores the count of failed discv5 FINDNODE requests.
func (db *DB) UpdateFindFailsV5(id enode.ID, ip netip.Addr, fails int) error {
	return db.putCount(id, ip, fieldFindFailsV5, fails)
}

// LocalSeq returns the sequence number last stored for this process's own
// record under id, 0 if none (enode.SeqStore).
func (db *DB) LocalSeq(id enode.ID) uint64 {
	v, ok := db.get(localSeqKey(id))
	if !ok {
		return 0
	}
	seq, _ := decodeUint64(v)
	return seq
}

// StoreLocalSeq stores the sequence number of this process's own record
// (enode.SeqStore) and waits until it is on disk: a record published with
// a sequence number that a crash then forgot would let a later, different
// record reuse the number, and peers would ignore it (enr.md: a higher
// seq means newer). Records change rarely, so the wait is cheap.
func (db *DB) StoreLocalSeq(id enode.ID, seq uint64) {
	err := db.w.stage(op{kind: opPut, key: localSeqKey(id), val: encodeUint64(seq)})
	if err == nil {
		err = db.w.exec(context.Background(), nil)
	}
	if err != nil {
		db.cfg.log.Warn("Could not store local record sequence number", "id", id, "seq", seq, "err", err)
	}
}

var _ enode.SeqStore = (*DB)(nil)

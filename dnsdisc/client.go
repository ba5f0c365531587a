package dnsdisc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/trellis-p2p/trellis/enr"
)

// Config holds Client options. Zero fields take the defaults below.
type Config struct {
	// Resolver looks up TXT records. Default: the system resolver
	// (NetResolver{}); NewServerResolver sends queries to one server.
	Resolver Resolver
	// Timeout bounds each DNS lookup. Default 5 s.
	Timeout time.Duration
	// RecheckInterval is how often an iterator looks for a new root of
	// each tree. Default 30 min.
	RecheckInterval time.Duration
	// RateLimit is the most tree lookups per second, RateBurst how many may
	// go at once after a pause. Entries served from the cache count too,
	// so that a consumer of an iterator over a small, fully cached tree
	// does not spin. Defaults 3 and 10; a negative RateLimit disables it.
	RateLimit float64
	RateBurst int
	// CacheLimit is the number of resolved entries kept. Default 1000.
	CacheLimit int
	// MaxDepth bounds the depth of a subtree (its root at depth 1), MaxWidth
	// the children of one branch, MaxEntries the entries of one subtree
	// walk. Defaults DefaultMaxDepth, MaxBranchWidth, DefaultMaxEntries.
	MaxDepth   int
	MaxWidth   int
	MaxEntries int
	// MaxTrees bounds the trees an iterator follows, counting linked
	// ones. Default DefaultMaxTrees.
	MaxTrees int
	// ValidSchemes are the identity schemes accepted for node records.
	// Default: "v4" only.
	ValidSchemes enr.IdentityScheme
	// Clock is the time source. Default SystemClock.
	Clock Clock
	// Log receives debug messages about lookups and tree changes. Default:
	// discarded.
	Log *slog.Logger
}

// Defaults of Config.
const (
	DefaultTimeout         = 5 * time.Second
	DefaultRecheckInterval = 30 * time.Minute
	DefaultRateLimit       = 3
	DefaultRateBurst       = 10
	DefaultCacheLimit      = 1000
	// DefaultMaxDepth leaves room for trees far less balanced than the
	// 13-way ones go-ethereum and MakeTree build (a million nodes are 7
	// levels deep in those), while stopping chains of branches early.
	DefaultMaxDepth = 32
	// DefaultMaxEntries is well above the largest public lists (a few
	// thousand nodes) and bounds what one walk holds in memory.
	DefaultMaxEntries = 50000
	DefaultMaxTrees   = 64
)

// maxTXTRecords bounds the TXT records looked at per name; a tree name
// holds one.
const maxTXTRecords = 16

func (cfg Config) withDefaults() Config {
	if cfg.Resolver == nil {
		cfg.Resolver = NetResolver{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RecheckInterval <= 0 {
		cfg.RecheckInterval = DefaultRecheckInterval
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = DefaultRateBurst
	}
	if cfg.CacheLimit <= 0 {
		cfg.CacheLimit = DefaultCacheLimit
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	if cfg.MaxWidth <= 0 {
		cfg.MaxWidth = MaxBranchWidth
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.MaxTrees <= 0 {
		cfg.MaxTrees = DefaultMaxTrees
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// maxSeqsKept bounds the trees whose highest root sequence number the
// client remembers.
const maxSeqsKept = 1024

// Client resolves trees. It is safe for concurrent use: several iterators
// and syncs may share one client, its cache and its rate limit.
type Client struct {
	cfg Config

	mu struct {
		sync.Mutex
		cache    *lru[string, Entry]     // resolved entries by hash
		seqs     *lru[string, uint64]    // highest verified root seq by tree URL
		inflight map[string]*inflightReq // lookups under way, by DNS name
		bucket   tokenBucket
	}
}

type inflightReq struct {
	done chan struct{}
	e    Entry
	err  error
}

// NewClient returns a client.
func NewClient(cfg Config) *Client {
	c := &Client{cfg: cfg.withDefaults()}
	c.mu.cache = newLRU[string, Entry](c.cfg.CacheLimit)
	c.mu.seqs = newLRU[string, uint64](maxSeqsKept)
	c.mu.inflight = make(map[string]*inflightReq)
	c.mu.bucket = tokenBucket{rate: c.cfg.RateLimit, burst: float64(c.cfg.RateBurst)}
	return c
}

// wait blocks until the rate limit allows one more lookup.
func (c *Client) wait(ctx context.Context) error {
	if c.cfg.RateLimit < 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	d := c.mu.bucket.take(c.cfg.Clock.Now())
	c.mu.Unlock()
	if err := sleep(ctx, c.cfg.Clock, d); err != nil {
		c.mu.Lock()
		c.mu.bucket.refund()
		c.mu.Unlock()
		return err
	}
	return nil
}

func (c *Client) lookup(ctx context.Context, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	txts, err := c.cfg.Resolver.LookupTXT(ctx, name)
	c.cfg.Log.Debug("DNS lookup", "name", name, "records", len(txts), "err", err)
	if err != nil {
		return nil, &NameError{name, err}
	}
	if len(txts) > maxTXTRecords {
		txts = txts[:maxTXTRecords]
	}
	return txts, nil
}

// resolveRoot fetches and verifies the root of the tree at u, and checks
// that its sequence number does not go back (dnsdisc.md "Client Protocol",
// steps 1 and 2).
func (c *Client) resolveRoot(ctx context.Context, u URL) (*RootEntry, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	txts, err := c.lookup(ctx, u.Domain)
	if err != nil {
		return nil, err
	}
	for _, txt := range txts {
		if !strings.HasPrefix(txt, rootFamily) {
			continue
		}
		root, err := ParseRoot(txt)
		if err != nil {
			return nil, &NameError{u.Domain, err}
		}
		if err := root.Verify(u.Pubkey); err != nil {
			return nil, &NameError{u.Domain, err}
		}
		if err := c.checkSeq(u, root.Seq); err != nil {
			return nil, &NameError{u.Domain, err}
		}
		return root, nil
	}
	return nil, &NameError{u.Domain, ErrNoRoot}
}

func (c *Client) checkSeq(u URL, seq uint64) error {
	key := treeKey(u)
	c.mu.Lock()
	defer c.mu.Unlock()
	if seen, ok := c.mu.seqs.get(key); ok && seq < seen {
		return &SeqError{Seen: seen, Got: seq}
	}
	c.mu.seqs.add(key, seq)
	return nil
}

// resolveEntry returns the entry named hash in the tree at domain, from the
// cache or from DNS. Concurrent requests for one name share a lookup.
func (c *Client) resolveEntry(ctx context.Context, domain, hash string) (Entry, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	name := subdomain(hash, domain)
	c.mu.Lock()
	if e, ok := c.mu.cache.get(hash); ok {
		c.mu.Unlock()
		return e, nil
	}
	if req, ok := c.mu.inflight[name]; ok {
		c.mu.Unlock()
		select {
		case <-req.done:
			return req.e, req.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	req := &inflightReq{done: make(chan struct{})}
	c.mu.inflight[name] = req
	c.mu.Unlock()

	req.e, req.err = c.fetchEntry(ctx, name, hash)

	c.mu.Lock()
	delete(c.mu.inflight, name)
	if req.err == nil {
		c.mu.cache.add(hash, req.e)
	}
	c.mu.Unlock()
	close(req.done)
	return req.e, req.err
}

// fetchEntry looks up name and returns the entry found there that hashes
// to hash (dnsdisc.md "Client Protocol", step 3). Other TXT records may
// share the name: the first one that hashes right and parses wins, and if
// none does, the error about the first candidate is returned.
func (c *Client) fetchEntry(ctx context.Context, name, hash string) (Entry, error) {
	want, err := parseHash(hash)
	if err != nil {
		return nil, &NameError{name, err}
	}
	txts, err := c.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	var firstErr, unknown error
	for _, txt := range txts {
		e, err := c.checkEntry(txt, want)
		switch {
		case err == nil:
			return e, nil
		case errors.Is(err, ErrUnknownEntry):
			if unknown == nil {
				unknown = err
			}
		case firstErr == nil:
			firstErr = err
		}
	}
	switch {
	case firstErr != nil:
		return nil, &NameError{name, firstErr}
	case unknown != nil:
		return nil, &NameError{name, unknown}
	}
	return nil, &NameError{name, ErrNoEntry}
}

func (c *Client) checkEntry(txt string, want []byte) (Entry, error) {
	if !isEntryText(txt) {
		return nil, &EntryError{"", ErrUnknownEntry}
	}
	if len(txt) > MaxEntryLength {
		return nil, &EntryError{"", ErrEntryTooLong}
	}
	// The hash is checked before parsing: it is cheaper than verifying a
	// record, and says whether the text belongs to the tree at all.
	if !hashMatches(txt, want) {
		return nil, ErrHashMismatch
	}
	return parseEntry(txt, c.cfg.ValidSchemes)
}

func isEntryText(s string) bool {
	return strings.HasPrefix(s, branchPrefix) || strings.HasPrefix(s, linkPrefix) || strings.HasPrefix(s, enrPrefix)
}

// isTreeError reports whether err is about the content or shape of a tree
// rather than about reaching it: asking again will not help until the root
// changes.
func isTreeError(err error) bool {
	var ee *EntryError
	return errors.As(err, &ee) ||
		errors.Is(err, ErrHashMismatch) || errors.Is(err, ErrTooDeep) || errors.Is(err, ErrTooWide) ||
		errors.Is(err, ErrTooManyEntries) || errors.Is(err, ErrLinkInENRTree) || errors.Is(err, ErrENRInLinkTree)
}

// parseTreeURL parses a URL given to the client, for error messages that
// name it.
func parseTreeURL(s string) (URL, error) {
	u, err := ParseURL(s)
	if err != nil {
		return URL{}, fmt.Errorf("dnsdisc: %q: %w", s, err)
	}
	return u, nil
}

package dnsdisc

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

// Iterator yields random nodes of one or more trees and of the trees they
// link to (an enode.Iterator, with NodeSource "dns"). It walks each tree
// lazily, one entry per step, in random order (dnsdisc.md "Client
// Protocol": clients should not download whole trees at once), starts over
// once it has seen every node, and looks for a new root of each tree every
// Config.RecheckInterval.
//
// Next does its work on the calling goroutine, which owns the iterator's
// state; Close may be called from any goroutine and ends a blocked Next.
// Next only ends when the iterator is closed or has no trees, so it suits
// p2p.Config.Discovery as is, or as one source of an enode.FairMix.
type Iterator struct {
	c      *Client
	ctx    context.Context
	cancel context.CancelFunc
	cur    *enode.Node

	trees map[string]*clientTree // by treeKey
	// links holds the edges between trees: from treeKey to the trees it
	// links to. The trees given to NewIterator hang off the key "".
	links        map[string]map[string]URL
	linksChanged bool
	// reported is the last error logged at warning level per tree domain:
	// a broken or forged tree is reported once, and again only when its
	// error changes, not on every retry.
	reported map[string]string
}

// maxLeafFails is how many failed entry lookups make an iterator look for
// a new root early: the tree may have changed under it.
const maxLeafFails = 5

// NewIterator returns an iterator over the trees at urls.
func (c *Client) NewIterator(urls ...string) (*Iterator, error) {
	top := make(map[string]URL, len(urls))
	for _, s := range urls {
		u, err := parseTreeURL(s)
		if err != nil {
			return nil, err
		}
		top[treeKey(u)] = u
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Iterator{
		c:            c,
		ctx:          ctx,
		cancel:       cancel,
		trees:        make(map[string]*clientTree),
		links:        map[string]map[string]URL{"": top},
		linksChanged: true,
	}, nil
}

// Next waits for the next node. It returns false once the iterator is
// closed.
func (it *Iterator) Next() bool {
	it.cur = nil
	for it.ctx.Err() == nil {
		ct := it.pickTree()
		if ct == nil {
			return false
		}
		n, err := ct.syncRandom(it.ctx)
		if err != nil {
			if it.ctx.Err() == nil {
				it.logError(ct.loc.Domain, err)
			}
			continue
		}
		if n != nil {
			it.cur = n
			return true
		}
	}
	return false
}

// logError logs a tree's error: at warning level when it is new for the
// tree (a forged or broken tree is worth knowing about at the default
// verbosity), at debug level when it repeats.
func (it *Iterator) logError(domain string, err error) {
	if it.reported == nil {
		it.reported = make(map[string]string)
	}
	msg := err.Error()
	if it.reported[domain] == msg {
		it.c.cfg.Log.Debug("DNS discovery error", "tree", domain, "err", err)
		return
	}
	it.reported[domain] = msg
	it.c.cfg.Log.Warn("DNS discovery error", "tree", domain, "err", err)
}

// Node returns the node found by the last successful Next.
func (it *Iterator) Node() *enode.Node { return it.cur }

// NodeSource names where the nodes come from (enode.SourceIterator).
func (it *Iterator) NodeSource() string { return "dns" }

// Close ends the iteration. It may be called more than once.
func (it *Iterator) Close() { it.cancel() }

// pickTree chooses a random tree that has work to do. When none has, it
// waits for the earliest root recheck. It returns nil once closed.
func (it *Iterator) pickTree() *clientTree {
	if it.linksChanged {
		it.rebuildTrees()
		it.linksChanged = false
	}
	for {
		now := it.c.cfg.Clock.Now()
		var ready []*clientTree
		var next time.Time
		for _, ct := range it.trees {
			if ct.canSync(now) {
				ready = append(ready, ct)
			} else if check := ct.rootAttemptAt(); next.IsZero() || check.Before(next) {
				next = check
			}
		}
		switch {
		case len(ready) > 0:
			return ready[rand.IntN(len(ready))]
		case len(it.trees) == 0:
			return nil
		}
		if sleep(it.ctx, it.c.cfg.Clock, next.Sub(now)) != nil {
			return nil
		}
	}
}

// rebuildTrees makes the set of trees the ones reachable from the given
// URLs through links, at most Config.MaxTrees of them besides the given
// ones. Following reachability rather than reference counts drops trees
// that only link to each other once nothing else links to them.
func (it *Iterator) rebuildTrees() {
	reach := make(map[string]URL)
	queue := []string{""}
	for len(queue) > 0 {
		from := queue[0]
		queue = queue[1:]
		for key, u := range it.links[from] {
			if _, ok := reach[key]; ok {
				continue
			}
			if from != "" && len(reach) >= len(it.links[""])+it.c.cfg.MaxTrees {
				it.c.cfg.Log.Debug("DNS discovery tree limit reached", "skipped", u.Domain)
				continue
			}
			reach[key] = u
			queue = append(queue, key)
		}
	}
	for key := range it.trees {
		if _, ok := reach[key]; !ok {
			delete(it.trees, key)
		}
	}
	for key := range it.links {
		if _, ok := reach[key]; !ok && key != "" {
			delete(it.links, key)
		}
	}
	for key, u := range reach {
		if it.trees[key] == nil {
			it.trees[key] = &clientTree{c: it.c, it: it, loc: u, key: key}
		}
	}
}

// addLink records that tree from links to u.
func (it *Iterator) addLink(from string, u URL) {
	to := treeKey(u)
	if _, ok := it.links[from][to]; ok {
		return
	}
	if it.links[from] == nil {
		it.links[from] = make(map[string]URL)
	}
	it.links[from][to] = u
	it.linksChanged = true
}

// setLinks replaces the links of tree from, once its link subtree has been
// read completely, dropping the ones no longer listed.
func (it *Iterator) setLinks(from string, links map[string]URL) {
	for to := range it.links[from] {
		if _, ok := links[to]; !ok {
			delete(it.links[from], to)
			it.linksChanged = true
		}
	}
	for _, u := range links {
		it.addLink(from, u)
	}
}

// clientTree is an iterator's view of one tree. It is owned by the
// goroutine calling Next.
type clientTree struct {
	c   *Client
	it  *Iterator
	loc URL
	key string

	root          *RootEntry
	lastRootCheck time.Time
	rootFails     int
	rootRetryAt   time.Time // no root lookup before, after failures
	leafFails     int

	links       *subtreeWalk
	enrs        *subtreeWalk
	curLinks    map[string]URL // links found in the current link subtree
	linksCommit string         // link root whose links were handed to the iterator
}

// rootAttemptAt is when the root should be fetched next: at once for a new
// tree, every RecheckInterval, early after repeated entry failures (the
// tree may have changed under the walk), and never before the backoff of
// failed root lookups has passed.
func (ct *clientTree) rootAttemptAt() time.Time {
	at := ct.rootRetryAt
	if ct.root != nil && ct.leafFails <= maxLeafFails {
		if next := ct.lastRootCheck.Add(ct.c.cfg.RecheckInterval); next.After(at) {
			at = next
		}
	}
	return at
}

func (ct *clientTree) rootDue(now time.Time) bool {
	return !now.Before(ct.rootAttemptAt())
}

// canSync reports whether syncRandom has something to do now. A tree
// without a root waits for its root retry; one whose ENR subtree turned out
// empty waits for its next root check.
func (ct *clientTree) canSync(now time.Time) bool {
	if ct.rootDue(now) {
		return true
	}
	return ct.root != nil && (!ct.links.done() || !ct.enrs.done() || ct.enrs.leaves > 0)
}

// syncRandom takes one step on the tree: the root if due, else the next
// link entry (links come first, so that linked trees join early), else a
// random pending entry of the ENR subtree. It returns a node when the
// step reached one.
func (ct *clientTree) syncRandom(ctx context.Context) (n *enode.Node, err error) {
	if ct.rootDue(ct.c.cfg.Clock.Now()) {
		if err := ct.updateRoot(ctx); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			ct.leafFails++
		}
	}()

	if !ct.links.done() {
		_, e, err := ct.links.resolve(ctx, len(ct.links.missing)-1)
		if err != nil {
			return nil, err
		}
		if le, ok := e.(*LinkEntry); ok {
			if sameTree(le.URL, ct.loc) {
				ct.c.cfg.Log.Debug("DNS discovery tree links to itself", "tree", ct.loc.Domain)
			} else {
				ct.curLinks[treeKey(le.URL)] = le.URL
				ct.it.addLink(ct.key, le.URL)
			}
		}
		return nil, nil
	}
	if ct.linksCommit != ct.root.LinkRoot {
		ct.it.setLinks(ct.key, ct.curLinks)
		ct.linksCommit = ct.root.LinkRoot
	}

	if ct.enrs.done() {
		ct.enrs = newSubtreeWalk(ct.c, ct.loc, ct.root.ENRRoot, false)
	}
	_, e, err := ct.enrs.resolve(ctx, rand.IntN(len(ct.enrs.missing)))
	if err != nil {
		return nil, err
	}
	if ee, ok := e.(*ENREntry); ok {
		return ee.Node, nil
	}
	return nil, nil
}

// Backoff of root lookups after failures: doubling from rootRetryMin up to
// rootRetryMax. The tree is not picked meanwhile, so a dead tree costs
// other trees little.
const (
	rootRetryMin = time.Second
	rootRetryMax = 5 * time.Minute
)

// updateRoot fetches the root and restarts the walks of the subtrees whose
// hashes changed.
func (ct *clientTree) updateRoot(ctx context.Context) error {
	now := ct.c.cfg.Clock.Now()
	ct.lastRootCheck = now
	root, err := ct.c.resolveRoot(ctx, ct.loc)
	if err != nil {
		if ctx.Err() == nil {
			ct.rootFails++
			backoff := rootRetryMax
			if ct.rootFails < 20 {
				backoff = min(rootRetryMax, rootRetryMin<<(ct.rootFails-1))
			}
			ct.rootRetryAt = ct.c.cfg.Clock.Now().Add(backoff)
		}
		return err
	}
	ct.rootFails, ct.leafFails = 0, 0
	ct.rootRetryAt = time.Time{}
	if ct.links == nil || ct.root.LinkRoot != root.LinkRoot {
		ct.links = newSubtreeWalk(ct.c, ct.loc, root.LinkRoot, true)
		ct.curLinks = make(map[string]URL)
	}
	if ct.enrs == nil || ct.root.ENRRoot != root.ENRRoot {
		ct.enrs = newSubtreeWalk(ct.c, ct.loc, root.ENRRoot, false)
	}
	ct.root = root
	return nil
}

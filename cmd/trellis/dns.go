package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/dnsdisc"
)

// DNS discovery tools (EIP-1459). Tree directories use go-ethereum's
// "devp2p dns" layout (nodes.json, enrtree-info.json; see package
// dnsdisc), so trees move freely between the two tools.
func init() {
	register(&command{
		name:    "dns sign",
		args:    "<tree-dir> <keyfile>",
		summary: "sign the DNS discovery tree in a directory; writes enrtree-info.json, prints the enrtree:// URL",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			domain := fs.String("domain", "", "domain of the tree (default: that of the directory's current URL, else the directory name)")
			seq := fs.Uint64("seq", 0, "sequence number of the new tree (default: the current one plus 1)")
			return func(_ context.Context, env *cmdEnv) error {
				if len(env.args) != 2 {
					return usageErrorf("expected two arguments: the tree directory and the signing key file")
				}
				var seqp *uint64
				fs.Visit(func(f *flag.Flag) {
					if f.Name == "seq" {
						seqp = seq
					}
				})
				return dnsSign(env, env.args[0], env.args[1], *domain, seqp)
			}
		},
	})
	register(&command{
		name:    "dns to-txt",
		args:    "<tree-dir> [output.json]",
		summary: "print the TXT records of a signed tree as JSON (name -> content), or write them to a file",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			return func(_ context.Context, env *cmdEnv) error {
				if len(env.args) < 1 || len(env.args) > 2 {
					return usageErrorf("expected the tree directory and, optionally, the output file")
				}
				out := "-"
				if len(env.args) == 2 {
					out = env.args[1]
				}
				return dnsToTXT(env, env.args[0], out)
			}
		},
	})
	register(&command{
		name:    "dns sync",
		args:    "<enrtree-url> [tree-dir]",
		summary: "download a DNS discovery tree; prints its records one per line, optionally saves it as a tree directory",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			server := fs.String("server", "", "DNS server to query, ip:port (default: the system resolver)")
			timeout := fs.Duration("timeout", dnsdisc.DefaultTimeout, "timeout of each DNS lookup")
			rate := fs.Float64("rate", 20, "most DNS lookups per second")
			return func(ctx context.Context, env *cmdEnv) error {
				if len(env.args) < 1 || len(env.args) > 2 {
					return usageErrorf("expected the enrtree:// URL and, optionally, a directory to save the tree in")
				}
				if _, err := dnsdisc.ParseURL(env.args[0]); err != nil {
					return usageErrorf("%v", err)
				}
				if *timeout <= 0 || *rate <= 0 {
					return usageErrorf("--timeout and --rate must be positive")
				}
				cfg := dnsdisc.Config{Timeout: *timeout, RateLimit: *rate, RateBurst: max(1, int(*rate))}
				if *server != "" {
					r, err := dnsdisc.NewServerResolver(*server)
					if err != nil {
						return usageErrorf("invalid --server: %v", err)
					}
					cfg.Resolver = r
				}
				dir := ""
				if len(env.args) == 2 {
					dir = env.args[1]
				}
				return dnsSync(ctx, env, cfg, env.args[0], dir)
			}
		},
	})
}

func dnsSign(env *cmdEnv, dir, keyfile, domain string, seq *uint64) error {
	def, err := dnsdisc.ReadTreeDir(dir)
	if err != nil {
		return err
	}
	key, err := crypto.LoadNodeKey(keyfile)
	if err != nil {
		return fmt.Errorf("cannot read signing key (expected 64 hex characters, as a node key file): %w", err)
	}
	var old *dnsdisc.URL
	if def.Meta.URL != "" {
		u, err := dnsdisc.ParseURL(def.Meta.URL)
		if err != nil {
			return err
		}
		old = &u
	}
	if domain == "" {
		if old != nil {
			domain = old.Domain
		} else {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			domain = filepath.Base(abs)
		}
	}
	if seq == nil {
		next := def.Meta.Seq + 1
		seq = &next
	}
	t, err := dnsdisc.MakeTree(*seq, def.Nodes.Nodes(), def.Meta.Links)
	if err != nil {
		return err
	}
	url, err := t.Sign(key, domain)
	if err != nil {
		return fmt.Errorf("cannot sign for domain %q: %w", domain, err)
	}
	if old != nil && !old.Pubkey.IsEqual(key.PubKey()) {
		fmt.Fprintf(env.stderr, "warning: the signing key changed; clients using %s will reject the new tree\n", def.Meta.URL)
	}
	if err := dnsdisc.WriteTreeMeta(dir, dnsdisc.TreeMetaOf(url, t, time.Now().UTC())); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "signed tree of %d nodes and %d links, seq %d\n", len(t.Nodes()), len(t.Links()), t.Seq())
	fmt.Fprintln(env.stdout, url)
	return nil
}

func dnsToTXT(env *cmdEnv, dir, out string) error {
	def, err := dnsdisc.ReadTreeDir(dir)
	if err != nil {
		return err
	}
	domain, t, err := def.SignedTree()
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(t.ToTXT(domain), "", "    ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if out == "-" {
		_, err := env.stdout.Write(data)
		return err
	}
	return os.WriteFile(out, data, 0o644)
}

func dnsSync(ctx context.Context, env *cmdEnv, cfg dnsdisc.Config, url, dir string) error {
	base := cfg.Resolver
	if base == nil {
		base = dnsdisc.NetResolver{}
	}
	progress := &progressResolver{r: base, w: env.stderr}
	cfg.Resolver = progress
	c := dnsdisc.NewClient(cfg)
	start := time.Now()
	fmt.Fprintf(env.stderr, "syncing %s\n", url)
	t, err := c.SyncTree(ctx, url)
	if err != nil {
		return err
	}
	for _, n := range t.Nodes() {
		fmt.Fprintln(env.stdout, n.String())
	}
	for _, l := range t.Links() {
		fmt.Fprintf(env.stderr, "link: %s\n", l)
	}
	fmt.Fprintf(env.stderr, "done: seq %d, %d entries in %d lookups, %v\n",
		t.Seq(), t.Len()+1, progress.n.Load(), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(env.stdout, "# %d nodes, %d links\n", len(t.Nodes()), len(t.Links()))
	if dir == "" {
		return nil
	}
	if err := dnsdisc.WriteNodeSet(dir, dnsdisc.NewNodeSet(t.Nodes())); err != nil {
		return err
	}
	if err := dnsdisc.WriteTreeMeta(dir, dnsdisc.TreeMetaOf(url, t, time.Now().UTC())); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "saved to %s\n", dir)
	return nil
}

// progressResolver counts lookups and reports every progressEvery of them.
type progressResolver struct {
	r dnsdisc.Resolver
	w io.Writer
	n atomic.Int64
}

const progressEvery = 100

func (p *progressResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if n := p.n.Add(1); n%progressEvery == 0 {
		fmt.Fprintf(p.w, "%d lookups...\n", n)
	}
	return p.r.LookupTXT(ctx, name)
}

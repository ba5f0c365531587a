package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/trellis-p2p/trellis/crawl"
	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
)

func init() {
	register(&command{
		name:    "crawl",
		args:    "",
		summary: "walk the discovery DHT, read every node's record and RLPx Hello, write nodes.json and print a census",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			bootnodes := fs.String("bootnodes", "", "comma-separated enode URLs or enr: records to start from (required)")
			v5 := fs.Bool("v5", false, "crawl with discv5 instead of discv4")
			timeout := fs.Duration("timeout", 0, "stop the crawl after this long (default: when the walk finds nothing new)")
			out := fs.String("out", "nodes.json", "file to write the nodes to (\"-\": stdout, \"\": none)")
			listen := fs.String("listen", crawl.DefaultListenAddr, "UDP address of the crawler's discovery listener")
			conc := fs.Int("concurrency", crawl.DefaultConcurrency, "record requests and RLPx dials running at once")
			dialTimeout := fs.Duration("dial-timeout", crawl.DefaultDialTimeout, "time limit of each RLPx dial")
			idle := fs.Duration("idle", crawl.DefaultIdleTime, "end the walk when nothing new was found for this long")
			nodial := fs.Bool("nodial", false, "only discover, do not dial nodes over RLPx")
			nodekey := fs.String("nodekey", "", "node key file of the crawler (default: a new key for this run); nodes that trust its ID answer even when full")
			return func(ctx context.Context, env *cmdEnv) error {
				if len(env.args) != 0 {
					return usageErrorf("unexpected arguments %q; bootnodes go in --bootnodes", env.args)
				}
				boot, err := parseNodeList(*bootnodes)
				if err != nil {
					return err
				}
				if len(boot) == 0 {
					return usageErrorf("--bootnodes is required")
				}
				if *timeout < 0 || *conc <= 0 || *dialTimeout <= 0 || *idle <= 0 {
					return usageErrorf("--timeout must not be negative; --concurrency, --dial-timeout and --idle must be positive")
				}
				if *timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, *timeout)
					defer cancel()
				}
				var key *crypto.PrivateKey
				if *nodekey != "" {
					if key, err = crypto.LoadNodeKey(*nodekey); err != nil {
						return fmt.Errorf("cannot read --nodekey (expected 64 hex characters, as go-ethereum's nodekey): %w", err)
					}
				}
				res, err := crawl.Run(ctx, crawl.Config{
					Bootnodes:   boot,
					V5:          *v5,
					PrivateKey:  key,
					ListenAddr:  *listen,
					Concurrency: *conc,
					DialTimeout: *dialTimeout,
					IdleTime:    *idle,
					NoDial:      *nodial,
					Progress:    env.stderr,
				})
				if errors.Is(err, crawl.ErrConfig) {
					return fmt.Errorf("%w: %w", errUsage, err)
				} else if err != nil {
					return err
				}
				if err := writeNodesJSON(env, *out, res); err != nil {
					return err
				}
				fmt.Fprintf(env.stderr, "crawl: done in %v\n", res.Finished.Sub(res.Started).Round(time.Millisecond))
				_, err = res.Census().WriteTo(env.stdout)
				return err
			}
		},
	})
}

// parseNodeList parses comma-separated enode URLs and enr: records.
func parseNodeList(s string) ([]*enode.Node, error) {
	var nodes []*enode.Node
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := enode.Parse(f)
		if err != nil {
			return nil, usageErrorf("invalid bootnode %q: %v (want enode://<128 hex digits>@<ip>:<port> or an enr: record)", f, err)
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

func writeNodesJSON(env *cmdEnv, path string, res *crawl.Result) error {
	if path == "" {
		return nil
	}
	enc, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	enc = append(enc, '\n')
	if path == "-" {
		_, err = env.stdout.Write(enc)
		return err
	}
	if err := os.WriteFile(path, enc, 0o644); err != nil {
		return fmt.Errorf("cannot write --out: %w", err)
	}
	fmt.Fprintf(env.stderr, "crawl: wrote %d nodes to %s\n", len(res.Nodes), path)
	return nil
}

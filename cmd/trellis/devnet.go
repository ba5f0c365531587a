package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/trellis-p2p/trellis/devnet"
)

func init() {
	register(&command{
		name:    "devnet",
		summary: "run a local network of N nodes (discv4, or discv4 and v5, + RLPx + gossip) on 127.0.0.1 and watch it converge",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			n := fs.Int("n", devnet.DefaultNodes, "number of nodes")
			maxPeers := fs.Int("maxpeers", devnet.DefaultMaxPeers, "maximum peers per node")
			interval := fs.Duration("gossip-interval", devnet.DefaultGossipInterval, "time between two messages published by one node (0: no gossip)")
			warmup := fs.Duration("gossip-warmup", devnet.DefaultGossipWarmup, "publishing starts when the peer graph connects, or after this long (0: from the start)")
			sim := fs.Bool("sim", false, "run on an in-memory network instead of loopback sockets")
			v5 := fs.Bool("v5", false, "run discv5 beside discv4 on each node's discovery port; the dialer draws from both")
			duration := fs.Duration("duration", 0, "stop after this time and print a report (0: run until interrupted)")
			asJSON := fs.Bool("json", false, "print the final report as one JSON object on stdout")
			verbosity := fs.String("verbosity", "error", "node log level on stderr: debug, info, warn or error")
			return func(ctx context.Context, env *cmdEnv) error {
				if len(env.args) != 0 {
					return usageErrorf("unexpected arguments %q", env.args)
				}
				if *n < 2 {
					return usageErrorf("-n must be at least 2, got %d", *n)
				}
				if *maxPeers < 1 {
					return usageErrorf("--maxpeers must be at least 1, got %d", *maxPeers)
				}
				if *interval < 0 || *duration < 0 || *warmup < 0 {
					return usageErrorf("durations must not be negative")
				}
				var level slog.Level
				if err := level.UnmarshalText([]byte(*verbosity)); err != nil {
					return usageErrorf("invalid --verbosity %q", *verbosity)
				}
				cfg := devnet.Config{
					Nodes:          *n,
					MaxPeers:       *maxPeers,
					GossipInterval: *interval,
					Sim:            *sim,
					DiscoveryV5:    *v5,
					Logger:         slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level})),
				}
				if *interval == 0 {
					cfg.GossipInterval = -1
				}
				if *warmup == 0 {
					cfg.GossipWarmup = -1
				}
				return runDevnet(ctx, env, cfg, *duration, *asJSON)
			}
		},
	})
}

func runDevnet(ctx context.Context, env *cmdEnv, cfg devnet.Config, duration time.Duration, asJSON bool) error {
	net, err := devnet.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer net.Close()

	var deadline <-chan time.Time
	if duration > 0 {
		t := time.NewTimer(duration)
		defer t.Stop()
		deadline = t.C
	}
	// On a terminal the status line is redrawn every second; elsewhere
	// (a log file, a test) a plain line is printed every few seconds.
	live := isTerminal(env.stderr)
	every := 5 * time.Second
	if live {
		every = time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	drawn := 0 // lines of the live view on screen
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-deadline:
			break loop
		case <-tick.C:
			if live {
				drawn = drawStatus(env.stderr, net.Stats(), drawn)
			} else {
				fmt.Fprintln(env.stderr, statusLine(net.Stats()))
			}
		}
	}
	// Finish gets its own time: ctx may be what ended the run.
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	report := net.Finish(fctx)
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		return enc.Encode(report)
	}
	printReport(env.stdout, report)
	return nil
}

func statusLine(s devnet.Stats) string {
	conn := "not yet"
	if s.ConnectedAfter >= 0 {
		conn = fmt.Sprintf("at %.1fs", s.ConnectedAfter.Seconds())
		if !s.Connected {
			conn += " (now split)"
		}
	}
	return fmt.Sprintf("%5.0fs  nodes %d/%d with peers, largest component %d, connected %s | peers min/med/max %d/%g/%d | table %d/%g/%d | gossip sent %d delivered %d (counted %.1f%%)",
		s.Elapsed.Seconds(), s.NodesWithPeers, s.Nodes, s.LargestComponent, conn,
		s.PeersMin, s.PeersMedian, s.PeersMax, s.TableMin, s.TableMedian, s.TableMax,
		s.GossipSent, s.GossipDelivered, 100*s.GossipDeliveredFraction)
}

// drawStatus redraws the live view over the prev lines drawn before and
// returns how many lines it drew.
func drawStatus(w io.Writer, s devnet.Stats, prev int) int {
	conn := "not yet"
	if s.ConnectedAfter >= 0 {
		conn = fmt.Sprintf("at %.1fs", s.ConnectedAfter.Seconds())
		if !s.Connected {
			conn += ", now split"
		}
	}
	lines := []string{
		fmt.Sprintf("trellis devnet: %d nodes, running %.0fs", s.Nodes, s.Elapsed.Seconds()),
		fmt.Sprintf("  converging  %d/%d nodes with peers, largest component %d, connected %s",
			s.NodesWithPeers, s.Nodes, s.LargestComponent, conn),
		fmt.Sprintf("  peers       min %d  median %g  max %d", s.PeersMin, s.PeersMedian, s.PeersMax),
		fmt.Sprintf("  tables      min %d  median %g  max %d", s.TableMin, s.TableMedian, s.TableMax),
		fmt.Sprintf("  gossip      sent %d  delivered %d  counted fraction %.1f%%  queue drops %d",
			s.GossipSent, s.GossipDelivered, 100*s.GossipDeliveredFraction, s.GossipQueueDrops),
	}
	if prev > 0 {
		fmt.Fprintf(w, "\033[%dA", prev) // back to the first line of the last view
	}
	for _, l := range lines {
		fmt.Fprintf(w, "\r\033[K%s\n", l)
	}
	return len(lines)
}

func printReport(w io.Writer, r devnet.Report) {
	fmt.Fprintf(w, "nodes:               %d (sim: %v), ran %.1fs\n", r.Nodes, r.Sim, r.DurationSeconds)
	fmt.Fprintf(w, "nodes with peers:    %d\n", r.NodesWithPeers)
	fmt.Fprintf(w, "peers min/med/max:   %d / %g / %d\n", r.PeersMin, r.PeersMedian, r.PeersMax)
	fmt.Fprintf(w, "table min/med/max:   %d / %g / %d\n", r.TableMin, r.TableMedian, r.TableMax)
	if r.SecondsToConnected != nil {
		fmt.Fprintf(w, "graph connected:     %v (first after %.2fs)\n", r.GraphConnected, *r.SecondsToConnected)
	} else {
		fmt.Fprintf(w, "graph connected:     never (largest component %d)\n", r.LargestComponent)
	}
	fmt.Fprintf(w, "gossip:              %d sent, %d counted, delivered fraction %.4f, p50 %.2fms, p99 %.2fms\n",
		r.GossipSent, r.GossipCounted, r.GossipDeliveredFraction, r.GossipP50ms, r.GossipP99ms)
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

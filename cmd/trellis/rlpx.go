package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/trellis-p2p/trellis/crawl"
	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
)

func init() {
	register(&command{
		name:    "rlpx ping",
		args:    "<node>",
		summary: "connect to a node (enode URL or enr:) over RLPx, exchange Hello and print the remote's Hello",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			timeout := fs.Duration("timeout", 10*time.Second, "time limit for connecting and both handshakes")
			nodekey := fs.String("nodekey", "", "node key file to present (default: a new key for this run)")
			name := fs.String("name", "trellis/rlpx-ping", "client name to announce in our Hello")
			return func(ctx context.Context, env *cmdEnv) error {
				if len(env.args) != 1 {
					return usageErrorf("expected one argument: the node (enode://<public key>@<host>:<port> or enr:...)")
				}
				n, err := enode.Parse(env.args[0])
				if err != nil {
					return usageErrorf("invalid node %q: %v (want enode://<128 hex digits>@<host>:<tcp port>, or an enr: record)", env.args[0], err)
				}
				if *timeout <= 0 {
					return usageErrorf("--timeout must be positive, got %v", *timeout)
				}
				var key *crypto.PrivateKey
				if *nodekey != "" {
					if key, err = crypto.LoadNodeKey(*nodekey); err != nil {
						return fmt.Errorf("cannot read --nodekey (expected 64 hex characters, as go-ethereum's nodekey): %w", err)
					}
				} else if key, err = crypto.GenerateKey(); err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(ctx, *timeout)
				defer cancel()
				res, err := crawl.DialHello(ctx, n, key, *name)
				if err != nil {
					return explainPingError(err, *timeout)
				}
				printHelloResult(env.stdout, res)
				return nil
			}
		},
	})
}

// explainPingError adds what to do about the common failures.
func explainPingError(err error, timeout time.Duration) error {
	var (
		disc  *crawl.DiscError
		dns   *net.DNSError
		stage *crawl.StageError
	)
	switch {
	case errors.Is(err, errUsage):
		return err
	case errors.Is(err, crawl.ErrNoEndpoint):
		return fmt.Errorf("%w: %w", errUsage, err)
	case errors.As(err, &disc):
		switch disc.Reason {
		case p2p.DiscTooManyPeers:
			return fmt.Errorf("%w; it has no free peer slot: try again later, or have it add us as a trusted peer", err)
		case p2p.DiscUselessPeer:
			return fmt.Errorf("%w; it wants peers that share one of its protocols", err)
		}
		return err
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("interrupted: %w", err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w; no answer within %v: check the address and port, or raise --timeout", err, timeout)
	case errors.As(err, &dns):
		return fmt.Errorf("%w; check the host name in the URL", err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w; nothing listens there: is the node running, and is that its TCP (not discovery) port?", err)
	case errors.As(err, &stage) && stage.Stage == "handshake":
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return fmt.Errorf("%w; the node closed the connection during the RLPx handshake: is the public key in the URL the node's key, and is this an RLPx port?", err)
		}
		return fmt.Errorf("%w; the RLPx handshake failed: is this an RLPx port?", err)
	case errors.As(err, &stage) && stage.Stage == "hello" && errors.Is(err, io.EOF):
		return fmt.Errorf("%w; the node closed the connection without sending Hello or a disconnect reason", err)
	}
	return err
}

func printHelloResult(w io.Writer, r *crawl.HelloResult) {
	h := r.Hello
	caps := make([]string, len(h.Caps))
	for i, c := range h.Caps {
		caps[i] = c.String()
	}
	fmt.Fprintf(w, "Connected to %v in %v, handshakes in %v\n", r.Addr, r.Connected.Round(time.Microsecond), r.Handshake.Round(time.Microsecond))
	fmt.Fprintf(w, "name:        %s\n", h.Name)
	fmt.Fprintf(w, "version:     %d\n", h.Version)
	fmt.Fprintf(w, "caps:        %s\n", strings.Join(caps, " "))
	fmt.Fprintf(w, "listen port: %d\n", h.ListenPort)
	if pub, err := crypto.UnmarshalPubkey(append([]byte{4}, h.Key...)); err == nil {
		fmt.Fprintf(w, "id:          %s\n", enode.PubkeyToIDV4(pub))
	}
	fmt.Fprintf(w, "key:         %x\n", h.Key)
	if !r.KeyMatch {
		fmt.Fprintln(w, "warning: the Hello names another node key than the one the handshake authenticated")
	}
	if len(h.Rest) > 0 {
		fmt.Fprintf(w, "extra:       %d fields after the node key (EIP-8)\n", len(h.Rest))
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"time"

	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enode/nodedb"
)

// The discv5 commands share the flags and the socket set-up of the discv4
// commands (discv4Options); only the listener differs.

func init() {
	register(listenCommand("discv5 listen",
		"run a discovery v5 node; prints its enr: record (first line), then serves until interrupted",
		func(ctx context.Context, env *cmdEnv, o *discv4Options, tcp int) error {
			node, err := startV5(env, o, tcp)
			if err != nil {
				return err
			}
			defer node.close()
			fmt.Fprintln(env.stdout, node.l.Self().String())
			<-ctx.Done()
			return nil
		}))
	register(&command{
		name:    "discv5 ping",
		args:    "<node>",
		summary: "send a discovery v5 PING to a node (enr: record or enode URL) and print its PONG",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			o := discv4Flags(fs, "0.0.0.0:0")
			return func(ctx context.Context, env *cmdEnv) error {
				return discv5Client(ctx, env, o, func(ctx context.Context, l *discover.UDPv5, n *enode.Node) error {
					start := time.Now()
					pong, err := l.Ping(ctx, n)
					if err != nil {
						return fmt.Errorf("no PONG from %s at %v: %w", n.ID().TerminalString(), udpEndpoint(n), err)
					}
					// A fresh listener has no session with n, so the time
					// covers the handshake's round trip as well as the PING's.
					rtt := time.Since(start).Round(time.Microsecond)
					fmt.Fprintf(env.stdout, "PONG from %s in %v (handshake included): enr-seq %d, sees us at %v\n",
						n.ID().TerminalString(), rtt, pong.ENRSeq, netip.AddrPortFrom(pong.ToIP, pong.ToPort))
					return nil
				})
			}
		},
	})
	register(&command{
		name:    "discv5 resolve",
		args:    "<node>",
		summary: "print the newest record of a node (enr: or enode URL): ask the node, else look it up through the bootnodes",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			o := discv4Flags(fs, "0.0.0.0:0")
			return func(ctx context.Context, env *cmdEnv) error {
				return discv5Client(ctx, env, o, func(ctx context.Context, l *discover.UDPv5, n *enode.Node) error {
					rn, err := resolveV5(ctx, l, n)
					if err != nil {
						return err
					}
					printNode(env.stdout, rn)
					return nil
				})
			}
		},
	})
}

// discv5Node is a running discv5 listener with the database it owns.
type discv5Node struct {
	l  *discover.UDPv5
	db *nodedb.DB
}

func (n *discv5Node) close() {
	n.l.Close()
	if n.db != nil {
		n.db.Close()
	}
}

// startV5 opens the socket and the database and starts a discv5 listener.
func startV5(env *cmdEnv, o *discv4Options, tcp int) (*discv5Node, error) {
	s, err := o.open(env, tcp)
	if err != nil {
		return nil, err
	}
	l, err := discover.ListenV5(s.conn, s.ln, s.cfg)
	if err != nil {
		s.abort()
		return nil, err
	}
	return &discv5Node{l: l, db: s.db}, nil
}

// discv5Client runs one request against the node given as argument.
func discv5Client(ctx context.Context, env *cmdEnv, o *discv4Options, do func(context.Context, *discover.UDPv5, *enode.Node) error) error {
	n, err := targetNode(env, "enr: record or enode:// URL")
	if err != nil {
		return err
	}
	node, err := startV5(env, o, 0)
	if err != nil {
		return err
	}
	defer node.close()
	ctx, cancel := context.WithTimeout(ctx, *o.timeout)
	defer cancel()
	return do(ctx, node.l, n)
}

// udpEndpoint is the address requests to n go to, for error messages.
func udpEndpoint(n *enode.Node) string {
	ep, _ := n.UDPEndpoint()
	return ep.String()
}

// errNotResolved is returned by resolve when neither the node nor a lookup
// produced its record.
var errNotResolved = errors.New("record not found")

// resolveV5 finds the newest record of n: the one the node sends when asked
// (FINDNODE at distance 0), else the one a lookup of its ID finds, and of
// those and n the one with the highest sequence number.
func resolveV5(ctx context.Context, l *discover.UDPv5, n *enode.Node) (*enode.Node, error) {
	newest := func(a *enode.Node) *enode.Node {
		if a.Seq() >= n.Seq() {
			return a
		}
		return n
	}
	rn, reqErr := l.RequestENR(ctx, n)
	if reqErr == nil {
		return newest(rn), nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: asking %v: %w", errNotResolved, udpEndpoint(n), reqErr)
	}
	// The node did not answer at the address we have: it may have moved, so
	// look for its current record where the network keeps it.
	var found *enode.Node
	for _, c := range l.Lookup(ctx, n.ID()) {
		if c.ID() == n.ID() && (found == nil || c.Seq() > found.Seq()) {
			found = c
		}
	}
	if found == nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: asking %v: %w; lookup: %w", errNotResolved, udpEndpoint(n), reqErr, discover.ErrTimeout)
		}
		return nil, fmt.Errorf("%w: asking %v: %w; a lookup through the bootnodes did not find it either", errNotResolved, udpEndpoint(n), reqErr)
	}
	// The record found may be older than what the node would say itself at
	// its new address.
	if rn, err := l.RequestENR(ctx, found); err == nil && rn.Seq() > found.Seq() {
		found = rn
	}
	return newest(found), nil
}

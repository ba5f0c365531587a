package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enode/nodedb"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/netutil"
)

// listenCommand makes a "... listen" command: the discovery flags plus
// --tcp, no arguments, and serve, which runs until ctx ends.
func listenCommand(name, summary string, serve func(ctx context.Context, env *cmdEnv, o *discv4Options, tcp int) error) *command {
	return &command{
		name:    name,
		summary: summary,
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			o := discv4Flags(fs, "127.0.0.1:30303")
			tcp := fs.Int("tcp", 0, "TCP port to announce in the record (0: none, discovery only)")
			return func(ctx context.Context, env *cmdEnv) error {
				if len(env.args) != 0 {
					return usageErrorf("unexpected arguments %q", env.args)
				}
				if *tcp < 0 || *tcp > 65535 {
					return usageErrorf("invalid --tcp %d", *tcp)
				}
				return serve(ctx, env, o, *tcp)
			}
		},
	}
}

func init() {
	register(listenCommand("discv4 listen",
		"run a discovery v4 node; prints its enode URL and record, then serves until interrupted",
		discv4Listen))
	register(&command{
		name:    "discv4 ping",
		args:    "<node>",
		summary: "send a discovery v4 PING to a node (enode URL or enr:) and print its PONG",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			o := discv4Flags(fs, "0.0.0.0:0")
			return func(ctx context.Context, env *cmdEnv) error {
				return discv4Client(ctx, env, o, func(ctx context.Context, l *discover.UDPv4, n *enode.Node) error {
					start := time.Now()
					pong, err := l.Ping(ctx, n)
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "PONG from %s in %v: enr-seq %d, sees us at %v\n",
						n.ID().TerminalString(), time.Since(start).Round(time.Microsecond), pong.ENRSeq, pong.To.UDPAddr())
					return nil
				})
			}
		},
	})
	register(&command{
		name:    "discv4 requestenr",
		args:    "<node>",
		summary: "ask a node for its record (EIP-868 ENRRequest) and print it",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			o := discv4Flags(fs, "0.0.0.0:0")
			return func(ctx context.Context, env *cmdEnv) error {
				return discv4Client(ctx, env, o, func(ctx context.Context, l *discover.UDPv4, n *enode.Node) error {
					rn, err := l.RequestENR(ctx, n)
					if err != nil {
						return err
					}
					printNode(env.stdout, rn)
					return nil
				})
			}
		},
	})
	register(&command{
		name:    "discv4 resolve",
		args:    "<node>",
		summary: "find the latest record of a node: ask it, else look it up through the bootnodes",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			o := discv4Flags(fs, "0.0.0.0:0")
			return func(ctx context.Context, env *cmdEnv) error {
				return discv4Client(ctx, env, o, func(ctx context.Context, l *discover.UDPv4, n *enode.Node) error {
					printNode(env.stdout, l.Resolve(ctx, n))
					return nil
				})
			}
		},
	})
}

// discv4Options are the flags shared by the discv4 commands.
type discv4Options struct {
	addr        *string
	bootnodes   *string
	nodekey     *string
	nodedb      *string
	netrestrict *string
	verbosity   *string
	timeout     *time.Duration
}

func discv4Flags(fs *flag.FlagSet, defaultAddr string) *discv4Options {
	return &discv4Options{
		addr:        fs.String("addr", defaultAddr, "UDP address to listen on"),
		bootnodes:   fs.String("bootnodes", "", "comma-separated bootnodes (enode URLs or enr: records)"),
		nodekey:     fs.String("nodekey", "", "node key file (default: a new key for this run)"),
		nodedb:      fs.String("nodedb", "", "node database file (default: in memory)"),
		netrestrict: fs.String("netrestrict", "", "comma-separated CIDR networks to restrict discovery to"),
		verbosity:   fs.String("verbosity", "warn", "log level on stderr: debug, info, warn or error"),
		timeout:     fs.Duration("timeout", 10*time.Second, "time limit for ping, requestenr and resolve"),
	}
}

// discv4Node is a running listener with what it owns.
type discv4Node struct {
	l    *discover.UDPv4
	conn *net.UDPConn
	db   *nodedb.DB
}

func (n *discv4Node) close() {
	n.l.Close()
	if n.db != nil {
		n.db.Close()
	}
}

// start opens the socket, the database and the listener. tcp is the TCP port
// to announce.
func (o *discv4Options) start(env *cmdEnv, tcp int) (*discv4Node, error) {
	s, err := o.open(env, tcp)
	if err != nil {
		return nil, err
	}
	l, err := discover.ListenV4(s.conn, s.ln, s.cfg)
	if err != nil {
		s.abort()
		return nil, err
	}
	return &discv4Node{l: l, conn: s.conn, db: s.db}, nil
}

// discSocket is what a discovery listener (v4, v5 or both) starts on: the
// socket, the local record and the configuration the flags describe.
type discSocket struct {
	conn *net.UDPConn
	ln   *enode.LocalNode
	cfg  discover.Config
	db   *nodedb.DB
}

// abort releases the socket and database of a listener that did not start.
func (s *discSocket) abort() {
	s.conn.Close()
	if s.db != nil {
		s.db.Close()
	}
}

// open parses the flags and opens the socket and the database. tcp is the
// TCP port to announce in the record.
func (o *discv4Options) open(env *cmdEnv, tcp int) (*discSocket, error) {
	addr, err := netip.ParseAddrPort(*o.addr)
	if err != nil {
		return nil, usageErrorf("invalid --addr %q (want ip:port): %v", *o.addr, err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*o.verbosity)); err != nil {
		return nil, usageErrorf("invalid --verbosity %q", *o.verbosity)
	}
	cfg := discover.Config{Log: slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))}
	if *o.bootnodes != "" {
		for _, s := range strings.Split(*o.bootnodes, ",") {
			n, err := enode.Parse(strings.TrimSpace(s))
			if err != nil {
				return nil, usageErrorf("invalid bootnode %q: %v", s, err)
			}
			cfg.Bootnodes = append(cfg.Bootnodes, n)
		}
	}
	if *o.netrestrict != "" {
		if cfg.NetRestrict, err = netutil.ParseNetlist(*o.netrestrict); err != nil {
			return nil, usageErrorf("invalid --netrestrict: %v", err)
		}
	}
	if *o.nodekey != "" {
		if cfg.PrivateKey, err = crypto.LoadNodeKey(*o.nodekey); err != nil {
			return nil, fmt.Errorf("cannot read node key: %w", err)
		}
	} else if cfg.PrivateKey, err = crypto.GenerateKey(); err != nil {
		return nil, err
	}

	node := new(discSocket)
	if *o.nodedb != "" {
		if node.db, err = nodedb.Open(*o.nodedb); err != nil {
			return nil, fmt.Errorf("cannot open node database: %w", err)
		}
		cfg.DB = node.db
	}
	if node.conn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr)); err != nil {
		if node.db != nil {
			node.db.Close()
		}
		return nil, err
	}
	local := node.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	var seqs enode.SeqStore // a nil *nodedb.DB must not become a non-nil interface
	if node.db != nil {
		seqs = node.db
	}
	ln := enode.NewLocalNode(seqs, cfg.PrivateKey)
	ip := local.Addr().Unmap()
	if ip.IsUnspecified() {
		// Other nodes will tell us our address; until then the record
		// names the loopback address.
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	ln.SetFallbackIP(ip)
	ln.SetFallbackUDP(int(local.Port()))
	if tcp != 0 {
		ln.Set(enr.TCP(tcp))
	}
	node.ln, node.cfg = ln, cfg
	return node, nil
}

func discv4Listen(ctx context.Context, env *cmdEnv, o *discv4Options, tcp int) error {
	node, err := o.start(env, tcp)
	if err != nil {
		return err
	}
	defer node.close()
	self := node.l.Self()
	fmt.Fprintln(env.stdout, self.URLv4())
	fmt.Fprintln(env.stdout, self.String())
	<-ctx.Done()
	return nil
}

// discv4Client runs one request against the node given as argument.
func discv4Client(ctx context.Context, env *cmdEnv, o *discv4Options, do func(context.Context, *discover.UDPv4, *enode.Node) error) error {
	n, err := targetNode(env, "enode:// URL or enr: record")
	if err != nil {
		return err
	}
	node, err := o.start(env, 0)
	if err != nil {
		return err
	}
	defer node.close()
	ctx, cancel := context.WithTimeout(ctx, *o.timeout)
	defer cancel()
	return do(ctx, node.l, n)
}

// targetNode parses the one argument of a discovery client command: a node
// (described by forms, for the usage error) with an endpoint to contact.
func targetNode(env *cmdEnv, forms string) (*enode.Node, error) {
	if len(env.args) != 1 {
		return nil, usageErrorf("expected one argument: the node (%s)", forms)
	}
	n, err := enode.Parse(env.args[0])
	if err != nil {
		return nil, usageErrorf("invalid node %q: %v", env.args[0], err)
	}
	if err := n.ValidateComplete(); err != nil {
		return nil, usageErrorf("node %q cannot be contacted: %v", env.args[0], err)
	}
	return n, nil
}

func printNode(w io.Writer, n *enode.Node) {
	fmt.Fprintln(w, n.String())
	fmt.Fprintln(w, n.URLv4())
	fmt.Fprintf(w, "seq %d, id %s\n", n.Seq(), n.ID())
}

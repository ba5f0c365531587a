package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/nat"
	"github.com/trellis-p2p/trellis/netutil"
	"github.com/trellis-p2p/trellis/node"
)

// clientVersion is announced in Hello as Trellis/[identity/]version/os-arch/go.
const clientVersion = "v0.1.0"

// nodeFlags are the options of "trellis node", spelled as go-ethereum's
// flags of the same meaning.
type nodeFlags struct {
	datadir, identity, nodekey, nodekeyhex string
	port, maxPeers, maxPending             int
	discPort                               string
	noDiscover, discV4, discV5             bool
	bootnodes, dnsDisc, netrestrict, nat   string
	dnsServer                              string
	natLifetime                            time.Duration
	http, ws, metrics                      bool
	httpAddr, wsAddr, metricsAddr          string
	httpPort, wsPort, metricsPort          int
	verbosity                              int
	logFormat, config                      string
	vhosts                                 string
	static, trusted                        []string // from --config
}

func init() {
	register(&command{
		name:    "node",
		summary: "run a devp2p node with admin JSON-RPC (HTTP, WebSocket) and Prometheus metrics",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			var f nodeFlags
			fs.StringVar(&f.datadir, "datadir", defaultDatadir(), "data directory: node key (nodekey), node database (nodes.db), static-nodes.json, trusted-nodes.json, LOCK")
			fs.StringVar(&f.config, "config", "", "TOML config file with go-ethereum's keys ([Node], [Node.P2P] incl. StaticNodes and TrustedNodes, [Metrics]); flags override it")
			fs.StringVar(&f.identity, "identity", "", "custom node name, announced as Trellis/<identity>/...")
			fs.StringVar(&f.nodekey, "nodekey", "", "node key file (64 hex characters); default <datadir>/nodekey, created if missing")
			fs.StringVar(&f.nodekeyhex, "nodekeyhex", "", "node key as hex (for testing)")
			fs.IntVar(&f.port, "port", 30303, "TCP port of the p2p listener (0 picks a free port)")
			fs.StringVar(&f.discPort, "discovery.port", "", "UDP port of discovery (default: the value of --port)")
			fs.IntVar(&f.maxPeers, "maxpeers", 50, "maximum number of peers (trusted peers may exceed it)")
			fs.IntVar(&f.maxPending, "maxpendpeers", 0, "maximum number of inbound connections in handshake (0: 50)")
			fs.BoolVar(&f.noDiscover, "nodiscover", false, "disable discovery: no discovery socket, dial only static peers")
			fs.BoolVar(&f.discV4, "discovery.v4", true, "run discv4 discovery")
			fs.BoolVar(&f.discV5, "discovery.v5", false, "run discv5 discovery, on the discovery port beside discv4 (or alone with --discovery.v4=false)")
			fs.StringVar(&f.bootnodes, "bootnodes", "", "comma-separated enode URLs or ENRs that seed discovery")
			fs.StringVar(&f.dnsDisc, "discovery.dns", "", "comma-separated enrtree:// URLs (EIP-1459) whose nodes are dialed")
			fs.StringVar(&f.dnsServer, "discovery.dns.server", "", "ip:port of the DNS server that --discovery.dns queries (default: the system resolver)")
			fs.StringVar(&f.netrestrict, "netrestrict", "", "comma-separated CIDR networks: connect only to these")
			fs.StringVar(&f.nat, "nat", "none", "NAT port mapping: none|any|upnp|pmp|pcp|stun|extip:<IP>. Off by default: \"any\" probes the local gateway (UPnP/SSDP multicast, NAT-PMP, PCP), which a node behind a home router wants and a node on a server or a test machine does not")
			fs.DurationVar(&f.natLifetime, "nat.lifetime", nat.DefaultLifetime, "lifetime asked for each port mapping; renewed at half of it (at least 2s)")
			fs.BoolVar(&f.http, "http", false, "enable the admin JSON-RPC server over HTTP")
			fs.StringVar(&f.httpAddr, "http.addr", "127.0.0.1", "HTTP-RPC listening interface")
			fs.IntVar(&f.httpPort, "http.port", 8545, "HTTP-RPC port (0 picks a free port)")
			fs.BoolVar(&f.ws, "ws", false, "enable the admin JSON-RPC server over WebSocket (with admin_subscribe)")
			fs.StringVar(&f.vhosts, "http.vhosts", "localhost", "comma-separated host names the HTTP and WS endpoints accept in the Host header ('*': any); IP addresses are always accepted")
			fs.StringVar(&f.wsAddr, "ws.addr", "127.0.0.1", "WS-RPC listening interface")
			fs.IntVar(&f.wsPort, "ws.port", 8546, "WS-RPC port (0 picks a free port)")
			fs.BoolVar(&f.metrics, "metrics", false, "serve Prometheus metrics at /metrics")
			fs.StringVar(&f.metricsAddr, "metrics.addr", "127.0.0.1", "metrics listening interface")
			fs.IntVar(&f.metricsPort, "metrics.port", 6060, "metrics port (0 picks a free port)")
			fs.IntVar(&f.verbosity, "verbosity", 3, "log level: 0 silent, 1 error, 2 warn, 3 info, 4 debug, 5 trace")
			fs.StringVar(&f.logFormat, "log.format", "terminal", "log format: terminal, logfmt or json")
			return func(ctx context.Context, env *cmdEnv) error {
				if len(env.args) != 0 {
					return usageErrorf("unexpected arguments %q", env.args)
				}
				if f.config != "" {
					if err := applyConfigFile(f.config, fs, &f); err != nil {
						return err
					}
				}
				return runNode(ctx, env, &f)
			}
		},
	})
}

func defaultDatadir() string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".trellis")
	}
	return ".trellis"
}

func runNode(ctx context.Context, env *cmdEnv, f *nodeFlags) error {
	log, err := newLogger(env.stderr, f.verbosity, f.logFormat)
	if err != nil {
		return err
	}
	cfg, err := f.nodeConfig(log)
	if err != nil {
		return err
	}
	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.Start(); err != nil {
		return explainStartError(err, f)
	}
	self := n.Server().Self()
	fmt.Fprintln(env.stdout, self.URLv4())
	fmt.Fprintln(env.stdout, self.String())
	ep := n.Endpoints()
	if ep.HTTP != "" {
		fmt.Fprintf(env.stdout, "http: http://%s\n", ep.HTTP)
	}
	if ep.WS != "" {
		fmt.Fprintf(env.stdout, "ws: ws://%s\n", ep.WS)
	}
	if ep.Metrics != "" {
		fmt.Fprintf(env.stdout, "metrics: http://%s/metrics\n", ep.Metrics)
	}
	<-ctx.Done()
	return n.Close()
}

func (f *nodeFlags) nodeConfig(log *slog.Logger) (node.Config, error) {
	cfg := node.Config{DataDir: f.datadir, Logger: log}
	if f.datadir == "" {
		return cfg, usageErrorf("--datadir must not be empty")
	}
	p := &cfg.P2P
	var err error
	switch {
	case f.nodekey != "" && f.nodekeyhex != "":
		return cfg, usageErrorf("--nodekey and --nodekeyhex are mutually exclusive")
	case f.nodekey != "":
		if p.PrivateKey, err = crypto.LoadNodeKey(f.nodekey); err != nil {
			return cfg, fmt.Errorf("cannot read --nodekey %s (want 64 hex characters, as written by 'trellis key generate'): %w", f.nodekey, err)
		}
	case f.nodekeyhex != "":
		if p.PrivateKey, err = crypto.HexToPrivateKey(f.nodekeyhex); err != nil {
			return cfg, usageErrorf("invalid --nodekeyhex (want 64 hex characters): %v", err)
		}
	}
	p.Name = clientName(f.identity)
	p.MaxPeers = f.maxPeers
	p.MaxPendingPeers = f.maxPending
	if err := checkPort("--port", f.port); err != nil {
		return cfg, err
	}
	p.ListenAddr = ":" + strconv.Itoa(f.port)
	if f.netrestrict != "" {
		if p.NetRestrict, err = netutil.ParseNetlist(f.netrestrict); err != nil {
			return cfg, usageErrorf("invalid --netrestrict (want CIDR networks such as 10.0.0.0/8,192.168.0.0/16): %v", err)
		}
	}
	if f.natLifetime < nat.MinLifetime {
		return cfg, usageErrorf("invalid --nat.lifetime %v: at least %v", f.natLifetime, nat.MinLifetime)
	}
	cfg.NATLifetime = f.natLifetime
	if cfg.NAT, err = nat.Parse(f.nat); err != nil {
		return cfg, usageErrorf("invalid --nat: %v", err)
	}
	if cfg.Bootnodes, err = parseNodes("--bootnodes", f.bootnodes); err != nil {
		return cfg, err
	}
	if p.StaticNodes, err = parseNodes("StaticNodes of --config", strings.Join(f.static, ",")); err != nil {
		return cfg, err
	}
	if p.TrustedNodes, err = parseNodes("TrustedNodes of --config", strings.Join(f.trusted, ",")); err != nil {
		return cfg, err
	}
	cfg.VirtualHosts = splitList(f.vhosts)
	if f.dnsDisc != "" {
		cfg.DNSDiscovery = splitList(f.dnsDisc)
		cfg.DNSServer = f.dnsServer
	}
	p.NoDiscovery = f.noDiscover
	if !f.noDiscover && (f.discV4 || f.discV5) {
		port := f.port
		if f.discPort != "" {
			if port, err = strconv.Atoi(f.discPort); err != nil {
				return cfg, usageErrorf("invalid --discovery.port %q: want a number", f.discPort)
			}
		}
		if err := checkPort("--discovery.port", port); err != nil {
			return cfg, err
		}
		// Both protocols share the one port of the node record.
		if f.discV4 {
			cfg.DiscoveryV4Addr = ":" + strconv.Itoa(port)
		}
		if f.discV5 {
			cfg.DiscoveryV5Addr = ":" + strconv.Itoa(port)
		}
	}
	if f.noDiscover {
		cfg.DNSDiscovery = nil
	}
	if f.http {
		if err := checkPort("--http.port", f.httpPort); err != nil {
			return cfg, err
		}
		cfg.HTTPAddr = net.JoinHostPort(f.httpAddr, strconv.Itoa(f.httpPort))
	}
	if f.ws {
		if err := checkPort("--ws.port", f.wsPort); err != nil {
			return cfg, err
		}
		cfg.WSAddr = net.JoinHostPort(f.wsAddr, strconv.Itoa(f.wsPort))
	}
	if f.metrics {
		if err := checkPort("--metrics.port", f.metricsPort); err != nil {
			return cfg, err
		}
		cfg.MetricsAddr = net.JoinHostPort(f.metricsAddr, strconv.Itoa(f.metricsPort))
	}
	return cfg, nil
}

func clientName(identity string) string {
	parts := []string{"Trellis"}
	if identity != "" {
		parts = append(parts, identity)
	}
	parts = append(parts, clientVersion, runtime.GOOS+"-"+runtime.GOARCH, runtime.Version())
	return strings.Join(parts, "/")
}

func checkPort(flag string, port int) error {
	if port < 0 || port > 65535 {
		return usageErrorf("invalid %s %d: want 0 to 65535", flag, port)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func parseNodes(flag, list string) ([]*enode.Node, error) {
	var nodes []*enode.Node
	for _, u := range splitList(list) {
		n, err := enode.Parse(u)
		if err != nil {
			return nil, usageErrorf("invalid %s entry %q (want enode://<128 hex characters>@<ip>:<port> or enr:...): %v", flag, u, err)
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// explainStartError adds what to do to the errors a user can fix.
func explainStartError(err error, f *nodeFlags) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return err
	}
	switch {
	case errors.Is(err, node.ErrEndpointListen) && strings.Contains(err.Error(), "discovery"):
		return fmt.Errorf("%w\nthe discovery UDP port is in use (another node?): pick another with --discovery.port", err)
	case errors.Is(err, node.ErrEndpointListen):
		return fmt.Errorf("%w\nthe port is in use (another node?): pick others with --http.port, --ws.port or --metrics.port", err)
	default:
		return fmt.Errorf("%w\nTCP port %d is in use (another node?): pick another with --port, or --port 0 for a free one", err, f.port)
	}
}

// newLogger maps go-ethereum's --verbosity levels onto slog.
func newLogger(w io.Writer, verbosity int, format string) (*slog.Logger, error) {
	var level slog.Level
	switch {
	case verbosity <= 0:
		w = io.Discard
	case verbosity == 1:
		level = slog.LevelError
	case verbosity == 2:
		level = slog.LevelWarn
	case verbosity == 3:
		level = slog.LevelInfo
	case verbosity == 4:
		level = slog.LevelDebug
	default:
		level = slog.LevelDebug - 4 // trace
	}
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "terminal", "logfmt":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageErrorf("invalid --log.format %q: want terminal, logfmt or json", format)
}

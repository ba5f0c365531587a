package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// nodeConfigFile is the TOML file of --config. Its keys are go-ethereum's
// for the same settings ([Node], [Node.P2P], [Metrics] of geth dumpconfig),
// plus DiscoveryDNS. A flag given on the command line overrides the file.
//
//	[Node]
//	DataDir = "/var/lib/trellis"
//	UserIdent = "bootnode-1"
//	HTTPHost = "127.0.0.1"   # non-empty enables HTTP-RPC, as in geth
//	HTTPPort = 8545
//	HTTPVirtualHosts = ["localhost"]
//	WSHost = ""
//	WSPort = 8546
//
//	[Node.P2P]
//	MaxPeers = 50
//	MaxPendingPeers = 0
//	NoDiscovery = false
//	DiscoveryV4 = true
//	ListenAddr = ":30303"
//	DiscAddr = ""
//	BootstrapNodes = ["enode://..."]
//	StaticNodes = ["enode://..."]
//	TrustedNodes = ["enode://..."]
//	NetRestrict = "10.0.0.0/8"
//	NAT = "none"
//	DiscoveryDNS = ["enrtree://..."]
//
//	[Metrics]
//	Enabled = true
//	HTTP = "127.0.0.1"
//	Port = 6060
type nodeConfigFile struct {
	Node struct {
		DataDir          *string
		UserIdent        *string
		HTTPHost         *string
		HTTPPort         *int
		HTTPVirtualHosts []string
		WSHost           *string
		WSPort           *int
		P2P              struct {
			MaxPeers        *int
			MaxPendingPeers *int
			NoDiscovery     *bool
			DiscoveryV4     *bool
			DiscoveryV5     *bool
			ListenAddr      *string
			DiscAddr        *string
			BootstrapNodes  []string
			StaticNodes     []string
			TrustedNodes    []string
			NetRestrict     *string
			NAT             *string
			DiscoveryDNS    []string
		}
	}
	Metrics struct {
		Enabled *bool
		HTTP    *string
		Port    *int
	}
}

// maxConfigFileSize bounds --config; a config holding thousands of static
// nodes stays far below it.
const maxConfigFileSize = 4 << 20

// applyConfigFile sets the flags that the file sets and the command line
// does not, and returns the file's static and trusted nodes.
func applyConfigFile(path string, fs *flag.FlagSet, f *nodeFlags) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read --config: %w", err)
	}
	if len(data) > maxConfigFileSize {
		return fmt.Errorf("--config %s: larger than %d bytes", path, maxConfigFileSize)
	}
	var c nodeConfigFile
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = k.String()
		}
		return fmt.Errorf("--config %s: unknown keys %s", path, strings.Join(names, ", "))
	}

	onCmdline := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { onCmdline[fl.Name] = true })
	var errs []error
	set := func(name, value string) {
		if onCmdline[name] {
			return
		}
		if err := fs.Set(name, value); err != nil {
			errs = append(errs, fmt.Errorf("--config %s: %s: %w", path, name, err))
		}
	}
	str := func(name string, v *string) {
		if v != nil {
			set(name, *v)
		}
	}
	num := func(name string, v *int) {
		if v != nil {
			set(name, strconv.Itoa(*v))
		}
	}
	boolean := func(name string, v *bool) {
		if v != nil {
			set(name, strconv.FormatBool(*v))
		}
	}
	list := func(name string, v []string) {
		if v != nil {
			set(name, strings.Join(v, ","))
		}
	}
	port := func(name, key string, addr *string) {
		if addr == nil || *addr == "" {
			return
		}
		host, p, err := net.SplitHostPort(*addr)
		if err != nil || (host != "" && host != "0.0.0.0" && host != "::") {
			errs = append(errs, fmt.Errorf("--config %s: %s %q: want \":<port>\" (all interfaces)", path, key, *addr))
			return
		}
		set(name, p)
	}

	n, p := &c.Node, &c.Node.P2P
	str("datadir", n.DataDir)
	str("identity", n.UserIdent)
	if n.HTTPHost != nil && *n.HTTPHost != "" {
		set("http", "true")
		str("http.addr", n.HTTPHost)
	}
	num("http.port", n.HTTPPort)
	list("http.vhosts", n.HTTPVirtualHosts)
	if n.WSHost != nil && *n.WSHost != "" {
		set("ws", "true")
		str("ws.addr", n.WSHost)
	}
	num("ws.port", n.WSPort)
	num("maxpeers", p.MaxPeers)
	num("maxpendpeers", p.MaxPendingPeers)
	boolean("nodiscover", p.NoDiscovery)
	boolean("discovery.v4", p.DiscoveryV4)
	boolean("discovery.v5", p.DiscoveryV5)
	port("port", "ListenAddr", p.ListenAddr)
	port("discovery.port", "DiscAddr", p.DiscAddr)
	list("bootnodes", p.BootstrapNodes)
	str("netrestrict", p.NetRestrict)
	str("nat", p.NAT)
	list("discovery.dns", p.DiscoveryDNS)
	boolean("metrics", c.Metrics.Enabled)
	str("metrics.addr", c.Metrics.HTTP)
	num("metrics.port", c.Metrics.Port)
	f.static, f.trusted = p.StaticNodes, p.TrustedNodes
	return errors.Join(errs...)
}

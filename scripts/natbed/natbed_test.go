// Package natbed tests NAT traversal against a real router: miniupnpd in a
// network namespace, set up by up.sh (see README.md). The trellis binary
// runs inside the namespaces as the node behind the NAT (lan) and as the
// peer on the Internet side (wan); the test binary runs itself there too,
// for discv4 questions, helper hosts and access to the nodes' RPC.
package natbed

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
)

// The testbed's fixed addresses (up.sh).
var (
	routerLAN = netip.MustParseAddr("192.168.77.1")
	nodeLAN   = netip.MustParseAddr("192.168.77.2")
	otherLAN  = netip.MustParseAddr("192.168.77.3") // another host on the LAN
	routerWAN = netip.MustParseAddr("10.99.0.1")
	peerWAN   = netip.MustParseAddr("10.99.0.2")
)

const (
	// nodePort is where the node listens, TCP (RLPx) and UDP (discv4).
	nodePort = 30303
	// testLifetime is the mapping lifetime asked in these tests (through
	// --nat.lifetime): renewals come every 3 s instead of every 10 min.
	testLifetime = 6 * time.Second
	// eventPrefix marks the children's report lines on stdout.
	eventPrefix = "NATBED "
	// Environment of the children.
	envRole = "NATBED_ROLE"
	envENR  = "NATBED_ENR"
	// envRequire turns the skips for a missing testbed into failures, for
	// CI machines that are meant to have it.
	envRequire = "TRELLIS_NATBED_REQUIRE"
)

const aptLine = "apt-get install -y --no-install-recommends iproute2 nftables miniupnpd-nftables stun-server"

// requireTestbed skips the test unless the machine can run the testbed.
func requireTestbed(t *testing.T) {
	t.Helper()
	skip := t.Skipf
	if os.Getenv(envRequire) != "" {
		skip = t.Fatalf
	}
	if testing.Short() {
		skip("natbed: router tests skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		skip("natbed: router tests need root (network namespaces, nftables); run as root to include them")
	}
	for _, tool := range []string{"ip", "nft", "stund", "ss", "/usr/sbin/miniupnpd"} {
		if _, err := exec.LookPath(tool); err != nil {
			skip("natbed: %s not found; install the testbed with: %s", tool, aptLine)
		}
	}
}

// testbed is one up.sh ... down.sh cycle.
type testbed struct {
	t        *testing.T
	dir      string
	routerUp time.Time // when miniupnpd started: its NAT-PMP/PCP epoch 0
}

// upTestbed starts the testbed; it is torn down when the test ends, failed
// or not.
func upTestbed(t *testing.T) *testbed {
	t.Helper()
	tb := &testbed{t: t, dir: t.TempDir()}
	t.Cleanup(func() {
		if t.Failed() {
			if log, err := os.ReadFile(filepath.Join(tb.dir, "miniupnpd.log")); err == nil {
				t.Logf("miniupnpd.log:\n%s", log)
			}
		}
		if out, err := exec.Command(script("down.sh"), tb.dir).CombinedOutput(); err != nil {
			t.Errorf("down.sh: %v\n%s", err, out)
		}
	})
	tb.run("up.sh", tb.dir)
	tb.routerUp = time.Now()
	return tb
}

func script(name string) string {
	wd, _ := os.Getwd() // go test runs in the package directory
	return filepath.Join(wd, name)
}

func (tb *testbed) run(name string, args ...string) {
	tb.t.Helper()
	out, err := exec.Command(script(name), args...).CombinedOutput()
	if err != nil {
		tb.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// lease is a line of miniupnpd's lease file: PROTO:EXTPORT:IP:INTPORT:EXPIRY:DESC.
type lease struct {
	proto     string
	ext, port int
	client    netip.Addr
}

func (l lease) String() string { return fmt.Sprintf("%s:%d->%v:%d", l.proto, l.ext, l.client, l.port) }

// leases returns the mappings miniupnpd holds.
func (tb *testbed) leases() []lease {
	data, _ := os.ReadFile(filepath.Join(tb.dir, "upnp.leases"))
	var out []lease
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.SplitN(line, ":", 6)
		if len(f) < 6 {
			continue
		}
		ext, err1 := strconv.Atoi(f[1])
		port, err2 := strconv.Atoi(f[3])
		ip, err3 := netip.ParseAddr(f[2])
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		out = append(out, lease{f[0], ext, port, ip})
	}
	return out
}

// mapped returns the external ports of the node's TCP and UDP mappings, 0
// when missing.
func (tb *testbed) mapped() (tcp, udp int) {
	for _, l := range tb.leases() {
		switch {
		case l.client != nodeLAN:
		case l.proto == "TCP" && l.port == nodePort:
			tcp = l.ext
		case l.proto == "UDP" && l.port == nodePort:
			udp = l.ext
		}
	}
	return tcp, udp
}

// natRules returns the router's DNAT rules, those miniupnpd added.
func (tb *testbed) natRules() string {
	out, _ := exec.Command("ip", "netns", "exec", "router", "nft", "list", "chain", "inet", "nat", "prerouting_miniupnpd").CombinedOutput()
	return string(out)
}

// child is a copy of the test binary running in a namespace.
type child struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan event
	done   chan struct{}
	mu     sync.Mutex
	output bytes.Buffer // everything the child printed
	err    error        // of Wait, valid after done
}

// event is a report line of a child.
type event struct {
	Ev     string `json:"ev"`
	ENR    string `json:"enr,omitempty"`
	IP     string `json:"ip,omitempty"`
	Remote string `json:"remote,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// startChild runs the test named test inside namespace ns with role and
// env set.
func startChild(t *testing.T, ns, test, role string, env ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c := &child{t: t, name: role + "@" + ns, events: make(chan event, 64), done: make(chan struct{})}
	c.cmd = exec.CommandContext(ctx, "ip", "netns", "exec", ns, exe, "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	c.cmd.Env = append(os.Environ(), append([]string{envRole + "=" + role}, env...)...)
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stderr = &lockedWriter{c}
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		defer cancel()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.output.WriteString(line + "\n")
			c.mu.Unlock()
			if rest, ok := strings.CutPrefix(line, eventPrefix); ok {
				var ev event
				if json.Unmarshal([]byte(rest), &ev) == nil {
					select {
					case c.events <- ev:
					default: // nobody waits for old status reports
					}
				}
			}
		}
		c.err = c.cmd.Wait()
		close(c.events)
	}()
	t.Cleanup(func() {
		c.stdin.Close()
		cancel() // kills the child if it still runs
		<-c.done
		if t.Failed() {
			c.mu.Lock()
			t.Logf("output of %s:\n%s", c.name, c.output.String())
			c.mu.Unlock()
		}
	})
	return c
}

type lockedWriter struct{ c *child }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.output.Write(b)
}

// await returns the first event for which match holds.
func (c *child) await(timeout time.Duration, what string, match func(event) bool) event {
	c.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				c.t.Fatalf("%s exited (%v) before %s", c.name, c.err, what)
			}
			if ev.Ev == "error" {
				c.t.Fatalf("%s: %s", c.name, ev.Detail)
			}
			if match(ev) {
				return ev
			}
		case <-timer.C:
			c.t.Fatalf("%s: timed out after %v waiting for %s", c.name, timeout, what)
		}
	}
}

func (c *child) wait(timeout time.Duration) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.t.Fatalf("%s did not exit within %v", c.name, timeout)
	}
	if c.err != nil {
		c.t.Fatalf("%s failed: %v", c.name, c.err)
	}
}

// TestRouter runs the trellis binary behind the router ("trellis node
// --nat <mechanism>" in lan) with each mechanism: the ports get mapped on
// the router, the node's record shows the router's address and the mapped
// ports, another trellis node on the Internet side, which knows it only as
// its discv4 bootnode, finds it and connects over RLPx through the NAT, a
// router restart loses the mappings and the node restores them within a
// renewal cycle, and stopping the node (SIGINT) deletes them.
func TestRouter(t *testing.T) {
	requireTestbed(t)
	bin := buildTrellis(t)
	for _, spec := range []string{"upnp", "pmp", "pcp", "any"} {
		t.Run(spec, func(t *testing.T) { routerScenario(t, bin, spec, false) })
	}
	// Another mapping holds the external port the node asks for: the node
	// takes the port the router grants instead.
	for _, spec := range []string{"upnp", "pmp", "pcp"} {
		t.Run(spec+"/port-taken", func(t *testing.T) { routerScenario(t, bin, spec, true) })
	}
}

// wanFirewall makes the peers in wan refuse TCP connections from the
// router: the connection between the node and the peer is then the peer's,
// made through the mapping, and never one the node made out through the
// masquerade (the node finds the peer by discv4 too, and would dial it).
const wanFirewall = `table inet natbed {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr 10.99.0.1 tcp flags syn tcp dport 30303 reject with tcp reset
	}
}`

func routerScenario(t *testing.T, bin, spec string, portTaken bool) {
	start := time.Now()
	step := func(format string, args ...any) {
		t.Helper()
		t.Logf("%5.2fs "+format, append([]any{time.Since(start).Seconds()}, args...)...)
	}
	tb := upTestbed(t)
	fw := exec.Command("ip", "netns", "exec", "wan", "nft", "-f", "-")
	fw.Stdin = strings.NewReader(wanFirewall)
	if out, err := fw.CombinedOutput(); err != nil {
		t.Fatalf("wan firewall: %v\n%s", err, out)
	}
	if portTaken {
		b := startChild(t, "lan", "TestChildBlocker", "blocker")
		b.wait(20 * time.Second)
		if l := tb.leases(); len(l) != 2 || l[0].client != otherLAN || l[0].ext != nodePort {
			t.Fatalf("blocking leases %v", l)
		}
	}
	node := startTrellis(t, bin, "lan", "node", "--nat", spec)
	step("trellis node --nat %s running in lan", spec)

	// The mappings appear on the router, and the record and the enode URL
	// show the router's address and the mapped ports.
	var info *p2p.NodeInfo
	var tcp, udp int
	poll(t, 20*time.Second, "ports mapped and published", func() (bool, string) {
		tcp, udp = tb.mapped()
		var err error
		if info, err = node.nodeInfo(); err != nil {
			return false, err.Error()
		}
		rec, err := enode.Parse(info.ENR)
		if err != nil {
			t.Fatalf("admin_nodeInfo enr %q: %v", info.ENR, err)
		}
		state := fmt.Sprintf("leases %v; record ip %v tcp %d udp %d", tb.leases(), rec.IPAddr(), rec.TCP(), rec.UDP())
		return tcp != 0 && udp != 0 && rec.IPAddr() == routerWAN && rec.TCP() == tcp && rec.UDP() == udp, state
	})
	step("router leases %v", tb.leases())
	step("record %s: ip %v tcp %d udp %d", info.ENR, routerWAN, tcp, udp)
	if portTaken && (tcp == nodePort || udp == nodePort) {
		t.Fatalf("router granted the taken port: leases %v", tb.leases())
	}
	url, err := enode.ParseV4(info.Enode)
	if err != nil || url.IPAddr() != routerWAN || url.TCP() != tcp || url.UDP() != udp {
		t.Fatalf("admin_nodeInfo enode %s (%v), want %v tcp %d udp %d", info.Enode, err, routerWAN, tcp, udp)
	}
	mapped := node.logged("Mapped port")
	if len(mapped) < 2 {
		t.Fatalf("node logged %d \"Mapped port\" lines", len(mapped))
	}
	step("node logs: %s %v/%v -> %v", mapped[0]["nat"], mapped[0]["proto"], mapped[0]["intport"], mapped[0]["extport"])

	// A trellis node on the Internet side with the node as its only
	// bootnode: discv4 bonds with it through the UDP mapping, and the
	// dialer, fed by discv4 only (no static nodes), connects to it over
	// RLPx through the TCP mapping.
	peerStart := time.Now()
	peer := startTrellis(t, bin, "wan", "peer", "--nat", "none", "--bootnodes", info.Enode)
	pinfo, err := peer.nodeInfo()
	if err != nil {
		t.Fatal(err)
	}
	var atPeer, atNode *p2p.PeerInfo
	poll(t, 30*time.Second, "the wan node connected to the node", func() (bool, string) {
		atPeer, err = peer.peer(info.ID)
		if err != nil {
			return false, err.Error()
		}
		atNode, err = node.peer(pinfo.ID)
		if err != nil {
			return false, err.Error()
		}
		return atPeer != nil && atNode != nil, fmt.Sprintf("in the peer's admin_peers: %v; in the node's: %v", atPeer != nil, atNode != nil)
	})
	want := netip.AddrPortFrom(routerWAN, uint16(tcp)).String()
	if atPeer.Network.RemoteAddress != want || atPeer.Network.Inbound || atPeer.Network.Static || atPeer.Network.Trusted {
		t.Fatalf("the wan node's admin_peers has the node as %+v, want a dynamic outbound connection to %s", atPeer.Network, want)
	}
	if ap, err := netip.ParseAddrPort(atNode.Network.RemoteAddress); err != nil || ap.Addr() != peerWAN || !atNode.Network.Inbound {
		t.Fatalf("the node's admin_peers has the wan node as %+v, want inbound from %v", atNode.Network, peerWAN)
	}
	step("wan node found the node by discv4 and dialed it within %v of its start: its admin_peers has %s (outbound), the node's has %s (inbound)",
		time.Since(peerStart).Round(time.Millisecond), atPeer.Network.RemoteAddress, atNode.Network.RemoteAddress)

	// discv4 through the UDP mapping, question by question: ping, ENR
	// request, and a lookup that finds the node.
	client := startChild(t, "wan", "TestChildClient", "client", envENR+"="+info.ENR)
	dev := client.await(30*time.Second, "discv4", func(ev event) bool { return ev.Ev == "discv4" })
	step("discv4 from wan: %s", dev.Detail)
	client.wait(10 * time.Second)

	// The router restarts with no leases; the node maps again within a
	// renewal cycle (half the lifetime), give or take a request.
	// The epoch tells a restart only when it goes back by more than the
	// RFC 6887 (section 8.5) tolerance of 2 s: let the router's epoch grow
	// past what it will be when the node next hears from it.
	// UPnP has no epoch; "any" finds PCP or NAT-PMP here, which answer
	// before the SSDP search starts.
	epochMech := spec != "upnp"
	const epochMargin = testLifetime
	if wait := epochMargin - time.Since(tb.routerUp); epochMech && wait > 0 {
		<-time.After(wait)
	}
	reboots := len(node.logged(rebootMsg))
	tb.run("router.sh", "stop", tb.dir)
	tb.run("router.sh", "start", tb.dir)
	tb.routerUp = time.Now()
	took := poll(t, testLifetime/2+2*time.Second, "mappings restored after the router restart", func() (bool, string) {
		tcp, udp := tb.mapped()
		return tcp != 0 && udp != 0, fmt.Sprintf("leases %v", tb.leases())
	})
	step("mappings restored %v after the router restart: leases %v", took.Round(time.Millisecond), tb.leases())
	// NAT-PMP and PCP tell a restart from the epoch (miniupnpd runs with
	// system_uptime=no).
	if epochMech {
		poll(t, 5*time.Second, "the node to log the reboot", func() (bool, string) {
			return len(node.logged(rebootMsg)) > reboots, "no \"" + rebootMsg + "\" line"
		})
		step("node logged %q", rebootMsg)
	}
	// The record still matches the router, and the peer is still there.
	poll(t, 5*time.Second, "the record to match the restored leases", func() (bool, string) {
		tcp, udp = tb.mapped()
		info, err = node.nodeInfo()
		if err != nil {
			return false, err.Error()
		}
		rec, _ := enode.Parse(info.ENR)
		return rec != nil && rec.IPAddr() == routerWAN && rec.TCP() == tcp && rec.UDP() == udp,
			fmt.Sprintf("leases %v, record %v", tb.leases(), info.ENR)
	})
	if p, err := node.peer(pinfo.ID); err != nil || p == nil {
		t.Fatalf("the node lost the wan peer over the router restart (%v)", err)
	}
	step("after the restart: record %s, wan peer still connected", info.ENR)

	// SIGINT: the node deletes its mappings on the way out.
	node.interrupt(20 * time.Second)
	step("node stopped; leases left: %v", tb.leases())
	if tcp, udp := tb.mapped(); tcp != 0 || udp != 0 {
		t.Fatalf("leases after the node stopped: %v", tb.leases())
	}
	if rules := tb.natRules(); strings.Contains(rules, fmt.Sprintf("%v:%d", nodeLAN, nodePort)) {
		t.Fatalf("DNAT rules after the node stopped:\n%s", rules)
	}
	if d := node.logged("Deleted port mapping"); len(d) != 2 {
		t.Fatalf("node logged %d \"Deleted port mapping\" lines, want 2", len(d))
	}
	peer.interrupt(20 * time.Second)
}

// rebootMsg is what the node logs when the epoch shows a gateway reboot.
const rebootMsg = "Gateway lost its mappings (epoch went back), mapping again"

// TestRouterSTUN asks stund in wan for the external address from lan.
func TestRouterSTUN(t *testing.T) {
	requireTestbed(t)
	upTestbed(t)
	c := startChild(t, "lan", "TestChildSTUN", "stun")
	ev := c.await(20*time.Second, "STUN answer", func(ev event) bool { return ev.Ev == "stun" })
	if ev.IP != routerWAN.String() {
		t.Fatalf("STUN says %s, want %v", ev.IP, routerWAN)
	}
	c.wait(10 * time.Second)
}

// TestRouterNATPMPCrossCheck compares this package's NAT-PMP client with
// github.com/jackpal/go-nat-pmp on the real router.
func TestRouterNATPMPCrossCheck(t *testing.T) {
	requireTestbed(t)
	upTestbed(t)
	c := startChild(t, "lan", "TestChildPMPCrossCheck", "pmpcheck")
	ev := c.await(30*time.Second, "cross-check", func(ev event) bool { return ev.Ev == "pmpcheck" })
	t.Log(ev.Detail)
	c.wait(10 * time.Second)
}

// report prints an event for the parent.
func report(ev event) {
	b, _ := json.Marshal(ev)
	fmt.Printf("%s%s\n", eventPrefix, b)
}

// Package natbed tests NAT traversal against a real router: miniupnpd in a
// network namespace, set up by up.sh (see README.md). The test binary runs
// itself again inside the namespaces: as the Trellis node behind the NAT
// (lan) and as the peer on the Internet side (wan).
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
	// testLifetime is the mapping lifetime asked in these tests: renewals
	// come every 3 s instead of every 10 min.
	testLifetime = 6 * time.Second
	// eventPrefix marks the children's report lines on stdout.
	eventPrefix = "NATBED "
	// Environment of the children.
	envRole     = "NATBED_ROLE"
	envSpec     = "NATBED_SPEC"
	envLifetime = "NATBED_LIFETIME"
	envENR      = "NATBED_ENR"
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

// waitFor polls cond until it holds or timeout passes. The router is
// another process writing a file, which offers nothing to wait on.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
	return time.Since(start)
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
	Ev      string            `json:"ev"`
	ENR     string            `json:"enr,omitempty"`
	Mech    string            `json:"mech,omitempty"`
	IP      string            `json:"ip,omitempty"`
	Mapped  map[string]uint16 `json:"mapped,omitempty"` // protocol -> external port, mapped ones only
	Reboots int               `json:"reboots,omitempty"`
	Granted int64             `json:"granted,omitempty"` // Unix ns of the oldest grant among the mappings
	Remote  string            `json:"remote,omitempty"`
	Detail  string            `json:"detail,omitempty"`
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

// stop asks the child to finish and waits for it.
func (c *child) stop(timeout time.Duration) {
	c.t.Helper()
	c.stdin.Close()
	c.wait(timeout)
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

// TestRouter runs a Trellis node behind the router with each mechanism:
// the ports get mapped, the record shows the router's address and the
// mapped ports, a peer on the Internet side connects over RLPx and finds
// the node with discv4, a router restart loses the mappings and the node
// restores them within a renewal cycle, and stopping the node deletes them.
func TestRouter(t *testing.T) {
	requireTestbed(t)
	for _, spec := range []string{"upnp", "pmp", "pcp", "any"} {
		t.Run(spec, func(t *testing.T) { routerScenario(t, spec, false) })
	}
	// Another mapping holds the external port the node asks for: the node
	// takes the port the router grants instead.
	for _, spec := range []string{"upnp", "pmp", "pcp"} {
		t.Run(spec+"/port-taken", func(t *testing.T) { routerScenario(t, spec, true) })
	}
}

func routerScenario(t *testing.T, spec string, portTaken bool) {
	start := time.Now()
	step := func(format string, args ...any) {
		t.Helper()
		t.Logf("%5.2fs "+format, append([]any{time.Since(start).Seconds()}, args...)...)
	}
	tb := upTestbed(t)
	if portTaken {
		b := startChild(t, "lan", "TestChildBlocker", "blocker")
		b.wait(20 * time.Second)
		if l := tb.leases(); len(l) != 2 || l[0].client != otherLAN || l[0].ext != nodePort {
			t.Fatalf("blocking leases %v", l)
		}
	}
	node := startChild(t, "lan", "TestChildNode", "node", envSpec+"="+spec, envLifetime+"="+testLifetime.String())

	// The mappings appear on the router and in the record.
	ev := node.await(20*time.Second, "ports mapped and published", func(ev event) bool {
		return ev.Ev == "status" && ev.Mapped["TCP"] != 0 && ev.Mapped["UDP"] != 0 && ev.IP != ""
	})
	step("node mapped with %s: %+v", ev.Mech, ev.Mapped)
	tcp, udp := tb.mapped()
	if tcp != int(ev.Mapped["TCP"]) || udp != int(ev.Mapped["UDP"]) {
		t.Fatalf("router leases %v, node reports %+v", tb.leases(), ev.Mapped)
	}
	if portTaken && (tcp == nodePort || udp == nodePort) {
		t.Fatalf("router granted the taken port: leases %v", tb.leases())
	}
	rec, err := enode.Parse(ev.ENR)
	if err != nil {
		t.Fatal(err)
	}
	if rec.IPAddr() != routerWAN || rec.TCP() != tcp || rec.UDP() != udp {
		t.Fatalf("record has %v tcp %d udp %d; want %v tcp %d udp %d", rec.IPAddr(), rec.TCP(), rec.UDP(), routerWAN, tcp, udp)
	}
	step("record %v: ip %v tcp %d udp %d", ev.ENR, rec.IPAddr(), rec.TCP(), rec.UDP())

	// A peer on the Internet side reaches the node through the mappings.
	client := startChild(t, "wan", "TestChildClient", "client", envENR+"="+ev.ENR)
	cev := client.await(20*time.Second, "RLPx connection", func(ev event) bool { return ev.Ev == "connected" })
	if want := netip.AddrPortFrom(routerWAN, uint16(tcp)).String(); cev.Remote != want {
		t.Fatalf("client connected to %s, want %s", cev.Remote, want)
	}
	pev := node.await(10*time.Second, "inbound peer", func(ev event) bool { return ev.Ev == "peer" })
	if ap, err := netip.ParseAddrPort(pev.Remote); err != nil || ap.Addr() != peerWAN {
		t.Fatalf("node saw the peer at %s, want %v", pev.Remote, peerWAN)
	}
	dev := client.await(20*time.Second, "discv4", func(ev event) bool { return ev.Ev == "discv4" })
	step("RLPx from wan: connected to %s, node saw %s", cev.Remote, pev.Remote)
	step("discv4 from wan: %s", dev.Detail)
	client.wait(10 * time.Second)

	// The router restarts with no leases; the node maps again within a
	// renewal cycle (half the lifetime), give or take a request.
	// The epoch tells a restart only when it goes back by more than the
	// RFC 6887 (section 8.5) tolerance of 2 s: let the router's epoch grow
	// past what it will be when the node next hears from it.
	// UPnP has no epoch.
	epochMech := strings.Contains(ev.Mech, "NAT-PMP") || strings.Contains(ev.Mech, "PCP")
	const epochMargin = testLifetime
	if wait := epochMargin - time.Since(tb.routerUp); epochMech && wait > 0 {
		<-time.After(wait)
	}
	tb.run("router.sh", "stop", tb.dir)
	down := time.Now()
	tb.run("router.sh", "start", tb.dir)
	tb.routerUp = time.Now()
	took := waitFor(t, testLifetime/2+2*time.Second, "mappings restored after the router restart", func() bool {
		tcp, udp := tb.mapped()
		return tcp != 0 && udp != 0
	})
	ev = node.await(5*time.Second, "status after the restart", func(ev event) bool {
		return ev.Ev == "status" && ev.Mapped["TCP"] != 0 && ev.Mapped["UDP"] != 0 && ev.Granted > down.UnixNano()
	})
	step("mappings restored %v after the router restart (reboots detected from the epoch: %d); leases %v",
		took.Round(time.Millisecond), ev.Reboots, tb.leases())
	// NAT-PMP and PCP tell a restart from the epoch (miniupnpd runs with
	// system_uptime=no).
	if epochMech && ev.Reboots == 0 {
		t.Errorf("%s: restart not detected from the epoch", ev.Mech)
	}

	// Stopping the node deletes the mappings.
	node.stop(20 * time.Second)
	step("node stopped; leases left: %v", tb.leases())
	if tcp, udp := tb.mapped(); tcp != 0 || udp != 0 {
		t.Fatalf("leases after the node stopped: %v", tb.leases())
	}
	if rules := tb.natRules(); strings.Contains(rules, fmt.Sprintf("%v:%d", nodeLAN, nodePort)) {
		t.Fatalf("DNAT rules after the node stopped:\n%s", rules)
	}
}

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

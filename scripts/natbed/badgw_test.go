package natbed

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

// A gateway that misbehaves (issue 7 item 6): in the router namespace, in
// place of miniupnpd, a copy of the test binary answers the node's NAT-PMP,
// PCP or UPnP requests with garbage, not at all, or from the wrong address.
// The node must log a clear error, keep running, keep its peer, and never
// publish an address it was not really given; once miniupnpd takes over, it
// maps its ports.

const (
	envBehavior = "NATBED_BEHAVIOR"
	// fakeExternal is what the wrong-source gateway claims as the external
	// address. The node must never publish it.
	fakeExternal = "203.0.113.9"
	pmpPort      = 5351
	upnpDescURL  = "http://192.168.77.1:5000/rootDesc.xml"
)

// Behaviors of TestChildBadGateway.
const (
	behaveGarbage     = "garbage"      // NAT-PMP/PCP: every answer malformed
	behaveSilent      = "silent"       // NAT-PMP/PCP: requests read, never answered
	behaveWrongSource = "wrong-source" // NAT-PMP: valid answers, from 10.99.0.1 instead of 192.168.77.1
	behaveUPnPGarbage = "upnp-garbage" // UPnP: the device description is not XML
)

func TestRouterBadGateway(t *testing.T) {
	requireTestbed(t)
	bin := buildTrellis(t)
	for _, tc := range []struct {
		name, nat, behavior string
		// wantErr is in the error of every failed request.
		wantErr []string
	}{
		{"pmp/garbage", "pmp", behaveGarbage, []string{"NAT-PMP", "truncated", "version", "another opcode", "length"}},
		{"pcp/garbage", "pcp", behaveGarbage, []string{"PCP", "truncated", "version", "another opcode", "length"}},
		{"upnp/garbage", "upnp:" + upnpDescURL, behaveUPnPGarbage, []string{"UPnP description", "malformed"}},
		{"pmp/silent", "pmp", behaveSilent, []string{"no response from gateway"}},
		{"pmp/wrong-source", "pmp", behaveWrongSource, []string{"no response from gateway"}},
	} {
		t.Run(tc.name, func(t *testing.T) { badGatewayScenario(t, bin, tc.nat, tc.behavior, tc.wantErr) })
	}
}

func badGatewayScenario(t *testing.T, bin, spec, behavior string, wantErr []string) {
	start := time.Now()
	step := func(format string, args ...any) {
		t.Helper()
		t.Logf("%5.2fs "+format, append([]any{time.Since(start).Seconds()}, args...)...)
	}
	tb := upTestbed(t)
	tb.run("router.sh", "stop", tb.dir)
	gw := startChild(t, "router", "TestChildBadGateway", "badgw", envBehavior+"="+behavior)
	gw.await(10*time.Second, "bad gateway serving", func(ev event) bool { return ev.Ev == "serving" })

	// A peer in wan, which the node dials out to (through the masquerade,
	// which needs no mapping) from its discv4 bootnode.
	peer := startTrellis(t, bin, "wan", "peer", "--nat", "none")
	pinfo, err := peer.nodeInfo()
	if err != nil {
		t.Fatal(err)
	}
	pn, err := enode.ParseV4(pinfo.Enode)
	if err != nil {
		t.Fatal(err)
	}
	peerURL := enode.NewV4(pn.Pubkey(), peerWAN, nodePort, nodePort).URLv4()
	node := startTrellis(t, bin, "lan", "node", "--nat", spec, "--bootnodes", peerURL)
	poll(t, 30*time.Second, "the node connected to the wan peer", func() (bool, string) {
		p, err := node.peer(pinfo.ID)
		return p != nil, fmt.Sprint(err)
	})
	step("trellis node --nat %s running against a gateway that is %s; connected to the wan peer", spec, behavior)

	// Three failed requests, each with a clear error.
	failures := func() []map[string]any {
		return append(node.logged("Couldn't map port"), node.logged("Couldn't get external IP")...)
	}
	poll(t, 60*time.Second, "three failed requests", func() (bool, string) {
		return len(failures()) >= 3, fmt.Sprintf("%d failures logged", len(failures()))
	})
	seen := map[string]bool{}
	for _, rec := range failures() {
		msg, _ := rec["err"].(string)
		if !strings.Contains(msg, "nat: ") {
			t.Errorf("error %q does not say it is the NAT's", msg)
		}
		ok := false
		for _, w := range wantErr {
			ok = ok || strings.Contains(msg, w)
		}
		if !ok {
			t.Errorf("error %q mentions none of %q", msg, wantErr)
		}
		if !seen[msg] {
			seen[msg] = true
			step("node: %s: %s", rec["msg"], msg)
		}
	}

	// Still running, still connected, and no made-up address in the record.
	info, err := node.nodeInfo()
	if err != nil {
		t.Fatalf("admin_nodeInfo after the failures: %v", err)
	}
	rec, err := enode.Parse(info.ENR)
	if err != nil {
		t.Fatal(err)
	}
	if ip := rec.IPAddr(); ip == routerWAN || ip.String() == fakeExternal {
		t.Fatalf("record has %v while no mapping was made: %s", ip, info.ENR)
	}
	if ext := node.logged("External IP"); len(ext) > 0 {
		t.Fatalf("node took an external address from the bad gateway: %v", ext)
	}
	if p, err := node.peer(pinfo.ID); p == nil {
		t.Fatalf("the node lost its peer (%v)", err)
	}
	step("node still running with its peer; record %v tcp %d udp %d", rec.IPAddr(), rec.TCP(), rec.UDP())

	// miniupnpd takes over: the node maps its ports at its next try, at most
	// half the lifetime after a failure, after the request in flight (up to
	// its 10 s call timeout when the gateway is silent).
	gw.stdin.Close()
	gw.wait(10 * time.Second)
	tb.run("router.sh", "start", tb.dir)
	took := poll(t, 30*time.Second, "the node's ports mapped by miniupnpd", func() (bool, string) {
		tcp, udp := tb.mapped()
		info, err := node.nodeInfo()
		if err != nil {
			return false, err.Error()
		}
		rec, _ := enode.Parse(info.ENR)
		return tcp != 0 && udp != 0 && rec != nil && rec.IPAddr() == routerWAN && rec.TCP() == tcp && rec.UDP() == udp,
			fmt.Sprintf("leases %v, record %s", tb.leases(), info.ENR)
	})
	step("with miniupnpd back, mapped %v later: leases %v", took.Round(time.Millisecond), tb.leases())
	if p, err := node.peer(pinfo.ID); p == nil {
		t.Fatalf("the node lost its peer (%v)", err)
	}
	node.interrupt(20 * time.Second)
	if tcp, udp := tb.mapped(); tcp != 0 || udp != 0 {
		t.Fatalf("leases after the node stopped: %v", tb.leases())
	}
	peer.interrupt(20 * time.Second)
}

// TestChildBadGateway is a misbehaving gateway on the router's LAN address,
// until its stdin closes.
func TestChildBadGateway(t *testing.T) {
	childRole(t, "badgw")
	behavior := os.Getenv(envBehavior)
	if behavior == behaveUPnPGarbage {
		l, err := net.Listen("tcp", netip.AddrPortFrom(routerLAN, 5000).String())
		if err != nil {
			fail(t, "%v", err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			io.WriteString(w, "<?xml version=\"1.0\"?><root><device><deviceType>urn:schemas-upnp-org:device:Internet")
		})}
		go srv.Serve(l)
		report(event{Ev: "serving", Detail: upnpDescURL})
		io.Copy(io.Discard, os.Stdin)
		srv.Close()
		return
	}

	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(routerLAN, pmpPort)))
	if err != nil {
		fail(t, "%v", err)
	}
	// The wrong source: the router's other address.
	spoof, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(routerWAN, pmpPort)))
	if err != nil {
		fail(t, "%v", err)
	}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		conn.Close()
	}()
	report(event{Ev: "serving", Detail: behavior})
	boot := time.Now()
	buf := make([]byte, 1100)
	for i := 0; ; i++ {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			spoof.Close()
			return
		}
		if err != nil {
			fail(t, "read: %v", err)
		}
		req := buf[:n]
		if n < 2 {
			continue
		}
		switch behavior {
		case behaveGarbage:
			conn.WriteToUDPAddrPort(garbage(req, i), from)
		case behaveWrongSource:
			if r := pmpAnswer(req, uint32(time.Since(boot)/time.Second)); r != nil {
				spoof.WriteToUDPAddrPort(r, from)
			}
		case behaveSilent:
		default:
			fail(t, "unknown behavior %q", behavior)
		}
	}
}

// garbage returns the i-th of several malformed answers to req, a NAT-PMP
// (version 0) or PCP (version 2) request.
func garbage(req []byte, i int) []byte {
	version, op := req[0], req[1]&0x7f
	switch i % 4 {
	case 0: // cut short after the opcode
		return []byte{version, op | 0x80, 0}
	case 1: // the other protocol's version
		b := make([]byte, 60)
		b[0], b[1] = version^2, op|0x80
		return b
	case 2: // an answer to another opcode, full size
		b := make([]byte, 60)
		b[0], b[1] = version, (op^1)|0x80
		return b
	default: // a full-size answer of the wrong length
		b := make([]byte, 13)
		b[0], b[1] = version, op|0x80
		return b
	}
}

// pmpAnswer returns a valid NAT-PMP answer to req (RFC 6886 section 3):
// the external address fakeExternal, and every mapping granted as asked.
func pmpAnswer(req []byte, epoch uint32) []byte {
	if req[0] != 0 {
		return nil // not NAT-PMP
	}
	switch op := req[1]; {
	case op == 0 && len(req) == 2:
		b := make([]byte, 12)
		b[1] = 128
		binary.BigEndian.PutUint32(b[4:], epoch)
		ip := netip.MustParseAddr(fakeExternal).As4()
		copy(b[8:], ip[:])
		return b
	case (op == 1 || op == 2) && len(req) == 12:
		b := make([]byte, 16)
		b[1] = 128 + op
		binary.BigEndian.PutUint32(b[4:], epoch)
		copy(b[8:12], req[4:8])   // internal port, suggested external port
		copy(b[12:16], req[8:12]) // lifetime
		return b
	}
	return nil
}

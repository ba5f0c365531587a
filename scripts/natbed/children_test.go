package natbed

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	natpmp "github.com/jackpal/go-nat-pmp"
	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/nat"
	"github.com/trellis-p2p/trellis/p2p"
)

// The children: tests that only run when TestRouter starts the test binary
// inside a namespace. They report with report() and fail with a non-zero
// exit.

func childRole(t *testing.T, role string) {
	if os.Getenv(envRole) != role {
		t.Skip("natbed: started by TestRouter inside a network namespace")
	}
}

// fail reports err to the parent and fails the child.
func fail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	report(event{Ev: "error", Detail: msg})
	t.Fatal(msg)
}

func childLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestChildClient is a peer on the Internet side: it connects to the node
// over RLPx (AddPeer) and asks it over discv4 for a pong, its record and a
// lookup, through the NAT.
func TestChildClient(t *testing.T) {
	childRole(t, "client")
	log := childLogger()
	node, err := enode.Parse(os.Getenv(envENR))
	if err != nil {
		fail(t, "node record: %v", err)
	}
	key, _ := crypto.GenerateKey()
	ln := enode.NewLocalNode(nil, key)

	srv := &p2p.Server{Config: p2p.Config{
		PrivateKey:  key,
		Name:        "trellis-natbed-client",
		MaxPeers:    1,
		NoDiscovery: true,
		LocalNode:   ln,
		// No protocols, like the node: a peer without a protocol in
		// common with us would be dropped as useless.
		Logger: log.With("sys", "p2p"),
	}}
	if err := srv.Start(); err != nil {
		fail(t, "p2p: %v", err)
	}
	defer srv.Stop()
	peers := make(chan *p2p.PeerEvent, 16)
	sub := srv.SubscribeEvents(peers)
	defer sub.Unsubscribe()
	srv.AddPeer(node)
	timeout := time.After(15 * time.Second)
wait:
	for {
		select {
		case pe := <-peers:
			if pe.Type == p2p.PeerEventTypeAdd && pe.Peer == node.ID() {
				report(event{Ev: "connected", Remote: pe.RemoteAddress})
				break wait
			}
		case <-timeout:
			fail(t, "no RLPx connection to %v", node.URLv4())
		}
	}

	// discv4 with the node as the only bootnode: ping, ENR request, and a
	// lookup that finds it.
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: peerWAN.AsSlice()})
	if err != nil {
		fail(t, "%v", err)
	}
	ln.SetFallbackIP(peerWAN)
	ln.SetFallbackUDP(udp.LocalAddr().(*net.UDPAddr).Port)
	disc, err := discover.ListenV4(udp, ln, discover.Config{PrivateKey: key, Bootnodes: []*enode.Node{node}, Log: log.With("sys", "discv4")})
	if err != nil {
		fail(t, "discv4: %v", err)
	}
	defer disc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := disc.Ping(ctx, node); err != nil {
		fail(t, "discv4 ping: %v", err)
	}
	// The node answers ENR requests once it has checked our endpoint with
	// a ping of its own, which follows ours.
	var rec *enode.Node
	for try := 0; ; try++ {
		rec, err = disc.RequestENR(ctx, node)
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		fail(t, "discv4 ENR request: %v", err)
	}
	if rec.IPAddr() != node.IPAddr() || rec.UDP() != node.UDP() || rec.TCP() != node.TCP() {
		fail(t, "ENR response %v differs from %v", rec, node)
	}
	var found *enode.Node
	for _, n := range disc.LookupPubkey(ctx, node.Pubkey()) {
		if n.ID() == node.ID() {
			found = n
		}
	}
	if found == nil {
		fail(t, "lookup did not find the node")
	}
	ep, _ := found.UDPEndpoint()
	report(event{Ev: "discv4", Detail: fmt.Sprintf("pong and ENR response from %v:%d; lookup found the node at %v", rec.IPAddr(), rec.UDP(), ep)})
}

// TestChildBlocker is another host of the LAN (otherLAN) that maps external
// port nodePort, TCP and UDP, and leaves the mappings in place. It speaks
// SOAP itself: this package's UPnP client always uses the primary address.
func TestChildBlocker(t *testing.T) {
	childRole(t, "blocker")
	hc := &http.Client{Transport: &http.Transport{
		DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: otherLAN.AsSlice()}}).DialContext,
		DisableKeepAlives: true,
	}, Timeout: 10 * time.Second}
	for _, proto := range []string{nat.TCP, nat.UDP} {
		body := fmt.Sprintf(`<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" `+
			`s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>`+
			`<u:AddPortMapping xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:2"><NewRemoteHost></NewRemoteHost>`+
			`<NewExternalPort>%d</NewExternalPort><NewProtocol>%s</NewProtocol><NewInternalPort>%d</NewInternalPort>`+
			`<NewInternalClient>%v</NewInternalClient><NewEnabled>1</NewEnabled><NewPortMappingDescription>blocker`+
			`</NewPortMappingDescription><NewLeaseDuration>600</NewLeaseDuration></u:AddPortMapping></s:Body></s:Envelope>`,
			nodePort, proto, nodePort, otherLAN)
		req, _ := http.NewRequest(http.MethodPost, "http://192.168.77.1:5000/ctl/IPConn", strings.NewReader(body))
		req.Header.Set("SOAPAction", `"urn:schemas-upnp-org:service:WANIPConnection:2#AddPortMapping"`)
		req.Header.Set("Content-Type", `text/xml; charset="utf-8"`)
		resp, err := hc.Do(req)
		if err != nil {
			fail(t, "blocking %s: %v", proto, err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fail(t, "blocking %s: %s\n%s", proto, resp.Status, out)
		}
	}
}

// TestChildSTUN asks the STUN server in wan for our external address.
func TestChildSTUN(t *testing.T) {
	childRole(t, "stun")
	g, err := nat.STUN(peerWAN.String())
	if err != nil {
		fail(t, "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ip, err := g.ExternalIP(ctx)
	if err != nil {
		fail(t, "STUN: %v", err)
	}
	report(event{Ev: "stun", IP: ip.String()})
}

// TestChildPMPCrossCheck asks the router the same NAT-PMP questions with
// this package and with github.com/jackpal/go-nat-pmp.
func TestChildPMPCrossCheck(t *testing.T) {
	childRole(t, "pmpcheck")
	ours := nat.PMP(netip.AddrPortFrom(routerLAN, 0))
	theirs := natpmp.NewClientWithTimeout(routerLAN.AsSlice(), 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	st, err := ours.Status(ctx)
	if err != nil {
		fail(t, "ours: %v", err)
	}
	ext, err := theirs.GetExternalAddress()
	if err != nil {
		fail(t, "go-nat-pmp: %v", err)
	}
	if netip.AddrFrom4(ext.ExternalIPAddress) != st.ExternalIP {
		fail(t, "external address: ours %v, go-nat-pmp %v", st.ExternalIP, ext.ExternalIPAddress)
	}
	if d := int64(ext.SecondsSinceStartOfEpoc) - int64(st.Epoch); d < 0 || d > 2 {
		fail(t, "epoch: ours %d, go-nat-pmp %d", st.Epoch, ext.SecondsSinceStartOfEpoc)
	}

	// go-nat-pmp maps, we renew the same mapping: the same port comes back.
	res, err := theirs.AddPortMapping("udp", 40001, 40001, 60)
	if err != nil {
		fail(t, "go-nat-pmp map: %v", err)
	}
	l, err := ours.MapPort(ctx, nat.Request{Protocol: nat.UDP, InternalPort: 40001, ExternalPort: res.MappedExternalPort, Lifetime: 30 * time.Second})
	if err != nil {
		fail(t, "ours map: %v", err)
	}
	if l.ExternalPort != res.MappedExternalPort || l.Lifetime != 30*time.Second {
		fail(t, "mapping: ours %+v, go-nat-pmp %+v", l, res)
	}
	if err := ours.DeleteMapping(ctx, nat.UDP, int(l.ExternalPort), 40001); err != nil {
		fail(t, "ours delete: %v", err)
	}
	// Deleting what is gone already succeeds (RFC 6886 section 3.4).
	if _, err := theirs.AddPortMapping("udp", 40001, 0, 0); err != nil {
		fail(t, "go-nat-pmp delete: %v", err)
	}
	report(event{Ev: "pmpcheck", Detail: fmt.Sprintf("both see %v, epoch %d/%d; mapping 40001/udp -> %d for %v",
		st.ExternalIP, st.Epoch, ext.SecondsSinceStartOfEpoc, l.ExternalPort, l.Lifetime)})
}

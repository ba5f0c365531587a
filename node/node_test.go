package node

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rpc"
)

func testConfig(t *testing.T, dir string) Config {
	t.Helper()
	return Config{
		DataDir:  dir,
		P2P:      p2p.Config{Name: "test", MaxPeers: 10, ListenAddr: "127.0.0.1:0", NoDiscovery: true},
		HTTPAddr: "127.0.0.1:0",
		WSAddr:   "127.0.0.1:0",
		Logger:   discardLogger(),
	}
}

func startNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		n.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// call makes one JSON-RPC call over HTTP and decodes its result into out.
// A JSON-RPC error is returned as *rpc.Error.
func call(t *testing.T, n *Node, out any, method string, params ...any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, "http://"+n.Endpoints().HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.Call(ctx, out, method, params...)
}

// rpcCode returns the code of a JSON-RPC error, or 0.
func rpcCode(err error) int {
	var e *rpc.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// waitFor polls cond: the condition is in another process's sockets, so
// there is nothing to synchronise on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDatadirKeyReused(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(t, dir))
	id := n.Server().Self().ID()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	key, err := crypto.LoadNodeKey(filepath.Join(dir, NodeKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if enode.PubkeyToIDV4(key.PubKey()) != id {
		t.Fatal("key file does not hold the node's key")
	}
	for _, f := range []string{NodeDBFile, LockFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	n2 := startNode(t, testConfig(t, dir))
	if n2.Server().Self().ID() != id {
		t.Fatal("restarted node has a new identity")
	}
}

func TestDatadirLocked(t *testing.T) {
	dir := t.TempDir()
	n, err := New(testConfig(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(testConfig(t, dir))
	if !errors.Is(err, ErrDatadirUsed) || !strings.Contains(err.Error(), "datadir "+dir+" is in use by another process") {
		t.Fatalf("second node on one datadir: %v", err)
	}
	n.Close()
	n2, err := New(testConfig(t, dir))
	if err != nil {
		t.Fatal("datadir still locked after Close:", err)
	}
	n2.Close()
}

func TestDatadirBadFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, NodeKeyFile), []byte("not hex"), 0o600)
	if _, err := New(testConfig(t, dir)); err == nil || !strings.Contains(err.Error(), "cannot read node key") {
		t.Fatalf("bad key: %v", err)
	}
	os.Remove(filepath.Join(dir, NodeKeyFile))
	os.WriteFile(filepath.Join(dir, StaticNodesFile), []byte(`["enode://1234@127.0.0.1:1"]`), 0o600)
	if _, err := New(testConfig(t, dir)); err == nil || !strings.Contains(err.Error(), `entry 0 "enode://1234@127.0.0.1:1"`) {
		t.Fatalf("bad static node: %v", err)
	}
	os.WriteFile(filepath.Join(dir, StaticNodesFile), []byte(`{}`), 0o600)
	if _, err := New(testConfig(t, dir)); err == nil || !strings.Contains(err.Error(), "want a JSON array") {
		t.Fatalf("static nodes not an array: %v", err)
	}
}

func TestStaticAndTrustedFiles(t *testing.T) {
	a := startNode(t, testConfig(t, t.TempDir()))
	dir := t.TempDir()
	url := a.Server().Self().URLv4()
	list, _ := json.Marshal([]string{url})
	os.WriteFile(filepath.Join(dir, StaticNodesFile), list, 0o600)
	os.WriteFile(filepath.Join(dir, TrustedNodesFile), list, 0o600)
	b := startNode(t, testConfig(t, dir))
	waitFor(t, "b to connect to its static node", func() bool { return a.Server().PeerCount() == 1 })
	var peers []*p2p.PeerInfo
	call(t, b, &peers, "admin_peers")
	if len(peers) != 1 || !peers[0].Network.Static || !peers[0].Network.Trusted || peers[0].Enode != url {
		t.Fatalf("peers of b: %+v", peers)
	}
}

type recorder struct {
	name string
	log  *[]string
	fail bool
}

func (r *recorder) Start() error {
	*r.log = append(*r.log, "start "+r.name)
	if r.fail {
		return errors.New("boom")
	}
	return nil
}

func (r *recorder) Stop() error {
	*r.log = append(*r.log, "stop "+r.name)
	return nil
}

func TestLifecycles(t *testing.T) {
	var log []string
	n, err := New(testConfig(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	a, b, c := &recorder{"a", &log, false}, &recorder{"b", &log, false}, &recorder{"c", &log, true}
	for _, l := range []Lifecycle{a, b, c} {
		if err := n.RegisterLifecycle(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.RegisterLifecycle(a); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate lifecycle: %v", err)
	}
	proto := p2p.Protocol{Name: "tst", Version: 1, Length: 1, Run: func(*p2p.Peer, p2p.MsgReadWriter) error { return nil }}
	if err := n.RegisterProtocols([]p2p.Protocol{proto}); err != nil {
		t.Fatal(err)
	}
	if err := n.RegisterProtocols([]p2p.Protocol{proto}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate protocol: %v", err)
	}
	err = n.Start()
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Start: %v", err)
	}
	want := []string{"start a", "start b", "start c", "stop b", "stop a"}
	if !slices.Equal(log, want) {
		t.Fatalf("order %q, want %q", log, want)
	}
	// Nothing is left listening.
	if n.Server().Addr() != nil {
		if c, err := net.Dial("tcp", n.Server().Addr().String()); err == nil {
			c.Close()
			t.Fatal("p2p listener still open after failed Start")
		}
	}
	if err := n.Start(); !errors.Is(err, ErrNodeStopped) {
		t.Fatalf("Start after failure: %v", err)
	}
	if err := n.RegisterLifecycle(&recorder{"d", &log, false}); !errors.Is(err, ErrRegisterLate) {
		t.Fatalf("late registration: %v", err)
	}
}

func TestLifecyclesStopInReverse(t *testing.T) {
	var log []string
	n, err := New(testConfig(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	n.RegisterLifecycle(&recorder{"a", &log, false})
	n.RegisterLifecycle(&recorder{"b", &log, false})
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); !errors.Is(err, ErrNodeRunning) {
		t.Fatalf("second Start: %v", err)
	}
	n.Close()
	n.Close()
	if want := []string{"start a", "start b", "stop b", "stop a"}; !slices.Equal(log, want) {
		t.Fatalf("order %q, want %q", log, want)
	}
}

func TestEndpointInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := testConfig(t, t.TempDir())
	cfg.HTTPAddr = l.Addr().String()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Start(); !errors.Is(err, ErrEndpointListen) || !strings.Contains(err.Error(), "HTTP-RPC on "+cfg.HTTPAddr) {
		t.Fatalf("Start: %v", err)
	}
}

func TestAdminAPI(t *testing.T) {
	a := startNode(t, testConfig(t, t.TempDir()))
	b := startNode(t, testConfig(t, t.TempDir()))

	var info p2p.NodeInfo
	if err := call(t, a, &info, "admin_nodeInfo"); err != nil {
		t.Fatal(err)
	}
	if info.Enode != a.Server().Self().URLv4() || info.ID != a.Server().Self().ID().String() || !strings.HasPrefix(info.ENR, "enr:") {
		t.Fatalf("nodeInfo %+v", info)
	}
	var peers []*p2p.PeerInfo
	if err := call(t, a, &peers, "admin_peers"); err != nil || peers == nil || len(peers) != 0 {
		t.Fatalf("peers of a lone node: %v %v", peers, err)
	}

	// Watch a's peer events over WebSocket.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsc, err := rpc.Dial(ctx, "ws://"+a.Endpoints().WS)
	if err != nil {
		t.Fatal(err)
	}
	defer wsc.Close()
	events := make(chan *p2p.PeerEvent, 8)
	sub, err := wsc.Subscribe(ctx, "admin", events, "peerEvents")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	nextEvent := func() *p2p.PeerEvent {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case err := <-sub.Err():
			t.Fatalf("subscription ended: %v", err)
		case <-ctx.Done():
			t.Fatal("no peer event")
		}
		return nil
	}

	var ok bool
	if err := call(t, a, &ok, "admin_addPeer", b.Server().Self().URLv4()); err != nil || !ok {
		t.Fatalf("addPeer: %v %v", ok, err)
	}
	if ev := nextEvent(); ev.Type != p2p.PeerEventTypeAdd || ev.Peer != b.Server().Self().ID() {
		t.Fatalf("event %+v", ev)
	}
	call(t, a, &peers, "admin_peers")
	if len(peers) != 1 || peers[0].ID != b.Server().Self().ID().String() || peers[0].Network.Inbound || !peers[0].Network.Static {
		t.Fatalf("peers of a: %+v", peers)
	}
	waitFor(t, "b to see a", func() bool { return b.Server().PeerCount() == 1 })

	if err := call(t, a, &ok, "admin_addTrustedPeer", b.Server().Self().URLv4()); err != nil || !ok {
		t.Fatalf("addTrustedPeer: %v %v", ok, err)
	}
	waitFor(t, "b to be trusted", func() bool {
		call(t, a, &peers, "admin_peers")
		return len(peers) == 1 && peers[0].Network.Trusted
	})
	if err := call(t, a, &ok, "admin_removeTrustedPeer", b.Server().Self().URLv4()); err != nil || !ok {
		t.Fatalf("removeTrustedPeer: %v %v", ok, err)
	}
	if err := call(t, a, &ok, "admin_removePeer", b.Server().Self().URLv4()); err != nil || !ok {
		t.Fatalf("removePeer: %v %v", ok, err)
	}
	if ev := nextEvent(); ev.Type != p2p.PeerEventTypeDrop {
		t.Fatalf("event %+v", ev)
	}
	if a.Server().PeerCount() != 0 {
		t.Fatal("peer still connected after removePeer")
	}

	for _, bad := range []struct{ method, url string }{
		{"admin_addPeer", "enode://xyz"},
		{"admin_removePeer", ""},
		{"admin_addTrustedPeer", "enr:-bad"},
	} {
		err := call(t, a, nil, bad.method, bad.url)
		if rpcCode(err) != rpc.CodeServerError || !strings.Contains(err.Error(), "invalid enode") {
			t.Errorf("%s(%q): %v", bad.method, bad.url, err)
		}
	}
	if err := call(t, a, nil, "admin_addPeer"); rpcCode(err) != rpc.CodeInvalidParams {
		t.Errorf("addPeer without URL: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.MetricsAddr = "127.0.0.1:0"
	a := startNode(t, cfg)
	b := startNode(t, testConfig(t, t.TempDir()))
	a.Server().AddPeer(b.Server().Self())
	waitFor(t, "peering", func() bool { return a.Server().PeerCount() == 1 })

	resp, err := http.Get("http://" + a.Endpoints().Metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		"# TYPE trellis_p2p_peers gauge\n",
		`trellis_p2p_peers{direction="outbound"} 1` + "\n",
		`trellis_p2p_peers{direction="inbound"} 0` + "\n",
		"trellis_p2p_dials_total 1\n",
		`trellis_p2p_dial_outcomes_total{outcome="success"} 1` + "\n",
		"# TYPE go_goroutines gauge\ngo_goroutines ",
		"go_info{version=",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
}

func TestMetricsTraffic(t *testing.T) {
	var b strings.Builder
	writeP2PMetrics(&b, p2p.MetricsSnapshot{
		InboundPeers:  2,
		ServeOutcomes: map[string]uint64{"too many peers": 3, "success": 2},
		Ingress: []p2p.Traffic{
			{Proto: p2p.Cap{Name: "eth", Version: 68}, Code: 1, Bytes: 10, Packets: 1},
			{Proto: p2p.Cap{Name: "eth", Version: 68}, Code: 2, Bytes: 20, Packets: 2},
			{Proto: p2p.Cap{Name: "p2p", Version: 5}, Code: 2, Bytes: 3, Packets: 1},
		},
	})
	for _, want := range []string{
		`trellis_p2p_peers{direction="inbound"} 2` + "\n",
		`trellis_p2p_serve_outcomes_total{outcome="success"} 2` + "\n" + `trellis_p2p_serve_outcomes_total{outcome="too many peers"} 3` + "\n",
		`trellis_p2p_ingress_bytes_total{protocol="eth/68"} 30` + "\n" + `trellis_p2p_ingress_bytes_total{protocol="p2p/5"} 3` + "\n",
		`trellis_p2p_ingress_messages_total{protocol="eth/68"} 3` + "\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("lack %q in\n%s", want, b.String())
		}
	}
	if got := quote("a\"b\\c\nd"); got != `"a\"b\\c\nd"` {
		t.Errorf("quote: %s", got)
	}
}

func TestEphemeral(t *testing.T) {
	// Without a data directory or a key, a node gets a fresh key each time,
	// as go-ethereum's ephemeral nodes do.
	a, err := New(Config{})
	if err != nil {
		t.Fatalf("ephemeral node: %v", err)
	}
	defer a.Close()
	b, err := New(Config{})
	if err != nil {
		t.Fatalf("second ephemeral node: %v", err)
	}
	defer b.Close()
	if a.Server().PrivateKey == nil || a.Server().PrivateKey.Key.Equals(&b.Server().PrivateKey.Key) {
		t.Fatal("ephemeral nodes should each get a fresh key")
	}
	key, _ := crypto.GenerateKey()
	cfg := testConfig(t, "")
	cfg.P2P.PrivateKey = key
	n := startNode(t, cfg)
	if n.Server().Self().ID() != enode.PubkeyToIDV4(key.PubKey()) {
		t.Fatal("wrong key")
	}
}

func FuzzParseNodeList(f *testing.F) {
	f.Add([]byte(`["enode://a979fb575495b8d6db44f750317d0f4622bf4c2aa3365d6af7c284339968eef29b69ad0dce72a4d8db5ebb4968de0e3bec910127f134779fbcb0cb6d3331163c@52.16.188.185:30303"]`))
	f.Add([]byte(`["enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8"]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		nodes, err := ParseNodeList("fuzz", data)
		if err == nil {
			for _, n := range nodes {
				if n == nil {
					t.Fatal("nil node without error")
				}
			}
		}
	})
}

func TestVirtualHosts(t *testing.T) {
	n := startNode(t, testConfig(t, t.TempDir()))
	for _, tt := range []struct {
		host string
		want int
	}{
		{"localhost:8545", 200},
		{"LOCALHOST", 200},
		{"127.0.0.1:8545", 200},
		{"[::1]:8545", 200},
		{"evil.example:8545", 403},
	} {
		req, _ := http.NewRequest("POST", "http://"+n.Endpoints().HTTP, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"admin_datadir"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Host = tt.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("Host %q: status %d, want %d", tt.host, resp.StatusCode, tt.want)
		}
	}
	// The WebSocket endpoint applies the same check.
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+n.Endpoints().WS, http.Header{"Host": {"evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("WebSocket with foreign Host: %v %v", resp, err)
	}
}

func TestCloseEndsWebSocket(t *testing.T) {
	n := startNode(t, testConfig(t, t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, "ws://"+n.Endpoints().WS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub, err := c.Subscribe(ctx, "admin", make(chan *p2p.PeerEvent), "peerEvents")
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	select {
	case err := <-sub.Err():
		if err == nil || errors.Is(err, rpc.ErrClientClosed) {
			t.Fatalf("subscription ended with %v, want the connection lost", err)
		}
	case <-ctx.Done():
		t.Fatal("WebSocket open after Close")
	}
	// admin methods of a closed node report it.
	if n.isRunning() {
		t.Fatal("running after Close")
	}
}

type blockingNotifier struct {
	release chan struct{}
	got     chan any
}

func (b *blockingNotifier) Notify(v any) error {
	<-b.release
	b.got <- v
	return nil
}

// TestPeerEventsSlowClient checks that a subscriber that does not read
// cannot hold up the server's event feed: its subscription ends instead.
func TestPeerEventsSlowClient(t *testing.T) {
	var feed p2p.Feed[*p2p.PeerEvent]
	events := make(chan *p2p.PeerEvent, 1)
	sub := feed.Subscribe(events)
	n := &blockingNotifier{release: make(chan struct{}), got: make(chan any, 100)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		forwardPeerEvents(context.Background(), events, sub, n, 4, discardLogger())
	}()
	sent := make(chan int)
	go func() {
		total := 0
		for range 100 {
			total += feed.Send(&p2p.PeerEvent{Type: p2p.PeerEventTypeAdd})
		}
		sent <- total
	}()
	select {
	case total := <-sent:
		if total >= 100 {
			t.Fatalf("subscriber took all %d events without reading", total)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("feed blocked by a subscriber that does not read")
	}
	close(n.release)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("forwarder did not end")
	}
}

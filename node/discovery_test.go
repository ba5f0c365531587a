package node

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
)

// discoveryConfig is an ephemeral node on loopback with discovery on the
// given addresses, bootstrapping from boot, and /metrics. A node without
// boot does not dial: two nodes that find each other at once dial each
// other at once, and p2p then drops both connections as duplicates and
// waits 35 s before dialing again (seen in 1 run of 44), which is not what
// these tests are about.
func discoveryConfig(v4, v5 string, boot *enode.Node) Config {
	cfg := Config{
		P2P:             p2p.Config{Name: "disc-test", MaxPeers: 10, ListenAddr: "127.0.0.1:0"},
		DiscoveryV4Addr: v4,
		DiscoveryV5Addr: v5,
		MetricsAddr:     "127.0.0.1:0",
		Logger:          discardLogger(),
	}
	if boot != nil {
		cfg.Bootnodes = []*enode.Node{boot}
	} else {
		cfg.P2P.NoDial = true
	}
	return cfg
}

func scrape(t *testing.T, n *Node) string {
	t.Helper()
	resp, err := http.Get("http://" + n.Endpoints().Metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// metricValue returns the value of the series line that starts with
// series, or -1.
func metricValue(text, series string) int {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\d+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, _ := strconv.Atoi(m[1])
	return v
}

// TestDiscoveryV5Only: two nodes that run only discv5 find each other
// through it and connect; /metrics shows discv5 traffic and table.
func TestDiscoveryV5Only(t *testing.T) {
	a := startNode(t, discoveryConfig("", "127.0.0.1:0", nil))
	b := startNode(t, discoveryConfig("", "127.0.0.1:0", a.Server().Self()))
	if a.disc4.Load() != nil || a.disc5.Load() == nil {
		t.Fatal("want discv5 alone")
	}
	waitFor(t, "a and b to connect through discv5", func() bool {
		return a.Server().PeerCount() == 1 && b.Server().PeerCount() == 1
	})
	// The dialer may take the bootnode from the table before any lookup
	// has been answered.
	waitFor(t, "b's first NODES answer", func() bool {
		return b.disc5.Load().Stats().PacketsIn["NODES/v5"] > 0
	})
	text := scrape(t, b)
	for _, series := range []string{
		`trellis_discovery_packets_total{proto="v5",dir="out",kind="FINDNODE"}`,
		`trellis_discovery_packets_total{proto="v5",dir="in",kind="NODES"}`,
		`trellis_discovery_bytes_total{proto="v5",dir="in"}`,
		`trellis_discovery_bytes_total{proto="v5",dir="out"}`,
		`trellis_discovery_table_nodes{proto="v5"}`,
	} {
		if v := metricValue(text, series); v < 1 {
			t.Errorf("%s = %d, want > 0", series, v)
		}
	}
	if metricValue(text, `trellis_discovery_dropped_total{proto="v5"}`) < 0 {
		t.Error("no discv5 drop counter")
	}
	if strings.Contains(text, `proto="v4"`) {
		t.Error("discv4 series without discv4")
	}
	if t.Failed() {
		t.Log(text)
	}
}

// TestDiscoveryShared: discv4 and discv5 on one socket, one UDP port in
// the record, both tables filled from one bootnode.
func TestDiscoveryShared(t *testing.T) {
	a := startNode(t, discoveryConfig("127.0.0.1:0", "127.0.0.1:0", nil))
	b := startNode(t, discoveryConfig("127.0.0.1:0", "127.0.0.1:0", a.Server().Self()))
	if b.disc4.Load() == nil || b.disc5.Load() == nil {
		t.Fatal("want discv4 and discv5")
	}
	udp, _ := b.Server().Self().UDPEndpoint()
	if s4, s5 := b.disc4.Load().Self(), b.disc5.Load().Self(); s4.Seq() != s5.Seq() || udp.Port() == 0 {
		t.Errorf("records differ or lack the UDP port: %v %v", s4, s5)
	}
	waitFor(t, "both tables to hold the bootnode", func() bool {
		st4, st5 := b.disc4.Load().Stats(), b.disc5.Load().Stats()
		return st4.TableNodes > 0 && st5.TableNodes > 0 && st4.BytesIn > 0 && st5.BytesIn > 0
	})
	waitFor(t, "a and b to connect", func() bool { return b.Server().PeerCount() == 1 })
	text := scrape(t, b)
	for _, series := range []string{
		`trellis_discovery_packets_total{proto="v4",dir="out",kind="PING"}`,
		`trellis_discovery_packets_total{proto="v4",dir="in",kind="PONG"}`,
		`trellis_discovery_bytes_total{proto="v5",dir="in"}`,
		`trellis_discovery_table_nodes{proto="v4"}`,
		`trellis_discovery_table_nodes{proto="v5"}`,
	} {
		if v := metricValue(text, series); v < 1 {
			t.Errorf("%s = %d, want > 0", series, v)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
	// admin_nodeInfo is as without discv5: the one discovery port.
	c := discoveryConfig("127.0.0.1:0", "127.0.0.1:0", nil)
	c.HTTPAddr = "127.0.0.1:0"
	d := startNode(t, c)
	var info p2p.NodeInfo
	if err := call(t, d, &info, "admin_nodeInfo"); err != nil {
		t.Fatal(err)
	}
	if udp, _ := d.Server().Self().UDPEndpoint(); info.Ports.Discovery != int(udp.Port()) || info.Ports.Discovery == 0 {
		t.Errorf("nodeInfo discovery port %d, record %v", info.Ports.Discovery, udp)
	}
}

func TestDiscoveryAddressMismatch(t *testing.T) {
	_, err := New(discoveryConfig("127.0.0.1:30301", "127.0.0.1:30302", nil))
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("different discv4 and discv5 addresses: %v", err)
	}
}

func TestDiscoveryMetricsFormat(t *testing.T) {
	var b strings.Builder
	writeDiscoveryMetrics(&b, []discoveryStats{
		{"v4", discover.Stats{
			TableNodes: 7,
			PacketsIn:  map[string]uint64{"PING/v4": 3, "FINDNODE/v4": 1},
			PacketsOut: map[string]uint64{"PONG/v4": 3},
			BytesIn:    300, BytesOut: 200, Dropped: 2,
		}},
		{"v5", discover.Stats{TableNodes: 1, PacketsIn: map[string]uint64{"WHOAREYOU/v5": 1}}},
	})
	want := `# HELP trellis_discovery_packets_total Discovery packets by protocol, direction and kind.
# TYPE trellis_discovery_packets_total counter
trellis_discovery_packets_total{proto="v4",dir="in",kind="FINDNODE"} 1
trellis_discovery_packets_total{proto="v4",dir="in",kind="PING"} 3
trellis_discovery_packets_total{proto="v4",dir="out",kind="PONG"} 3
trellis_discovery_packets_total{proto="v5",dir="in",kind="WHOAREYOU"} 1
# HELP trellis_discovery_bytes_total Discovery datagram bytes by protocol and direction.
# TYPE trellis_discovery_bytes_total counter
trellis_discovery_bytes_total{proto="v4",dir="in"} 300
trellis_discovery_bytes_total{proto="v4",dir="out"} 200
trellis_discovery_bytes_total{proto="v5",dir="in"} 0
trellis_discovery_bytes_total{proto="v5",dir="out"} 0
# HELP trellis_discovery_dropped_total Discovery datagrams (and discv5 NODES records) dropped: undecodable, rate-limited, restricted, unsolicited or invalid.
# TYPE trellis_discovery_dropped_total counter
trellis_discovery_dropped_total{proto="v4"} 2
trellis_discovery_dropped_total{proto="v5"} 0
# HELP trellis_discovery_table_nodes Live nodes in the discovery table by protocol.
# TYPE trellis_discovery_table_nodes gauge
trellis_discovery_table_nodes{proto="v4"} 7
trellis_discovery_table_nodes{proto="v5"} 1
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	writeDiscoveryMetrics(&b, nil)
	if b.Len() != 0 {
		t.Errorf("series without discovery: %q", b.String())
	}
}

package node

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"

	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/p2p"
)

// metricsHandler serves the Prometheus text exposition format (version
// 0.0.4, https://prometheus.io/docs/instrumenting/exposition_formats/) at
// /metrics, and at go-ethereum's /debug/metrics/prometheus.
func (n *Node) metricsHandler() http.Handler {
	mux := http.NewServeMux()
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		bw := bufio.NewWriter(w)
		n.writeMetrics(bw)
		bw.Flush()
	}
	mux.HandleFunc("/metrics", h)
	mux.HandleFunc("/debug/metrics/prometheus", h)
	return mux
}

// runtimeSamples are the Go runtime metrics exported, with the names
// client_golang gives them so that existing dashboards work.
var runtimeSamples = []struct {
	name, typ, help, key string
}{
	{"go_goroutines", "gauge", "Number of goroutines that currently exist.", "/sched/goroutines:goroutines"},
	{"go_memstats_heap_alloc_bytes", "gauge", "Bytes of allocated heap objects.", "/memory/classes/heap/objects:bytes"},
	{"go_memstats_sys_bytes", "gauge", "Bytes of memory obtained from the OS.", "/memory/classes/total:bytes"},
	{"go_gc_cycles_total", "counter", "Completed GC cycles.", "/gc/cycles/total:gc-cycles"},
	{"go_gc_heap_allocs_bytes_total", "counter", "Cumulative bytes allocated on the heap.", "/gc/heap/allocs:bytes"},
}

func (n *Node) writeMetrics(w io.Writer) {
	if c := n.server.Counters(); c != nil {
		writeP2PMetrics(w, c.Snapshot())
	}
	var disc []discoveryStats
	if disc4 := n.disc4.Load(); disc4 != nil {
		disc = append(disc, discoveryStats{"v4", disc4.Stats()})
	}
	if disc5 := n.disc5.Load(); disc5 != nil {
		disc = append(disc, discoveryStats{"v5", disc5.Stats()})
	}
	writeDiscoveryMetrics(w, disc)
	samples := make([]metrics.Sample, len(runtimeSamples))
	for i, s := range runtimeSamples {
		samples[i].Name = s.key
	}
	metrics.Read(samples)
	for i, s := range runtimeSamples {
		header(w, s.name, s.typ, s.help)
		switch samples[i].Value.Kind() {
		case metrics.KindUint64:
			fmt.Fprintf(w, "%s %d\n", s.name, samples[i].Value.Uint64())
		case metrics.KindFloat64:
			fmt.Fprintf(w, "%s %g\n", s.name, samples[i].Value.Float64())
		default: // not supported by this Go version
			fmt.Fprintf(w, "%s 0\n", s.name)
		}
	}
	header(w, "go_info", "gauge", "Information about the Go environment.")
	fmt.Fprintf(w, "go_info{version=%s} 1\n", quote(runtime.Version()))
	header(w, "process_start_time_seconds", "gauge", "Start time of the node since unix epoch in seconds.")
	fmt.Fprintf(w, "process_start_time_seconds %d\n", n.start.Unix())
}

func writeP2PMetrics(w io.Writer, s p2p.MetricsSnapshot) {
	header(w, "trellis_p2p_peers", "gauge", "Connected peers by direction.")
	fmt.Fprintf(w, "trellis_p2p_peers{direction=\"inbound\"} %d\n", s.InboundPeers)
	fmt.Fprintf(w, "trellis_p2p_peers{direction=\"outbound\"} %d\n", s.OutboundPeers)
	header(w, "trellis_p2p_dials_total", "counter", "Outbound connection attempts.")
	fmt.Fprintf(w, "trellis_p2p_dials_total %d\n", s.Dials)
	writeOutcomes(w, "trellis_p2p_dial_outcomes_total", "Outbound connection setups by outcome.", s.DialOutcomes)
	writeOutcomes(w, "trellis_p2p_serve_outcomes_total", "Inbound connection setups by outcome.", s.ServeOutcomes)
	writeTraffic(w, "ingress", s.Ingress)
	writeTraffic(w, "egress", s.Egress)
}

func writeOutcomes(w io.Writer, name, help string, m map[string]uint64) {
	header(w, name, "counter", help)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s{outcome=%s} %d\n", name, quote(k), m[k])
	}
}

// writeTraffic sums the per-code counters by protocol: per-code series
// would multiply the series count by every message type of every protocol.
func writeTraffic(w io.Writer, dir string, t []p2p.Traffic) {
	type sum struct{ bytes, msgs uint64 }
	var order []string
	byProto := map[string]*sum{}
	for _, tr := range t {
		k := tr.Proto.String()
		if byProto[k] == nil {
			byProto[k] = new(sum)
			order = append(order, k)
		}
		byProto[k].bytes += tr.Bytes
		byProto[k].msgs += tr.Packets
	}
	bytesName := "trellis_p2p_" + dir + "_bytes_total"
	msgsName := "trellis_p2p_" + dir + "_messages_total"
	header(w, bytesName, "counter", "Wire bytes of "+dir+" messages by protocol (base protocol: p2p).")
	for _, k := range order {
		fmt.Fprintf(w, "%s{protocol=%s} %d\n", bytesName, quote(k), byProto[k].bytes)
	}
	header(w, msgsName, "counter", "Count of "+dir+" messages by protocol.")
	for _, k := range order {
		fmt.Fprintf(w, "%s{protocol=%s} %d\n", msgsName, quote(k), byProto[k].msgs)
	}
}

// discoveryStats are the counters of one discovery listener.
type discoveryStats struct {
	proto string // "v4" or "v5"
	discover.Stats
}

// writeDiscoveryMetrics writes the discovery listeners' packet, byte and
// drop counters and table sizes. Packet names ("PING/v4") become the kind
// label without the protocol suffix, which is the proto label.
func writeDiscoveryMetrics(w io.Writer, ls []discoveryStats) {
	if len(ls) == 0 {
		return
	}
	const packets = "trellis_discovery_packets_total"
	header(w, packets, "counter", "Discovery packets by protocol, direction and kind.")
	for _, l := range ls {
		for _, d := range []struct {
			dir string
			m   map[string]uint64
		}{{"in", l.PacketsIn}, {"out", l.PacketsOut}} {
			kinds := make([]string, 0, len(d.m))
			for k := range d.m {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			for _, k := range kinds {
				kind, _, _ := strings.Cut(k, "/")
				fmt.Fprintf(w, "%s{proto=%s,dir=%s,kind=%s} %d\n", packets, quote(l.proto), quote(d.dir), quote(kind), d.m[k])
			}
		}
	}
	const bytes = "trellis_discovery_bytes_total"
	header(w, bytes, "counter", "Discovery datagram bytes by protocol and direction.")
	for _, l := range ls {
		fmt.Fprintf(w, "%s{proto=%s,dir=\"in\"} %d\n", bytes, quote(l.proto), l.BytesIn)
		fmt.Fprintf(w, "%s{proto=%s,dir=\"out\"} %d\n", bytes, quote(l.proto), l.BytesOut)
	}
	const dropped = "trellis_discovery_dropped_total"
	header(w, dropped, "counter", "Discovery datagrams (and discv5 NODES records) dropped: undecodable, rate-limited, restricted, unsolicited or invalid.")
	for _, l := range ls {
		fmt.Fprintf(w, "%s{proto=%s} %d\n", dropped, quote(l.proto), l.Dropped)
	}
	const table = "trellis_discovery_table_nodes"
	header(w, table, "gauge", "Live nodes in the discovery table by protocol.")
	for _, l := range ls {
		fmt.Fprintf(w, "%s{proto=%s} %d\n", table, quote(l.proto), l.TableNodes)
	}
}

func header(w io.Writer, name, typ, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

// quote writes a label value: backslash, double quote and newline escaped.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

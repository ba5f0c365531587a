package discover

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/netutil"
)

// FINDNODE is served for the first three distinct distances of a request,
// distance 0 being our own record, with records the requester may relay,
// at most 16, in NODES packets that announce their total.
func TestV5FindnodeServe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		// No revalidation: its PINGs to the requester would interleave
		// with the NODES packets this test counts.
		l := tn.listenV5(1, "11.0.0.1:30303", Config{PingInterval: time.Hour})
		p := tn.v5peer(2, "11.0.0.2:30303")
		self := l.Self().ID()

		var nodes []*enode.Node
		want := map[int]int{}
		ip := 0
		for d, n := range map[int]int{256: 12, 255: 6, 254: 3, 253: 2} {
			for _, k := range keysAtDistance(self, d, n, uint64(1000*d)) {
				ip++
				nodes = append(nodes, signedNode(k, fmt.Sprintf("12.%d.0.1", ip), 30303))
				want[d]++
			}
		}
		// A LAN node at a served distance, which a requester on the
		// Internet must not get.
		lan := signedNode(keysAtDistance(self, 255, 1, 5000)[0], "192.168.1.1", 30303)
		nodes = append(nodes, lan)
		addLiveV5(l, nodes...)

		p.handshake(0, l)
		p.send(0, l, &v5wire.Findnode{ReqID: []byte{7}, Distances: []uint{0, 253, 253, 255, 254, 256}}, nil)
		var got []*enode.Node
		for total := 1; total > 0; total-- {
			m, _ := expectV5[*v5wire.Nodes](p, l, "NODES")
			if len(got) == 0 {
				total = int(m.Total)
			}
			for _, r := range m.Records {
				n, err := enode.New(r)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, n)
			}
		}
		if pkt, _ := p.read(l); pkt != nil {
			t.Fatalf("extra packet %s after the announced total", pkt.Name())
		}
		count := map[int]int{}
		for _, n := range got {
			if n.ID() == lan.ID() {
				t.Error("LAN record relayed to a requester on the Internet")
			}
			count[enode.LogDist(self, n.ID())]++
		}
		// Served in the order asked, each distinct distance once (253
		// only once), until findnodeResultLimit records: 0, 253, 255 and
		// 254 whole, then distance 256 up to the limit.
		rest := findnodeResultLimit - 1 - want[253] - want[255] - want[254]
		if count[0] != 1 || count[253] != want[253] || count[255] != want[255] || count[254] != want[254] || count[256] != rest {
			t.Errorf("records by distance %v, want 0:1 253:%d 255:%d 254:%d 256:%d", count, want[253], want[255], want[254], rest)
		}

		// Three distances of many nodes: capped at findnodeResultLimit.
		more := keysAtDistance(self, 256, 20, 20000)
		var extra []*enode.Node
		for i, k := range more {
			extra = append(extra, signedNode(k, fmt.Sprintf("13.%d.0.1", i), 30303))
		}
		addLiveV5(l, extra...) // the bucket keeps 16
		p.send(0, l, &v5wire.Findnode{ReqID: []byte{8}, Distances: []uint{256, 255, 254}}, nil)
		n := 0
		for total := 1; total > 0; total-- {
			m, _ := expectV5[*v5wire.Nodes](p, l, "NODES")
			if n == 0 {
				total = int(m.Total)
			}
			n += len(m.Records)
		}
		if n != findnodeResultLimit {
			t.Errorf("got %d records, want the limit %d", n, findnodeResultLimit)
		}
	})
}

// Records of a NODES answer are kept only if they lie at a requested
// distance, are not duplicates, have a port above 1024, an address the
// responder may relay, and one NetRestrict allows. The answer spans the
// announced number of packets, capped at maxNodesResponses.
func TestV5FindnodeChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		restrict, _ := netutil.ParseNetlist("11.0.0.0/8, 192.168.0.0/16")
		l := tn.listenV5(1, "11.0.0.1:30303", Config{NetRestrict: restrict})
		p := tn.v5peer(2, "11.0.0.2:30303")
		at256 := keysAtDistance(p.id(), 256, 4, 100)
		at255 := keysAtDistance(p.id(), 255, 1, 100)
		good := signedNode(at256[0], "11.1.0.1", 30303)
		records := []*enr.Record{
			good.Record(),
			signedNode(at255[0], "11.2.0.1", 30303).Record(), // wrong distance
			good.Record(), // duplicate
			signedNode(at256[1], "11.3.0.1", 1000).Record(),     // low port
			signedNode(at256[2], "192.168.1.1", 30303).Record(), // LAN from the Internet
			signedNode(at256[3], "13.0.0.1", 30303).Record(),    // outside NetRestrict
		}

		type result struct {
			nodes []*enode.Node
			err   error
		}
		done := make(chan result, 1)
		go func() {
			nodes, err := l.Findnode(context.Background(), p.node(), []uint{256})
			done <- result{nodes, err}
		}()
		req, ok := p.request(l).(*v5wire.Findnode)
		if !ok || !slices.Equal(req.Distances, []uint{256}) {
			t.Fatalf("request %+v, want FINDNODE [256]", req)
		}
		// Two packets announced; the second carries the good record
		// again, which is a duplicate too.
		p.send(0, l, &v5wire.Nodes{ReqID: req.ReqID, Total: 2, Records: records}, nil)
		p.send(0, l, &v5wire.Nodes{ReqID: req.ReqID, Total: 2, Records: records[:1]}, nil)
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		if len(r.nodes) != 1 || r.nodes[0].ID() != good.ID() {
			t.Fatalf("got %d nodes %v, want only the good one", len(r.nodes), r.nodes)
		}

		// A total of 200 is read as maxNodesResponses.
		go func() {
			nodes, err := l.Findnode(context.Background(), p.node(), []uint{256})
			done <- result{nodes, err}
		}()
		req = p.request(l).(*v5wire.Findnode)
		for i := range maxNodesResponses {
			rec := signedNode(keysAtDistance(p.id(), 256, 1, uint64(200+100*i))[0], fmt.Sprintf("11.%d.1.1", i), 30303)
			p.send(0, l, &v5wire.Nodes{ReqID: req.ReqID, Total: 200, Records: []*enr.Record{rec.Record()}}, nil)
		}
		r = <-done
		if r.err != nil || len(r.nodes) == 0 {
			t.Fatalf("capped answer: %d nodes, err %v", len(r.nodes), r.err)
		}
		before := l.Stats().Dropped
		p.send(0, l, &v5wire.Nodes{ReqID: req.ReqID, Total: 200}, nil)
		synctest.Wait()
		if l.Stats().Dropped != before+1 {
			t.Error("NODES packet beyond maxNodesResponses was not dropped")
		}

		// RequestENR: FINDNODE [0], answered with the own record.
		go func() {
			n, err := l.RequestENR(context.Background(), p.node())
			done <- result{[]*enode.Node{n}, err}
		}()
		req = p.request(l).(*v5wire.Findnode)
		if !slices.Equal(req.Distances, []uint{0}) {
			t.Fatalf("RequestENR asked for %v", req.Distances)
		}
		p.send(0, l, &v5wire.Nodes{ReqID: req.ReqID, Total: 1, Records: []*enr.Record{p.node().Record()}}, nil)
		if r = <-done; r.err != nil || r.nodes[0].ID() != p.id() {
			t.Fatalf("RequestENR: %v, %v", r.nodes, r.err)
		}
	})
}

var _ = netip.Addr{}

// The 700ms wait restarts with every NODES packet of an answer: a slow
// multi-packet answer completes; a missing packet times the request out,
// which returns the records that did arrive.
func TestV5FindnodeSlowAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listenV5(1, "11.0.0.1:30303", Config{})
		p := tn.v5peer(2, "11.0.0.2:30303")
		rec := func(i int) *enr.Record {
			return signedNode(keysAtDistance(p.id(), 256, 1, uint64(300+100*i))[0], fmt.Sprintf("11.%d.2.1", i), 30303).Record()
		}
		type result struct {
			nodes []*enode.Node
			err   error
		}
		done := make(chan result, 1)
		find := func() *v5wire.Findnode {
			go func() {
				nodes, err := l.Findnode(context.Background(), p.node(), []uint{256})
				done <- result{nodes, err}
			}()
			return p.request(l).(*v5wire.Findnode)
		}

		req := find()
		for i := range 3 {
			time.Sleep(respTimeoutV5 - 100*time.Millisecond)
			p.send(0, l, &v5wire.Nodes{ReqID: req.ReqID, Total: 3, Records: []*enr.Record{rec(i)}}, nil)
		}
		if r := <-done; r.err != nil || len(r.nodes) != 3 {
			t.Fatalf("slow answer: %d nodes, %v", len(r.nodes), r.err)
		}

		req = find()
		p.send(0, l, &v5wire.Nodes{ReqID: req.ReqID, Total: 2, Records: []*enr.Record{rec(5)}}, nil)
		start := time.Now()
		r := <-done
		if !errors.Is(r.err, ErrTimeout) || len(r.nodes) != 1 {
			t.Fatalf("incomplete answer: %d nodes, %v; want 1 and ErrTimeout", len(r.nodes), r.err)
		}
		if d := time.Since(start); d != respTimeoutV5 {
			t.Errorf("timed out %v after the last packet, want %v", d, respTimeoutV5)
		}
	})
}

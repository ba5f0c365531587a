package gossip

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
)

func BenchmarkDecodeMessage(b *testing.B) {
	m, _ := NewMessage(enode.ID{1}, 1, time.Unix(1700000000, 0), bytes.Repeat([]byte{1}, 256))
	enc, _ := EncodeMessage(m)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMessage(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloodRing measures one message flooding a ring of 8 nodes over
// message pipes: 7 deliveries, 8 forwards in each direction, 2 duplicates.
func BenchmarkFloodRing(b *testing.B) {
	const n = 8
	var (
		wg        sync.WaitGroup
		delivered = make(chan struct{}, 1024)
		nodes     []*Gossip
		pipes     []*p2p.MsgPipeRW
	)
	for i := range n {
		nodes = append(nodes, New(Config{
			Self:    enode.ID{byte(i + 1)},
			Deliver: func(Delivery) { delivered <- struct{}{} },
		}))
	}
	for i := range n {
		j := (i + 1) % n
		pa, pb := p2p.MsgPipe()
		pipes = append(pipes, pa)
		wg.Add(2)
		go func() { defer wg.Done(); nodes[i].RunPeer(nodes[j].cfg.Self, pa) }()
		go func() { defer wg.Done(); nodes[j].RunPeer(nodes[i].cfg.Self, pb) }()
	}
	for _, g := range nodes {
		for g.Stats().Peers != 2 {
			time.Sleep(time.Millisecond) // setup only, outside the measurement
		}
	}
	payload := bytes.Repeat([]byte{7}, 128)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := nodes[i%n].Publish(payload); err != nil {
			b.Fatal(err)
		}
		for range n - 1 {
			<-delivered
		}
	}
	b.StopTimer()
	for _, p := range pipes {
		p.Close()
	}
	wg.Wait()
}

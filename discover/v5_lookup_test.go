package discover

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

func TestLookupDistances(t *testing.T) {
	id := func(bytes ...byte) (x enode.ID) {
		copy(x[32-len(bytes):], bytes)
		return x
	}
	var zero enode.ID
	var top enode.ID
	top[0] = 0x80
	for _, tc := range []struct {
		dest enode.ID
		want []uint
	}{
		// The set bits of target XOR dest, highest first.
		{id(0b1011_0100), []uint{8, 6, 5}},
		{id(0x01, 0x00, 0x81), []uint{17, 8, 1}},
		// Fewer set bits than distances: above the highest, then below.
		{id(0b0001_0000), []uint{5, 6, 7}},
		{id(0b0001_0001), []uint{5, 1, 6}},
		{top, []uint{256, 255, 254}},
		{id(1), []uint{1, 2, 3}},
		{zero, []uint{0}},
	} {
		if got := lookupDistances(zero, tc.dest); !slices.Equal(got, tc.want) {
			t.Errorf("dest %x: got %v, want %v", tc.dest[28:], got, tc.want)
		}
	}
}

// Thirty nodes join through one bootnode; after a few refreshes, lookups
// from every node find the true closest nodes, and RandomNodes yields
// nodes of the network.
func TestV5LookupConverges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 30
		tn := newTestNet(t)
		nodes := make([]*UDPv5, n)
		nodes[0] = tn.listenV5(100, "11.0.0.1:30303", Config{})
		for i := 1; i < n; i++ {
			nodes[i] = tn.listenV5(uint64(100+i), fmt.Sprintf("11.0.%d.1:30303", i), Config{Bootnodes: []*enode.Node{nodes[0].Self()}})
		}
		time.Sleep(2 * time.Minute)

		ids := make([]enode.ID, n)
		for i, l := range nodes {
			ids[i] = l.Self().ID()
		}
		exact := 0
		for i, l := range nodes {
			target := ids[(i+7)%n]
			target[31] ^= 1 // near a node, not at it
			found := l.Lookup(context.Background(), target)
			if sameIDs(found, trueClosest(ids, i, target, bucketSize)) {
				exact++
			}
		}
		if exact < n-1 {
			t.Errorf("%d of %d lookups exact", exact, n)
		}
		for i, l := range nodes {
			if s := l.Stats(); s.TableNodes < n/2 {
				t.Errorf("node %d: %d table entries", i, s.TableNodes)
			}
		}

		it := nodes[3].RandomNodes()
		seen := map[enode.ID]bool{}
		for len(seen) < n/2 && it.Next() {
			seen[it.Node().ID()] = true
		}
		it.Close()
		if len(seen) < n/2 {
			t.Errorf("RandomNodes yielded %d distinct nodes", len(seen))
		}
	})
}

// A discv5 lookup asks the closest node found for its bucket at the
// target's distance from the 16th closest (the boundary), and asks again
// when answers move the boundary closer.
func TestLookupAsksBoundary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab, _ := newTestTable(t, Config{PingInterval: time.Hour})
		target := enode.HexID("8000000000000000000000000000000000000000000000000000000000000000")
		closest := nullNode(enode.RandomID(target, 240), publicIP(0), 1)
		start := []*enode.Node{closest}
		for i := 1; i < bucketSize; i++ {
			start = append(start, nullNode(enode.RandomID(target, 250), publicIP(i), 1))
		}
		addNodes(tab, start...)
		var nearer []*enode.Node // the boundary bucket's answer: 15 nodes at 245
		for i := range bucketSize - 1 {
			nearer = append(nearer, nullNode(enode.RandomID(target, 245), publicIP(100+i), 1))
		}

		type ask struct {
			id   enode.ID
			dist uint
		}
		var asks []ask
		var mu sync.Mutex
		l := newLookup(context.Background(), tab, target, func(context.Context, *enode.Node) ([]*enode.Node, error) {
			return nil, nil
		})
		l.boundary = func(_ context.Context, n *enode.Node, dist uint) ([]*enode.Node, error) {
			mu.Lock()
			defer mu.Unlock()
			asks = append(asks, ask{n.ID(), dist})
			if len(asks) == 1 {
				return nearer, nil
			}
			return nil, nil
		}
		found := l.run()

		want := []ask{{closest.ID(), 250}, {closest.ID(), 245}}
		if !slices.Equal(asks, want) {
			t.Errorf("boundary queries %v, want %v", asks, want)
		}
		if len(found) != bucketSize || found[0].ID() != closest.ID() || enode.LogDist(target, found[bucketSize-1].ID()) != 245 {
			t.Errorf("lookup result does not hold the boundary answer")
		}
	})
}

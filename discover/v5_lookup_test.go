package discover

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

func TestLookupDistances(t *testing.T) {
	var target, dest enode.ID
	dest[0] = 0x80 // distance 256 from the zero target
	if got := lookupDistances(target, dest); !slices.Equal(got, []uint{256, 255, 254}) {
		t.Errorf("distance 256: %v", got)
	}
	dest = enode.ID{}
	dest[31] = 1 // distance 1
	if got := lookupDistances(target, dest); !slices.Equal(got, []uint{1, 2, 3}) {
		t.Errorf("distance 1: %v", got)
	}
	dest[31] = 0x10 // distance 5
	if got := lookupDistances(target, dest); !slices.Equal(got, []uint{5, 6, 4}) {
		t.Errorf("distance 5: %v", got)
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

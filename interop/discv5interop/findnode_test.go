package discv5interop

import (
	"context"
	"slices"
	"testing"
	"time"

	genode "github.com/ethereum/go-ethereum/p2p/enode"

	"github.com/trellis-p2p/trellis/enode"
)

// TestFindnodeAllDistances: a FINDNODE asking for more distances than a
// lookup sends (go-ethereum's conformance test FindnodeResults asks for
// every distance its bystanders sit at, up to five) is answered with the
// live nodes at every distance asked, up to the 16-record limit. It runs
// against go-ethereum too, to show that go-ethereum answers so.
func TestFindnodeAllDistances(t *testing.T) {
	for _, kind := range []string{"geth", "trellis"} {
		t.Run(kind, func(t *testing.T) { testFindnodeAllDistances(t, kind) })
	}
}

// liveIDs returns the nodes in m's table that it has found live.
func (m *member) liveIDs() map[enode.ID]bool {
	live := map[enode.ID]bool{}
	if m.t != nil {
		for _, b := range m.t.TableBuckets() {
			for _, n := range b {
				live[n.Node.ID()] = n.Live
			}
		}
		return live
	}
	for _, b := range m.g.Nodes() {
		for _, n := range b {
			live[enode.ID(n.Node.ID())] = n.Live
		}
	}
	return live
}

func testFindnodeAllDistances(t *testing.T, kind string) {
	var tr *member
	if kind == "geth" {
		tr = startGeth(t, nil)
	} else {
		tr = startTrellis(t, nil)
	}
	// One go-ethereum node at each of the log distances 253 to 256 from
	// the node under test, which learns of them when they ping it.
	dists := []uint{256, 255, 254, 253}
	want := map[enode.ID]uint{}
	var members []*member
	for _, d := range dists {
		for {
			_, key := newKey(t)
			id := enode.ID(genode.PubkeyToIDV4(&key.PublicKey))
			if uint(enode.LogDist(id, tr.id)) == d {
				m := startGethKey(t, key, nil)
				members = append(members, m)
				want[m.id] = d
				break
			}
		}
	}
	// The node under test takes the others into its table when they
	// complete a handshake with it, and serves them once it has checked
	// they are live, every few seconds.
	asker := startGeth(t, nil)
	for _, m := range members {
		if _, _, err := m.ping(context.Background(), tr.record); err != nil {
			t.Fatalf("geth node at distance %d: PING: %v", want[m.id], err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		live, table := 0, tr.liveIDs()
		for id := range want {
			if table[id] {
				live++
			}
		}
		if live == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s the node under test has %d of the %d nodes live in its table", live, len(want))
		}
		time.Sleep(200 * time.Millisecond)
	}

	got, err := asker.g.Findnode(genode.MustParse(tr.record), dists)
	if err != nil {
		t.Fatalf("FINDNODE %v: %v", dists, err)
	}
	var ids []enode.ID
	for _, n := range got {
		ids = append(ids, enode.ID(n.ID()))
	}
	for id, d := range want {
		if !slices.Contains(ids, id) {
			t.Errorf("FINDNODE %v: the node at distance %d is missing from the %d returned", dists, d, len(got))
		}
	}
}

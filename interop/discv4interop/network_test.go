package discv4interop

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	glog "github.com/ethereum/go-ethereum/log"
	gdiscover "github.com/ethereum/go-ethereum/p2p/discover"
	genode "github.com/ethereum/go-ethereum/p2p/enode"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/enode"
)

// member is one node of the mixed network, Trellis or go-ethereum.
type member struct {
	kind   string // "trellis" or "geth"
	id     enode.ID
	record string // text form of the record at start, "enr:..."

	t *discover.UDPv4
	g *gdiscover.UDPv4
}

func newKey(t testing.TB) (*crypto.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	g, err := gcrypto.ToECDSA(crypto.FromPrivateKey(k))
	if err != nil {
		t.Fatal(err)
	}
	return k, g
}

func listenUDP(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startTrellis starts a Trellis node with the given bootnode records.
func startTrellis(t testing.TB, boot []string) *member {
	t.Helper()
	key, _ := newKey(t)
	conn := listenUDP(t)
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	ln := enode.NewLocalNode(nil, key)
	ln.SetFallbackIP(addr.Addr())
	ln.SetFallbackUDP(int(addr.Port()))
	cfg := discover.Config{PrivateKey: key}
	for _, b := range boot {
		cfg.Bootnodes = append(cfg.Bootnodes, enode.MustParse(b))
	}
	l, err := discover.ListenV4(conn, ln, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	self := l.Self()
	return &member{kind: "trellis", id: self.ID(), record: self.String(), t: l}
}

// startGeth starts a go-ethereum node with the given bootnode records.
func startGeth(t testing.TB, boot []string) *member {
	t.Helper()
	_, key := newKey(t)
	conn := listenUDP(t)
	db, err := genode.OpenDB("")
	if err != nil {
		t.Fatal(err)
	}
	ln := genode.NewLocalNode(db, key)
	ln.SetFallbackIP(net.IPv4(127, 0, 0, 1))
	ln.SetFallbackUDP(conn.LocalAddr().(*net.UDPAddr).Port)
	cfg := gdiscover.Config{PrivateKey: key, Log: glog.NewLogger(glog.DiscardHandler())}
	for _, b := range boot {
		cfg.Bootnodes = append(cfg.Bootnodes, genode.MustParse(b))
	}
	l, err := gdiscover.ListenV4(conn, ln, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); db.Close() })
	self := l.Self()
	return &member{kind: "geth", id: enode.ID(self.ID()), record: self.String(), g: l}
}

// lookupRandom runs one lookup for a random target.
func (m *member) lookupRandom() []enode.ID {
	k, gk := newKeyNoT()
	var ids []enode.ID
	if m.t != nil {
		for _, n := range m.t.LookupPubkey(context.Background(), k.PubKey()) {
			ids = append(ids, n.ID())
		}
		return ids
	}
	for _, n := range m.g.LookupPubkey(&gk.PublicKey) {
		ids = append(ids, enode.ID(n.ID()))
	}
	return ids
}

func newKeyNoT() (*crypto.PrivateKey, *ecdsa.PrivateKey) {
	k, _ := crypto.GenerateKey()
	g, _ := gcrypto.ToECDSA(crypto.FromPrivateKey(k))
	return k, g
}

// requestENR asks the node with record rec for its record.
func (m *member) requestENR(ctx context.Context, rec string) (string, error) {
	if m.t != nil {
		n, err := m.t.RequestENR(ctx, enode.MustParse(rec))
		if err != nil {
			return "", err
		}
		return n.String(), nil
	}
	n, err := m.g.RequestENR(genode.MustParse(rec))
	if err != nil {
		return "", err
	}
	return n.String(), nil
}

// TestMixedNetwork starts 10 Trellis and 10 go-ethereum nodes on loopback
// with one bootnode, once with each kind as the bootnode. Every node's
// lookups must find nodes of both kinds, and ENR requests must succeed in
// both directions.
func TestMixedNetwork(t *testing.T) {
	for _, bootKind := range []string{"geth", "trellis"} {
		t.Run("bootnode="+bootKind, func(t *testing.T) { testMixedNetwork(t, bootKind) })
	}
}

func testMixedNetwork(t *testing.T, bootKind string) {
	const perKind = 10
	var boot *member
	if bootKind == "geth" {
		boot = startGeth(t, nil)
	} else {
		boot = startTrellis(t, nil)
	}
	members := []*member{boot}
	for i := 0; len(members) < 2*perKind; i++ {
		if (i%2 == 0) == (bootKind == "geth") {
			members = append(members, startTrellis(t, []string{boot.record}))
		} else {
			members = append(members, startGeth(t, []string{boot.record}))
		}
	}
	kinds := make(map[enode.ID]string)
	for _, m := range members {
		kinds[m.id] = m.kind
	}

	// Every node looks up random targets until its results have held nodes
	// of both kinds (other than itself), for at most 30 seconds.
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	errs := make([]error, len(members))
	lookups := make([]int, len(members))
	for i, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := map[string]int{}
			for time.Now().Before(deadline) {
				lookups[i]++
				for _, id := range m.lookupRandom() {
					if k, ok := kinds[id]; ok && id != m.id {
						seen[k]++
					} else if !ok {
						errs[i] = fmt.Errorf("lookup returned unknown node %v", id)
						return
					}
				}
				if seen["trellis"] > 0 && seen["geth"] > 0 {
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
			errs[i] = fmt.Errorf("after %d lookups found %v", lookups[i], seen)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s node %d (%v): %v", members[i].kind, i, members[i].id.TerminalString(), err)
		}
	}
	t.Logf("lookups needed per node: %v", lookups)

	// ENR requests in both directions: every Trellis node asks every
	// go-ethereum node and the other way round. Each node asks one node at
	// a time: the point is interoperability, not load, and under load the
	// 500ms reply timeout of both implementations would decide the result.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	requests := 0
	for _, a := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range members {
				if a.kind == b.kind {
					continue
				}
				got, err := a.requestENR(ctx, b.record)
				mu.Lock()
				requests++
				switch {
				case err != nil:
					t.Errorf("%s -> %s RequestENR: %v", a.kind, b.kind, err)
				case enode.MustParse(got).ID() != b.id:
					t.Errorf("%s -> %s RequestENR: record of %v", a.kind, b.kind, enode.MustParse(got).ID())
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d ENR requests across implementations", requests)
}

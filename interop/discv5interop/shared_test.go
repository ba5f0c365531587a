package discv5interop

import (
	"context"
	"net"
	"testing"
	"time"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	glog "github.com/ethereum/go-ethereum/log"
	gdiscover "github.com/ethereum/go-ethereum/p2p/discover"
	genode "github.com/ethereum/go-ethereum/p2p/enode"

	"github.com/trellis-p2p/trellis/discover"
	"github.com/trellis-p2p/trellis/enode"
)

// TestSharedSocket: a Trellis node running discv4 and discv5 on one socket
// (discover.ListenShared) answers go-ethereum's discv4 and discv5 nodes at
// the same address, with the same record.
func TestSharedSocket(t *testing.T) {
	key, _ := newKey(t)
	conn := listenUDP(t)
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	ln := enode.NewLocalNode(nil, key)
	ln.SetFallbackIP(addr.Addr())
	ln.SetFallbackUDP(int(addr.Port()))
	v4, v5, err := discover.ListenShared(conn, ln, discover.Config{PrivateKey: key})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { v5.Close(); v4.Close() })
	rec := v5.Self().String()
	if v4.Self().String() != rec {
		t.Fatalf("v4 and v5 publish different records:\n%s\n%s", v4.Self(), v5.Self())
	}

	// go-ethereum discv5 node.
	ge := startGeth(t, nil)
	if seq, seen, err := ge.ping(context.Background(), rec); err != nil || seq != v5.Self().Seq() || seen != ge.addr {
		t.Errorf("geth v5 PING: seq %d, seen at %v, %v", seq, seen, err)
	}
	if got, err := ge.requestENR(context.Background(), rec); err != nil || got != rec {
		t.Errorf("geth v5 RequestENR: %s, %v", got, err)
	}
	// And the other way: the shared node's v5 side asks go-ethereum.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n, err := v5.RequestENR(ctx, enode.MustParse(ge.record)); err != nil || n.String() != ge.record {
		t.Errorf("shared v5 -> geth RequestENR: %v, %v", n, err)
	}

	// go-ethereum discv4 node.
	gkey, err := gcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	gconn := listenUDP(t)
	db, err := genode.OpenDB("")
	if err != nil {
		t.Fatal(err)
	}
	gln := genode.NewLocalNode(db, gkey)
	gln.SetFallbackIP(net.IPv4(127, 0, 0, 1))
	gln.SetFallbackUDP(gconn.LocalAddr().(*net.UDPAddr).Port)
	g4, err := gdiscover.ListenV4(gconn, gln, gdiscover.Config{PrivateKey: gkey, Log: glog.NewLogger(glog.DiscardHandler())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g4.Close(); db.Close() })
	gn := genode.MustParse(rec)
	if _, err := g4.Ping(gn); err != nil {
		t.Errorf("geth v4 PING: %v", err)
	}
	if n, err := g4.RequestENR(gn); err != nil || n.String() != rec {
		t.Errorf("geth v4 RequestENR: %v, %v", n, err)
	}
}

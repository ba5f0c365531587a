package p2pinterop

import (
	"context"
	"fmt"
	"testing"
	"time"

	trellisnode "github.com/trellis-p2p/trellis/node"
	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rpc"
)

// A go-ethereum p2p.Server added to a Trellis node with admin_addPeer over
// HTTP shows up in the node's admin_peers with its name and capabilities, in
// go-ethereum's result shape, so existing tools read it.
func TestAdminAddPeerGeth(t *testing.T) {
	g := newGeth(t, nodeOpts{noDial: true})

	ph := newProtoHost()
	n, err := trellisnode.New(trellisnode.Config{
		P2P:      p2p.Config{Name: "trellis/admin-interop", MaxPeers: 10, ListenAddr: "127.0.0.1:0", NoDiscovery: true},
		HTTPAddr: "127.0.0.1:0",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.RegisterProtocols([]p2p.Protocol{trellisProto(ph, protoName)}); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	if n.Endpoints().HTTP == "" {
		t.Fatal("node has no HTTP endpoint")
	}
	url := "http://" + n.Endpoints().HTTP

	var added bool
	if err := adminCall(url, "admin_addPeer", []any{g.url()}, &added); err != nil || !added {
		t.Fatalf("admin_addPeer(%s) = %v, %v", g.url(), added, err)
	}

	type peerInfo struct {
		Name    string         `json:"name"`
		Caps    []string       `json:"caps"`
		ID      string         `json:"id"`
		Enode   string         `json:"enode"`
		Network map[string]any `json:"network"`
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		var peers []peerInfo
		if err := adminCall(url, "admin_peers", nil, &peers); err != nil {
			t.Fatal(err)
		}
		if len(peers) == 1 {
			p := peers[0]
			want := fmt.Sprintf("%s/%d", protoName, protoVersion)
			if p.Name != "geth/interop" || len(p.Caps) != 1 || p.Caps[0] != want {
				t.Fatalf("admin_peers shows name %q caps %v, want %q and [%s]", p.Name, p.Caps, "geth/interop", want)
			}
			if p.ID != gnode(g).ID().String() || p.Network["static"] != true || p.Network["inbound"] != false {
				t.Fatalf("admin_peers entry: %+v", p)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("go-ethereum peer not in admin_peers after %v: %+v", waitTimeout, peers)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// adminCall makes one JSON-RPC 2.0 call over HTTP and decodes its result.
func adminCall(url, method string, params []any, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := rpc.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Call(ctx, result, method, params...); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return nil
}

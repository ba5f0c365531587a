package node

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rpc"
)

// peerEventBuffer is how many peer events a subscriber may fall behind
// before its subscription is dropped (the server blocks on a full channel,
// so a slow WebSocket client must not hold it up).
const peerEventBuffer = 64

// registerAdminAPI adds go-ethereum's admin_* methods that concern peers
// (node/api.go there): same names, parameters and result shapes.
func (n *Node) registerAdminAPI() {
	srv := n.server
	n.rpc.Register("admin_nodeInfo", func(context.Context, json.RawMessage) (any, error) {
		if !n.isRunning() {
			return nil, p2p.ErrServerStopped
		}
		return srv.NodeInfo(), nil
	})
	n.rpc.Register("admin_peers", func(context.Context, json.RawMessage) (any, error) {
		if !n.isRunning() {
			return nil, p2p.ErrServerStopped
		}
		peers := srv.PeersInfo()
		if peers == nil {
			peers = []*p2p.PeerInfo{} // [] rather than null, as go-ethereum
		}
		return peers, nil
	})
	n.rpc.Register("admin_datadir", func(context.Context, json.RawMessage) (any, error) {
		return n.cfg.DataDir, nil
	})
	peerOp := func(op func(*enode.Node)) rpc.Method {
		return func(_ context.Context, params json.RawMessage) (any, error) {
			var url string
			if err := rpc.Params(params, 1, &url); err != nil {
				return nil, err
			}
			node, err := enode.Parse(url)
			if err != nil {
				return nil, fmt.Errorf("invalid enode: %v", err)
			}
			if !n.isRunning() {
				return nil, p2p.ErrServerStopped
			}
			op(node)
			return true, nil
		}
	}
	n.rpc.Register("admin_addPeer", peerOp(srv.AddPeer))
	n.rpc.Register("admin_removePeer", peerOp(srv.RemovePeer))
	n.rpc.Register("admin_addTrustedPeer", peerOp(srv.AddTrustedPeer))
	n.rpc.Register("admin_removeTrustedPeer", peerOp(srv.RemoveTrustedPeer))

	n.rpc.RegisterSubscription("admin", "peerEvents", func(ctx context.Context, _ json.RawMessage, notify rpc.Notifier) {
		events := make(chan *p2p.PeerEvent, peerEventBuffer)
		sub := srv.SubscribeEvents(events)
		defer sub.Unsubscribe()
		for {
			select {
			case ev := <-events:
				if notify.Notify(ev) != nil {
					return
				}
			case <-sub.Err():
				return
			case <-ctx.Done():
				return
			}
		}
	})
}

func (n *Node) isRunning() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state == stateRunning
}

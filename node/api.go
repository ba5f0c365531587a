package node

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rpc"
)

// peerEventQueue is how many peer events a subscriber may fall behind
// before its subscription is ended. The p2p server's event feed blocks until
// every subscriber has taken an event, so a WebSocket client that does not
// read must not be able to hold up peer admission: events are queued here and
// the queue is bounded.
const peerEventQueue = 1024

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

	n.rpc.RegisterSubscription("admin", "peerEvents", func(ctx context.Context, params json.RawMessage) (func(rpc.Notifier), error) {
		if err := rpc.Params(params, 0); err != nil {
			return nil, err
		}
		// Join the feed before the client has the subscription ID: an
		// event that follows its next call (admin_addPeer) is not missed.
		events := make(chan *p2p.PeerEvent, 16)
		sub := srv.SubscribeEvents(events)
		return func(notify rpc.Notifier) {
			forwardPeerEvents(ctx, events, sub, notify, peerEventQueue, n.log)
		}, nil
	})
}

// forwardPeerEvents sends the events of sub to notify until ctx ends, the
// client cannot be written to, or it falls more than queueLen events behind.
// Reading events never waits for the client.
func forwardPeerEvents(ctx context.Context, events <-chan *p2p.PeerEvent, sub p2p.Subscription, notify rpc.Notifier, queueLen int, log *slog.Logger) {
	queue := make(chan *p2p.PeerEvent, queueLen)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for ev := range queue {
			if ctx.Err() != nil || notify.Notify(ev) != nil {
				return
			}
		}
	}()
	// Leave the feed first: the writer may be stuck on the client for a
	// while yet.
	defer func() {
		sub.Unsubscribe()
		close(queue)
		<-writerDone
	}()
	for {
		select {
		case ev := <-events:
			select {
			case queue <- ev:
			default:
				log.Warn("Ending admin_peerEvents subscription of a client too slow to read it", "queued", queueLen)
				return
			}
		case <-sub.Err():
			return
		case <-ctx.Done():
			return
		case <-writerDone:
			return
		}
	}
}

func (n *Node) isRunning() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state == stateRunning
}

package discover

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enode"
)

// v5call is a request to one node and the state of its answer. The caller's
// goroutine creates it and waits on done; from then on it belongs to the
// dispatch loop until done is sent.
type v5call struct {
	node     *enode.Node
	id       enode.ID
	addr     netip.AddrPort
	req      v5wire.Packet
	respType byte

	// Owned by the dispatch loop.
	nonce      v5wire.Nonce // of the packet last sent, which a WHOAREYOU names
	handshakes int          // WHOAREYOUs answered
	deadline   time.Time
	responses  []v5wire.Packet
	total      int // NODES packets announced, 0 until the first arrives
	records    int // NODES records taken so far

	done chan v5result // buffered: the loop never blocks on it
}

type v5result struct {
	resp []v5wire.Packet
	err  error
}

// call sends req to n and waits for the answer: one packet of respType, or
// for FINDNODE all NODES packets announced. With ErrTimeout, the NODES
// packets that did arrive are returned too.
func (t *UDPv5) call(ctx context.Context, n *enode.Node, req v5wire.Packet, respType byte) ([]v5wire.Packet, error) {
	addr, ok := n.UDPEndpoint()
	if !ok {
		return nil, ErrNoUDPEndpoint
	}
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	var reqID [v5wire.MaxRequestIDSize]byte
	rand.Read(reqID[:])
	req.SetRequestID(reqID[:])
	c := &v5call{node: n, id: n.ID(), addr: addr, req: req, respType: respType, done: make(chan v5result, 1)}
	if !t.post(func() { t.disp.startCall(c) }) {
		return nil, ErrClosed
	}
	select {
	case r := <-c.done:
		return r.resp, r.err
	case <-ctx.Done():
		t.post(func() { t.disp.endCall(c, ctx.Err()) })
		// The call may have ended on its own meanwhile.
		r := <-c.done
		if r.err == nil {
			return r.resp, nil
		}
		return nil, ctx.Err()
	}
}

// post runs f on the dispatch loop. It reports false if the listener is
// closed, in which case f does not run.
func (t *UDPv5) post(f func()) bool {
	select {
	case t.ops <- f:
		return true
	case <-t.ctx.Done():
		return false
	}
}

// startCall queues c behind the node's active call, or sends it.
func (d *v5dispatch) startCall(c *v5call) {
	q := d.queue[c.id]
	if len(q) > maxQueuedCalls {
		c.done <- v5result{err: fmt.Errorf("%w: %d requests queued for %v", ErrTooManyPending, len(q), c.id)}
		return
	}
	d.queue[c.id] = append(q, c)
	if len(q) == 0 {
		d.sendCall(c)
	}
}

// sendCall makes c the node's active call and sends its request.
func (d *v5dispatch) sendCall(c *v5call) {
	nonce, err := d.send(c.id, c.addr, c.req, nil)
	if err != nil {
		d.endCall(c, err)
		return
	}
	d.setNonce(c, nonce)
	c.deadline = d.t.now().Add(respTimeoutV5)
}

func (d *v5dispatch) setNonce(c *v5call, nonce v5wire.Nonce) {
	if d.byNonce[c.nonce] == c {
		delete(d.byNonce, c.nonce)
	}
	c.nonce = nonce
	d.byNonce[nonce] = c
}

// active returns the node's call in flight, nil if none.
func (d *v5dispatch) active(id enode.ID) *v5call {
	if q := d.queue[id]; len(q) > 0 {
		return q[0]
	}
	return nil
}

// endCall completes c with err (nil: its answer is complete) and sends the
// node's next queued call. Ending a call that already ended does nothing.
func (d *v5dispatch) endCall(c *v5call, err error) {
	q := d.queue[c.id]
	i := slices.Index(q, c)
	if i < 0 {
		return
	}
	q = slices.Delete(q, i, i+1)
	if len(q) == 0 {
		delete(d.queue, c.id)
	} else {
		d.queue[c.id] = q
	}
	if d.byNonce[c.nonce] == c {
		delete(d.byNonce, c.nonce)
	}
	c.done <- v5result{c.responses, err}
	if i == 0 && len(q) > 0 {
		d.sendCall(q[0])
	}
}

// expireCalls fails active calls whose answer is overdue and returns the
// next deadline (zero if none).
func (d *v5dispatch) expireCalls(now time.Time) time.Time {
	var next time.Time
	var expired []*v5call
	for _, q := range d.queue {
		c := q[0]
		if !now.Before(c.deadline) {
			expired = append(expired, c)
		} else if next.IsZero() || c.deadline.Before(next) {
			next = c.deadline
		}
	}
	for _, c := range expired {
		d.endCall(c, ErrTimeout)
		// endCall may have sent the next call.
		if nc := d.active(c.id); nc != nil && (next.IsZero() || nc.deadline.Before(next)) {
			next = nc.deadline
		}
	}
	return next
}

// handleWhoareyou answers a challenge to one of our calls: the request goes
// again inside a handshake packet (discv5-theory.md "Handshake Steps",
// step 3). A second challenge for the same call fails it: the remote did
// not accept our handshake.
func (d *v5dispatch) handleWhoareyou(from netip.AddrPort, w *v5wire.Whoareyou) error {
	c := d.byNonce[w.Nonce]
	if c == nil || c.addr != from {
		return errUnsolicited
	}
	if c.handshakes > 0 {
		d.endCall(c, ErrTooManyChallenges)
		return nil
	}
	c.handshakes++
	w.Node = c.node
	nonce, err := d.send(c.id, c.addr, c.req, w)
	if err != nil {
		d.endCall(c, err)
		return nil
	}
	d.setNonce(c, nonce)
	c.deadline = d.t.now().Add(respTimeoutV5)
	return nil
}

// handleResponse matches an answer from the node id at from to its active
// call: same endpoint, request ID and type.
func (d *v5dispatch) handleResponse(id enode.ID, from netip.AddrPort, p v5wire.Packet) error {
	c := d.active(id)
	if c == nil || c.addr != from || c.respType != p.Kind() || !bytes.Equal(c.req.RequestID(), p.RequestID()) {
		return errUnsolicited
	}
	if p.Kind() != v5wire.NodesMsg {
		c.responses = append(c.responses, p)
		d.endCall(c, nil)
		return nil
	}
	nodes := p.(*v5wire.Nodes)
	if c.total == 0 {
		// discv5-wire.md "NODES Response": total is the number of NODES
		// messages of the answer. Zero makes no sense; read it as one.
		c.total = min(max(int(nodes.Total), 1), maxNodesResponses)
	}
	take := min(len(nodes.Records), maxNodesRecords-c.records)
	if take < len(nodes.Records) {
		d.t.log.Debug("Too many records in NODES answer, ignoring the rest", "id", id, "records", len(nodes.Records), "taken", take)
		nodes.Records = nodes.Records[:take]
	}
	c.records += take
	c.responses = append(c.responses, nodes)
	if len(c.responses) >= c.total {
		d.endCall(c, nil)
	} else {
		c.deadline = d.t.now().Add(respTimeoutV5)
	}
	return nil
}

package discover

import (
	"context"
	"net/netip"
	"time"

	"github.com/trellis-p2p/trellis/discover/v4wire"
	"github.com/trellis-p2p/trellis/enode"
)

// pendingReq is a request waiting for its reply. Replies are matched by
// sender ID and IP and packet type, then by match, which checks the reply
// token: a Pong or ENRResponse must carry the hash of our request (discv4.md
// "Pong Packet": ignore pongs "that do not contain the hash of the most
// recent ping packet"). Neighbors carry no token, so every Neighbors from
// the asked node goes to its pending FindNode; one FindNode may be answered
// by several Neighbors packets.
//
// ensureBond also waits this way for the Ping a node sends us back.
type pendingReq struct {
	from     enode.ID
	ip       netip.Addr
	ptype    byte
	deadline time.Time

	// match runs on the pending loop for each packet of ptype from the
	// node. It reports whether the packet belongs to this request and
	// whether the request is complete. It must not block.
	match func(v4wire.Packet) (matched, done bool)

	// errc receives nil when match reports completion, or the error that
	// ended the request. reply and replied are safe to read after that.
	errc    chan error
	reply   v4wire.Packet // the last packet matched
	replied bool
}

// reply is a packet handed from the read loop to the pending loop.
type reply struct {
	from    enode.ID
	ip      netip.Addr
	packet  v4wire.Packet
	matched chan<- bool
}

// pending registers a request and returns it. The request must be
// registered before its packet is sent, or a quick reply would be missed.
func (t *UDPv4) pending(from enode.ID, ip netip.Addr, ptype byte, match func(v4wire.Packet) (bool, bool)) *pendingReq {
	p := &pendingReq{from: from, ip: ip, ptype: ptype, match: match, errc: make(chan error, 1)}
	select {
	case t.addPending <- p:
	case <-t.ctx.Done():
		p.errc <- ErrClosed
	}
	return p
}

// failedReq returns a request that has already failed with err.
func failedReq(err error) *pendingReq {
	p := &pendingReq{errc: make(chan error, 1)}
	p.errc <- err
	return p
}

// wait waits for p to complete. A request whose timer ran out after some
// replies (a FindNode answered with fewer than 16 nodes) is not an error.
func (t *UDPv4) wait(ctx context.Context, p *pendingReq) error {
	select {
	case err := <-p.errc:
		if err == ErrTimeout && p.replied {
			return nil
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handleReply gives a reply packet to the requests waiting for it and
// reports whether any of them took it.
func (t *UDPv4) handleReply(from enode.ID, ip netip.Addr, p v4wire.Packet) bool {
	matched := make(chan bool, 1)
	select {
	case t.gotReply <- reply{from, ip, p, matched}:
		return <-matched
	case <-t.ctx.Done():
		return false
	}
}

// pendingLoop owns the list of pending requests. All requests wait the same
// respTimeout, so the list is in deadline order and one timer, set to the
// first deadline, serves them all.
func (t *UDPv4) pendingLoop() {
	defer t.wg.Done()
	var (
		list  []*pendingReq
		timer = t.clock.NewTimer(time.Hour)
		armed time.Time
	)
	defer timer.Stop()

	for {
		if len(list) > 0 && !list[0].deadline.Equal(armed) {
			armed = list[0].deadline
			timer.Reset(armed.Sub(t.now()))
		}
		select {
		case <-t.ctx.Done():
			for _, p := range list {
				p.errc <- ErrClosed
			}
			return

		case p := <-t.addPending:
			if len(list) >= maxPendingReplies {
				p.errc <- ErrTooManyPending
				continue
			}
			p.deadline = t.now().Add(respTimeout)
			list = append(list, p)

		case r := <-t.gotReply:
			matched := false
			kept := list[:0]
			for _, p := range list {
				if p.from == r.from && p.ip == r.ip && p.ptype == r.packet.Kind() {
					ok, done := p.match(r.packet)
					if ok {
						matched = true
						p.reply, p.replied = r.packet, true
					}
					if done {
						p.errc <- nil
						continue
					}
				}
				kept = append(kept, p)
			}
			clear(list[len(kept):])
			list = kept
			r.matched <- matched

		case <-timer.C():
			armed = time.Time{}
			now := t.now()
			i := 0
			for ; i < len(list) && !now.Before(list[i].deadline); i++ {
				list[i].errc <- ErrTimeout
			}
			clear(list[:i])
			list = list[i:]
		}
	}
}

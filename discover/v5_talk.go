package discover

import (
	"context"
	"errors"
	"net/netip"
	"sync"

	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enode"
)

// TalkHandler answers a TALKREQ of the protocol it is registered for
// (discv5-wire.md "TALKREQ Request"). It runs on a goroutine of its own,
// at most maxTalkHandlers at a time, and should return promptly: the
// requester waits 700ms, and Close waits for running handlers. Its result
// is sent as the TALKRESP; nil sends an empty one.
type TalkHandler func(id enode.ID, addr netip.AddrPort, req []byte) []byte

// ErrTalkBusy: a TALKREQ arrived while maxTalkHandlers handlers were
// running; it is dropped without answer.
var ErrTalkBusy = errors.New("discover: too many TALKREQ handlers running")

// talkRegistry holds the TALKREQ handlers by protocol name and bounds the
// ones running.
type talkRegistry struct {
	mu       sync.Mutex
	handlers map[string]TalkHandler

	slots chan struct{} // one token per running handler
	wg    sync.WaitGroup
}

func (r *talkRegistry) init() {
	r.handlers = make(map[string]TalkHandler)
	r.slots = make(chan struct{}, maxTalkHandlers)
}

// wait waits for every running handler to return.
func (r *talkRegistry) wait() { r.wg.Wait() }

// RegisterTalkHandler sets the handler of TALKREQ messages for protocol,
// replacing any previous one; nil removes it. Requests for protocols
// without handler get an empty TALKRESP, as discv5-wire.md asks.
func (t *UDPv5) RegisterTalkHandler(protocol string, h TalkHandler) {
	t.talk.mu.Lock()
	defer t.talk.mu.Unlock()
	if h == nil {
		delete(t.talk.handlers, protocol)
	} else {
		t.talk.handlers[protocol] = h
	}
}

// TalkRequest sends a TALKREQ for protocol to n and returns the TALKRESP
// payload. A node that does not speak protocol answers with an empty
// payload, which is returned as such with a nil error.
func (t *UDPv5) TalkRequest(ctx context.Context, n *enode.Node, protocol string, req []byte) ([]byte, error) {
	resp, err := t.call(ctx, n, &v5wire.TalkRequest{Protocol: protocol, Message: req}, v5wire.TalkResponseMsg)
	if err != nil {
		return nil, err
	}
	msg := resp[0].(*v5wire.TalkResponse).Message
	if msg == nil {
		msg = []byte{}
	}
	return msg, nil
}

// handleTalkRequest runs the protocol's handler on a goroutine of its own
// and sends its answer from the dispatch loop when it returns.
func (d *v5dispatch) handleTalkRequest(id enode.ID, from netip.AddrPort, p *v5wire.TalkRequest) error {
	t := d.t
	t.talk.mu.Lock()
	h := t.talk.handlers[p.Protocol]
	t.talk.mu.Unlock()
	if h == nil {
		_, err := d.send(id, from, &v5wire.TalkResponse{ReqID: p.ReqID}, nil)
		return err
	}
	select {
	case t.talk.slots <- struct{}{}:
	default:
		return ErrTalkBusy
	}
	t.talk.wg.Add(1)
	go func() {
		defer t.talk.wg.Done()
		defer func() { <-t.talk.slots }()
		resp := h(id, from, p.Message)
		t.post(func() {
			if _, err := d.send(id, from, &v5wire.TalkResponse{ReqID: p.ReqID, Message: resp}, nil); err != nil {
				t.log.Debug("Can't send TALKRESP", "id", id, "protocol", p.Protocol, "err", err)
			}
		})
	}()
	return nil
}

package p2p

import (
	"sync"
	"sync/atomic"

	"github.com/trellis-p2p/trellis/enode"
)

// PeerEventType is the kind of a PeerEvent.
type PeerEventType string

// Peer event types. The JSON names match go-ethereum's admin_peerEvents.
const (
	PeerEventTypeAdd     PeerEventType = "add"
	PeerEventTypeDrop    PeerEventType = "drop"
	PeerEventTypeMsgSend PeerEventType = "msgsend"
	PeerEventTypeMsgRecv PeerEventType = "msgrecv"
)

// PeerEvent reports a peer being added or dropped, or (with
// Config.EnableMsgEvents) a protocol message sent or received.
type PeerEvent struct {
	Type          PeerEventType `json:"type"`
	Peer          enode.ID      `json:"peer"`
	Error         string        `json:"error,omitempty"`
	Protocol      string        `json:"protocol,omitempty"`
	MsgCode       *uint64       `json:"msg_code,omitempty"`
	MsgSize       *uint32       `json:"msg_size,omitempty"`
	LocalAddress  string        `json:"local,omitempty"`
	RemoteAddress string        `json:"remote,omitempty"`
}

// Subscription is a registration with a Feed. Err's channel is closed by
// Unsubscribe.
type Subscription interface {
	Unsubscribe()
	Err() <-chan error
}

// Feed delivers values to subscribed channels. Send blocks until every
// subscriber has taken the value or unsubscribed, so a subscriber that stops
// reading holds up the sender: read promptly or Unsubscribe.
//
// The zero value is ready to use. Subscribe, Unsubscribe and Send may be
// called concurrently.
type Feed[T any] struct {
	mu   sync.Mutex                    // serialises changes to subs
	subs atomic.Pointer[[]*feedSub[T]] // copy-on-write, so Send does not lock
}

type feedSub[T any] struct {
	feed *Feed[T]
	ch   chan<- T
	once sync.Once
	quit chan struct{}
	err  chan error
}

// Subscribe adds ch to the feed.
func (f *Feed[T]) Subscribe(ch chan<- T) Subscription {
	s := &feedSub[T]{feed: f, ch: ch, quit: make(chan struct{}), err: make(chan error)}
	f.mu.Lock()
	defer f.mu.Unlock()
	var old []*feedSub[T]
	if p := f.subs.Load(); p != nil {
		old = *p
	}
	next := append(append(make([]*feedSub[T], 0, len(old)+1), old...), s)
	f.subs.Store(&next)
	return s
}

// Send delivers v to every subscriber and returns how many took it.
func (f *Feed[T]) Send(v T) int {
	p := f.subs.Load()
	if p == nil {
		return 0
	}
	n := 0
	for _, s := range *p {
		select {
		case s.ch <- v:
			n++
		case <-s.quit:
		}
	}
	return n
}

func (s *feedSub[T]) Unsubscribe() {
	s.once.Do(func() {
		close(s.quit)
		f := s.feed
		f.mu.Lock()
		if p := f.subs.Load(); p != nil {
			var next []*feedSub[T]
			for _, x := range *p {
				if x != s {
					next = append(next, x)
				}
			}
			f.subs.Store(&next)
		}
		f.mu.Unlock()
		close(s.err)
	})
}

func (s *feedSub[T]) Err() <-chan error { return s.err }

package rpc

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// wsClient is the WebSocket transport of a Client. Its read loop owns the
// connection's reads and dispatches what it reads: responses to the calls
// waiting for them, notifications to subscriptions. Writes are serialised
// by wmu. Call and subscription state is in mu.
type wsClient struct {
	conn     *websocket.Conn
	wmu      sync.Mutex
	readDone chan struct{}
	once     sync.Once
	closing  atomic.Bool    // set by close before it closes conn
	wg       sync.WaitGroup // subscription forwarders

	mu struct {
		sync.Mutex
		err     error // why the connection ended; nil while it reads
		pending map[uint64]*wsOp
		subs    map[subKey]*ClientSubscription // live subscriptions
	}
}

type subKey struct{ namespace, id string }

// wsOp is one message in flight: a call or a batch.
type wsOp struct {
	ids       []uint64
	got       []*jsonMessage // by position in ids
	remaining int
	sub       *ClientSubscription // for a subscribe call: registered by the read loop
	done      chan struct{}       // closed when complete or failed
	err       error
}

func dialWSClient(ctx context.Context, rawurl string) (*wsClient, error) {
	d := websocket.Dialer{
		Proxy:            websocket.DefaultDialer.Proxy,
		HandshakeTimeout: 45 * time.Second,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
	}
	conn, resp, err := d.DialContext(ctx, rawurl, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("rpc: cannot connect to %s: %w (HTTP %s)", rawurl, err, resp.Status)
		}
		return nil, fmt.Errorf("rpc: cannot connect to %s: %w", rawurl, err)
	}
	conn.SetReadLimit(MaxResponseSize)
	c := &wsClient{conn: conn, readDone: make(chan struct{})}
	c.mu.pending = map[uint64]*wsOp{}
	c.mu.subs = map[subKey]*ClientSubscription{}
	go c.readLoop()
	return c, nil
}

func (c *wsClient) close() {
	c.once.Do(func() {
		c.closing.Store(true)
		c.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.conn.Close()
		<-c.readDone
		c.mu.Lock()
		subs := make([]*ClientSubscription, 0, len(c.mu.subs))
		for _, s := range c.mu.subs {
			subs = append(subs, s)
		}
		c.mu.Unlock()
		for _, s := range subs {
			s.end(ErrClientClosed)
		}
		c.wg.Wait()
	})
}

// roundTrip sends body, the encoding of reqs, and waits for the responses.
func (c *wsClient) roundTrip(ctx context.Context, reqs []*request, body []byte, sub *ClientSubscription) ([]*jsonMessage, error) {
	op := &wsOp{ids: make([]uint64, len(reqs)), got: make([]*jsonMessage, len(reqs)), remaining: len(reqs), sub: sub, done: make(chan struct{})}
	c.mu.Lock()
	if c.mu.err != nil {
		err := c.mu.err
		c.mu.Unlock()
		return nil, err
	}
	for i, r := range reqs {
		op.ids[i], _ = strconv.ParseUint(string(r.ID), 10, 64)
		c.mu.pending[op.ids[i]] = op
	}
	c.mu.Unlock()

	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(wsWriteTimeout)
	}
	c.wmu.Lock()
	c.conn.SetWriteDeadline(deadline)
	err := c.conn.WriteMessage(websocket.TextMessage, body)
	c.wmu.Unlock()
	if err != nil {
		c.forget(op)
		return nil, fmt.Errorf("rpc: write: %w", err)
	}
	select {
	case <-op.done:
	case <-ctx.Done():
		if !c.forget(op) {
			// The response won the race: take it, so that a subscription
			// the read loop registered is not left without an owner.
			<-op.done
			break
		}
		return nil, ctx.Err()
	}
	if op.err != nil {
		return nil, op.err
	}
	return op.got, nil
}

// forget removes op from the calls in flight and reports whether it was
// still there (not answered).
func (c *wsClient) forget(op *wsOp) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	found := false
	for _, id := range op.ids {
		if c.mu.pending[id] == op {
			delete(c.mu.pending, id)
			found = true
		}
	}
	return found
}

func (c *wsClient) readLoop() {
	defer close(c.readDone)
	var err error
	for {
		var msg []byte
		if _, msg, err = c.conn.ReadMessage(); err != nil {
			break
		}
		msgs, perr := parseReply(msg)
		if perr != nil {
			err = perr
			break
		}
		c.mu.Lock()
		for _, m := range msgs {
			c.dispatchLocked(m)
		}
		c.mu.Unlock()
	}
	c.conn.Close() // if the server sent something unreadable
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.err = ErrClientClosed
	if !c.closing.Load() {
		c.mu.err = fmt.Errorf("rpc: connection lost: %w", err)
	}
	for id, op := range c.mu.pending {
		delete(c.mu.pending, id)
		c.finishLocked(op, c.mu.err)
	}
	for _, s := range c.mu.subs {
		s.fail(c.mu.err)
	}
}

func (c *wsClient) dispatchLocked(m *jsonMessage) {
	if m.isNotification() {
		c.notifyLocked(m)
		return
	}
	id, ok := m.id()
	if !ok {
		// A null ID with an error: the server could not read one of our
		// messages. Our messages are well-formed, so this is rare; it goes
		// to the oldest message in flight, as a server that answers in
		// order would mean.
		if m.Error == nil || len(c.mu.pending) == 0 {
			return
		}
		var oldest uint64
		first := true
		for pid := range c.mu.pending {
			if first || pid < oldest {
				oldest, first = pid, false
			}
		}
		op := c.mu.pending[oldest]
		for _, pid := range op.ids {
			delete(c.mu.pending, pid)
		}
		c.finishLocked(op, m.Error)
		return
	}
	op := c.mu.pending[id]
	if op == nil {
		return // the caller gave up on it
	}
	delete(c.mu.pending, id)
	for i, oid := range op.ids {
		if oid == id && op.got[i] == nil {
			op.got[i] = m
			op.remaining--
		}
	}
	if op.remaining > 0 {
		return
	}
	if op.sub != nil && m.Error == nil {
		// Register before reading on: the first notification may be the
		// very next message.
		var subID string
		if json.Unmarshal(m.Result, &subID) != nil || subID == "" {
			c.finishLocked(op, fmt.Errorf("%w: subscription ID %s", ErrBadResponse, m.Result))
			return
		}
		op.sub.id = subID
		c.mu.subs[subKey{op.sub.namespace, subID}] = op.sub
		c.wg.Add(1)
		go op.sub.forward()
	}
	c.finishLocked(op, nil)
}

func (c *wsClient) finishLocked(op *wsOp, err error) {
	op.err = err
	close(op.done)
}

func (c *wsClient) notifyLocked(m *jsonMessage) {
	ns, ok := strings.CutSuffix(m.Method, "_subscription")
	if !ok {
		return
	}
	var p struct {
		Subscription string          `json:"subscription"`
		Result       json.RawMessage `json:"result"`
	}
	if json.Unmarshal(m.Params, &p) != nil {
		return
	}
	if s := c.mu.subs[subKey{ns, p.Subscription}]; s != nil {
		s.deliver(p.Result)
	}
}

func (c *wsClient) removeSub(s *ClientSubscription) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.subs[subKey{s.namespace, s.id}] == s {
		delete(c.mu.subs, subKey{s.namespace, s.id})
	}
}

// ClientSubscription is a subscription opened with Client.Subscribe. Its
// notifications are decoded into the element type of the channel given to
// Subscribe and sent there, in order.
type ClientSubscription struct {
	client    *Client
	namespace string
	id        string // set by the read loop before the subscription is live
	channel   reflect.Value
	errc      chan error
	quit      chan struct{} // closed by end
	quitOnce  sync.Once
	wake      chan struct{}
	done      chan struct{} // closed when the forwarder has exited

	mu struct {
		sync.Mutex
		queue  []json.RawMessage
		err    error // ends the subscription once the queue is delivered
		failed bool  // ended by an error: the server side is gone or ended
	}
}

// Subscribe opens a subscription over WebSocket: it calls
// <namespace>_subscribe with args (the first is the subscription's name,
// e.g. "peerEvents") and sends each notification's result, decoded into the
// element type of channel (a channel of any element type, which
// json.Unmarshal fills), to channel. Over HTTP it fails with
// ErrNotificationsUnsupported.
//
// A reader that falls MaxSubscriptionBuffer notifications behind loses the
// subscription (ErrSubscriptionQueueOverflow on Err).
func (c *Client) Subscribe(ctx context.Context, namespace string, channel any, args ...any) (*ClientSubscription, error) {
	ch := reflect.ValueOf(channel)
	if ch.Kind() != reflect.Chan || ch.Type().ChanDir()&reflect.SendDir == 0 || ch.IsNil() {
		return nil, fmt.Errorf("rpc: Subscribe needs a non-nil channel it can send on, got %T", channel)
	}
	if c.ws == nil {
		return nil, ErrNotificationsUnsupported
	}
	req, err := c.newRequest(namespace+"_subscribe", args)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	s := &ClientSubscription{
		client:    c,
		namespace: namespace,
		channel:   ch,
		errc:      make(chan error, 1),
		quit:      make(chan struct{}),
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	msgs, err := c.ws.roundTrip(ctx, []*request{req}, body, s)
	if err != nil {
		return nil, err
	}
	if msgs[0].Error != nil {
		return nil, msgs[0].Error
	}
	return s, nil
}

// ID returns the server's ID of the subscription.
func (s *ClientSubscription) ID() string { return s.id }

// Err returns a channel that receives the error that ended the subscription
// (the connection was lost or closed, or the reader fell too far behind),
// and is closed when the subscription ends, by error or Unsubscribe.
func (s *ClientSubscription) Err() <-chan error { return s.errc }

// Unsubscribe ends the subscription: no more notifications are sent to the
// channel once it returns, and the server is told (within a few seconds, or
// not at all if the connection is gone). It may be called more than once.
func (s *ClientSubscription) Unsubscribe() {
	s.end(nil)
	<-s.done
	s.mu.Lock()
	failed := s.mu.failed
	s.mu.failed = true // tell the server once
	s.mu.Unlock()
	if !failed {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.client.Call(ctx, nil, s.namespace+"_unsubscribe", s.id)
	}
}

// deliver queues a notification; called by the read loop.
func (s *ClientSubscription) deliver(result json.RawMessage) {
	s.mu.Lock()
	if len(s.mu.queue) >= MaxSubscriptionBuffer {
		s.mu.Unlock()
		s.end(ErrSubscriptionQueueOverflow)
		return
	}
	if result == nil {
		result = json.RawMessage("null") // nil marks an empty queue in forward
	}
	s.mu.queue = append(s.mu.queue, result)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// fail ends the subscription with err once the queued notifications have
// been delivered: the connection is gone.
func (s *ClientSubscription) fail(err error) {
	s.mu.Lock()
	if s.mu.err == nil {
		s.mu.err = err
	}
	s.mu.failed = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// end ends the subscription at once, reporting err on Err if not nil.
func (s *ClientSubscription) end(err error) {
	s.quitOnce.Do(func() {
		if err != nil {
			s.mu.Lock()
			s.mu.err = err
			s.mu.Unlock()
			s.errc <- err
		}
		close(s.quit)
	})
}

// forward sends the queued notifications to the subscriber's channel, in
// order, until the subscription ends.
func (s *ClientSubscription) forward() {
	defer s.client.ws.wg.Done()
	defer close(s.done)
	defer close(s.errc)
	defer s.client.ws.removeSub(s)
	elem := s.channel.Type().Elem()
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.quit)},
		{Dir: reflect.SelectSend, Chan: s.channel},
	}
	for {
		s.mu.Lock()
		var raw json.RawMessage
		if len(s.mu.queue) > 0 {
			raw = s.mu.queue[0]
			s.mu.queue[0] = nil
			s.mu.queue = s.mu.queue[1:]
		}
		err := s.mu.err
		s.mu.Unlock()
		if raw == nil {
			if err != nil {
				s.end(err)
				return
			}
			select {
			case <-s.wake:
			case <-s.quit:
				return
			}
			continue
		}
		v := reflect.New(elem)
		if derr := json.Unmarshal(raw, v.Interface()); derr != nil {
			s.end(fmt.Errorf("rpc: cannot decode %s notification: %w", s.namespace, derr))
			return
		}
		cases[1].Send = v.Elem()
		if chosen, _, _ := reflect.Select(cases); chosen == 0 {
			return
		}
	}
}

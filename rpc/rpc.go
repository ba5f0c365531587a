// Package rpc is a small JSON-RPC 2.0 server (https://www.jsonrpc.org/specification)
// over HTTP and WebSocket, with go-ethereum's conventions where clients rely on
// them: namespace_method names, positional parameters, batches, error codes,
// a 5 MiB request limit, and eth_subscribe-style subscriptions on WebSocket
// (<namespace>_subscribe / <namespace>_subscription / <namespace>_unsubscribe).
//
// Methods are plain functions of their raw parameters; Params decodes them.
// There is no reflection-based registration: the method set of a node is
// small and spelled out where it is registered.
package rpc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Limits on what a client controls.
const (
	// MaxRequestSize bounds an HTTP body or a WebSocket message, as
	// go-ethereum's rpc defaultBodyLimit (5 MiB).
	MaxRequestSize = 5 << 20
	// MaxBatchSize bounds the requests of one batch, as go-ethereum's
	// default BatchRequestLimit.
	MaxBatchSize = 1000
	// MaxSubscriptions bounds the subscriptions open on one connection.
	MaxSubscriptions = 100
)

// Error codes of JSON-RPC 2.0 section 5.1, and go-ethereum's code for an
// error returned by a method.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternal       = -32603
	CodeServerError    = -32000
)

// Error is a JSON-RPC error object. A method that returns one sends it as is;
// any other error is sent with CodeServerError and its message.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

// InvalidParams returns an error with CodeInvalidParams.
func InvalidParams(format string, a ...any) *Error {
	return &Error{Code: CodeInvalidParams, Message: fmt.Sprintf(format, a...)}
}

// Method handles one call. params is the raw "params" member (nil if absent).
type Method func(ctx context.Context, params json.RawMessage) (any, error)

// Notifier sends the notifications of one subscription.
type Notifier interface {
	// Notify sends result; it fails once the connection is gone.
	Notify(result any) error
}

// SubscriptionFunc opens one subscription in two steps. It is called
// before the reply to the subscribe call, to check params (an error is the
// reply) and attach to its event source, so that no event between the
// reply and the first notification is lost. The run function it returns
// then runs on a goroutine of its own: it sends notifications through n
// until ctx ends (the client unsubscribed or disconnected) and returns.
// Notifications are held back until the reply with the subscription ID
// has been sent.
type SubscriptionFunc func(ctx context.Context, params json.RawMessage) (run func(n Notifier), err error)

// Server dispatches calls to registered methods. Register everything before
// serving; the method tables are read without locks afterwards.
type Server struct {
	methods map[string]Method
	subs    map[string]map[string]SubscriptionFunc // namespace -> name -> func

	// WebSocket connections, so that Stop can end them: http.Server.Close
	// does not touch hijacked connections.
	conns struct {
		sync.Mutex
		stopped bool
		active  map[*wsConn]struct{}
		wg      sync.WaitGroup
	}
}

// NewServer returns a server with no methods.
func NewServer() *Server {
	s := &Server{methods: map[string]Method{}, subs: map[string]map[string]SubscriptionFunc{}}
	s.conns.active = map[*wsConn]struct{}{}
	return s
}

// Stop closes every WebSocket connection, ending their subscriptions and
// cancelling the context of the calls they are running, and
// waits until their goroutines are gone. Connections upgraded afterwards are
// closed at once. Stop may be called more than once.
func (s *Server) Stop() {
	s.conns.Lock()
	s.conns.stopped = true
	for c := range s.conns.active {
		c.cancel()   // a method still running returns
		c.ws.Close() // the read loop fails and unwinds the connection
	}
	s.conns.Unlock()
	s.conns.wg.Wait()
}

// Register adds a method, named "namespace_method".
func (s *Server) Register(name string, m Method) {
	if _, dup := s.methods[name]; dup {
		panic("rpc: duplicate method " + name)
	}
	s.methods[name] = m
}

// RegisterSubscription adds a subscription that clients open with
// {"method":"<namespace>_subscribe","params":["<name>", ...]}.
func (s *Server) RegisterSubscription(namespace, name string, f SubscriptionFunc) {
	if s.subs[namespace] == nil {
		s.subs[namespace] = map[string]SubscriptionFunc{}
	}
	s.subs[namespace][name] = f
}

// Params decodes positional parameters into args (pointers). The first
// required of them must be present; missing later ones leave their targets
// unchanged. Extra parameters are an error, as is anything that does not
// decode. Errors are InvalidParams errors.
func Params(raw json.RawMessage, required int, args ...any) error {
	var list []json.RawMessage
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if err := json.Unmarshal(raw, &list); err != nil {
			return InvalidParams("non-array params")
		}
	}
	if len(list) < required {
		return InvalidParams("missing value for required argument %d", len(list))
	}
	if len(list) > len(args) {
		return InvalidParams("too many arguments, want at most %d", len(args))
	}
	for i, p := range list {
		if err := json.Unmarshal(p, args[i]); err != nil {
			return InvalidParams("invalid argument %d: %v", i, err)
		}
	}
	return nil
}

type request struct {
	Version string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

type response struct {
	Version string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

type notification struct {
	Version string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  struct {
		Subscription string `json:"subscription"`
		Result       any    `json:"result"`
	} `json:"params"`
}

var nullID = json.RawMessage("null")

func errorResponse(id json.RawMessage, e *Error) *response {
	if id == nil {
		id = nullID
	}
	return &response{Version: "2.0", ID: id, Error: e}
}

// conn is what the dispatcher needs of a connection: subscriptions exist only
// where the server can write unasked (WebSocket).
type conn interface {
	subscriptions() *subscriptions // nil if unsupported
}

// handle processes one message (a request or a batch) and returns the
// encoded reply, or nil if nothing is to be sent (notifications only).
func (s *Server) handle(ctx context.Context, c conn, msg []byte) []byte {
	msg = bytes.TrimSpace(msg)
	if len(msg) > 0 && msg[0] == '[' {
		var batch []json.RawMessage
		if err := json.Unmarshal(msg, &batch); err != nil {
			return encode(errorResponse(nil, &Error{Code: CodeParseError, Message: "parse error: " + err.Error()}))
		}
		if len(batch) == 0 {
			return encode(errorResponse(nil, &Error{Code: CodeInvalidRequest, Message: "empty batch"}))
		}
		if len(batch) > MaxBatchSize {
			return encode(errorResponse(nil, &Error{Code: CodeInvalidRequest, Message: "batch too large"}))
		}
		var out []*response
		for _, m := range batch {
			if r := s.handleOne(ctx, c, m); r != nil {
				out = append(out, r)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return encode(out)
	}
	if !json.Valid(msg) {
		return encode(errorResponse(nil, &Error{Code: CodeParseError, Message: "parse error"}))
	}
	if r := s.handleOne(ctx, c, msg); r != nil {
		return encode(r)
	}
	return nil
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// A result that does not encode is our bug, not the client's.
		b, _ = json.Marshal(errorResponse(nil, &Error{Code: CodeInternal, Message: "cannot encode result: " + err.Error()}))
	}
	return b
}

func (s *Server) handleOne(ctx context.Context, c conn, raw json.RawMessage) *response {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return errorResponse(nil, &Error{Code: CodeInvalidRequest, Message: "invalid request: " + err.Error()})
	}
	if !validID(req.ID) {
		return errorResponse(nil, &Error{Code: CodeInvalidRequest, Message: "invalid request id"})
	}
	if req.Version != "2.0" || req.Method == "" {
		return errorResponse(req.ID, &Error{Code: CodeInvalidRequest, Message: `invalid request: want "jsonrpc":"2.0" and a method`})
	}
	isCall := req.ID != nil
	result, err := s.call(ctx, c, &req)
	if !isCall {
		return nil // a notification gets no reply, even on error
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Code: CodeServerError, Message: err.Error()}
		}
		return errorResponse(req.ID, e)
	}
	if result == nil {
		// "result" must be present on success; omitempty would drop nil.
		result = json.RawMessage("null")
	}
	return &response{Version: "2.0", ID: req.ID, Result: result}
}

// validID accepts what JSON-RPC 2.0 allows as an id: absent, null, a string
// or a number.
func validID(id json.RawMessage) bool {
	if id == nil {
		return true
	}
	switch id[0] {
	case '"', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

func (s *Server) call(ctx context.Context, c conn, req *request) (any, error) {
	if ns, name, ok := strings.Cut(req.Method, "_"); ok && s.subs[ns] != nil {
		switch name {
		case "subscribe":
			return s.subscribe(ctx, c, ns, req.Params)
		case "unsubscribe":
			return unsubscribe(c, req.Params)
		}
	}
	m, ok := s.methods[req.Method]
	if !ok {
		return nil, &Error{Code: CodeMethodNotFound, Message: fmt.Sprintf("the method %s does not exist/is not available", req.Method)}
	}
	return m(ctx, req.Params)
}

func (s *Server) subscribe(ctx context.Context, c conn, ns string, params json.RawMessage) (any, error) {
	subs := c.subscriptions()
	if subs == nil {
		return nil, &Error{Code: CodeMethodNotFound, Message: "notifications not supported"}
	}
	var list []json.RawMessage
	if err := json.Unmarshal(params, &list); err != nil || len(list) == 0 {
		return nil, InvalidParams("expected the subscription name as first argument")
	}
	var name string
	if err := json.Unmarshal(list[0], &name); err != nil {
		return nil, InvalidParams("invalid subscription name: %v", err)
	}
	f, ok := s.subs[ns][name]
	if !ok {
		return nil, &Error{Code: CodeMethodNotFound, Message: fmt.Sprintf("no %q subscription in %s namespace", name, ns)}
	}
	rest, _ := json.Marshal(list[1:])
	return subs.start(ns, f, rest)
}

func unsubscribe(c conn, params json.RawMessage) (any, error) {
	subs := c.subscriptions()
	if subs == nil {
		return nil, &Error{Code: CodeMethodNotFound, Message: "notifications not supported"}
	}
	var id string
	if err := Params(params, 1, &id); err != nil {
		return nil, err
	}
	if !subs.stop(id) {
		return nil, &Error{Code: CodeServerError, Message: "subscription not found"}
	}
	return true, nil
}

// subscriptions are the subscriptions of one connection. Each runs on its
// own goroutine; the connection's writer serialises their notifications.
type subscriptions struct {
	ctx   context.Context // the connection's; ends all subscriptions
	write func(v any) error
	wg    sync.WaitGroup
	mu    struct {
		sync.Mutex
		active  map[string]context.CancelFunc
		pending []chan struct{} // closed by release
	}
}

func newSubscriptions(ctx context.Context, write func(any) error) *subscriptions {
	s := &subscriptions{ctx: ctx, write: write}
	s.mu.active = map[string]context.CancelFunc{}
	return s
}

type notifier struct {
	subs      *subscriptions
	id        string
	namespace string
	ctx       context.Context
	ready     <-chan struct{} // closed once the subscription ID is sent
}

func (n *notifier) Notify(result any) error {
	// A notification must not overtake the reply that tells the client
	// the subscription ID.
	select {
	case <-n.ready:
	case <-n.ctx.Done():
		return n.ctx.Err()
	}
	var msg notification
	msg.Version = "2.0"
	msg.Method = n.namespace + "_subscription"
	msg.Params.Subscription = n.id
	msg.Params.Result = result
	return n.subs.write(&msg)
}

func (s *subscriptions) start(ns string, f SubscriptionFunc, params json.RawMessage) (string, error) {
	var b [16]byte
	rand.Read(b[:])
	id := "0x" + hex.EncodeToString(b[:])
	s.mu.Lock()
	if len(s.mu.active) >= MaxSubscriptions {
		s.mu.Unlock()
		return "", &Error{Code: CodeServerError, Message: "too many subscriptions"}
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.mu.active[id] = cancel
	s.mu.Unlock()
	run, err := f(ctx, params)
	if err != nil {
		s.stop(id)
		return "", err
	}
	ready := make(chan struct{})
	s.mu.Lock()
	s.mu.pending = append(s.mu.pending, ready)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.stop(id)
		run(&notifier{subs: s, id: id, namespace: ns, ctx: ctx, ready: ready})
	}()
	return id, nil
}

// release lets subscriptions started by the last message notify; the
// connection calls it once the reply to that message is written.
func (s *subscriptions) release() {
	s.mu.Lock()
	for _, ch := range s.mu.pending {
		close(ch)
	}
	s.mu.pending = nil
	s.mu.Unlock()
}

func (s *subscriptions) stop(id string) bool {
	s.mu.Lock()
	cancel, ok := s.mu.active[id]
	delete(s.mu.active, id)
	s.mu.Unlock()
	if ok {
		cancel()
	}
	return ok
}

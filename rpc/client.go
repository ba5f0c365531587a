package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
)

// Client limits.
const (
	// MaxResponseSize bounds a response the client reads (an HTTP body or a
	// WebSocket message): a node's replies are small, but admin_peers of a
	// full node runs to hundreds of kilobytes.
	MaxResponseSize = 32 << 20
	// MaxSubscriptionBuffer bounds the notifications a subscription holds
	// for a reader that does not keep up; beyond it the subscription ends
	// with ErrSubscriptionQueueOverflow rather than grow without bound.
	MaxSubscriptionBuffer = 20000
)

// Client errors. A JSON-RPC error object in a response is returned as *Error.
var (
	ErrClientClosed              = errors.New("rpc: client is closed")
	ErrBadURL                    = errors.New("rpc: invalid URL")
	ErrNotificationsUnsupported  = errors.New("rpc: notifications not supported over HTTP")
	ErrSubscriptionQueueOverflow = errors.New("rpc: subscription queue overflow")
	ErrBadResponse               = errors.New("rpc: invalid response")
)

// HTTPError is a reply over HTTP that is not a JSON-RPC response, such as
// 413 for a request above the server's limit or 403 for a refused Host.
type HTTPError struct {
	StatusCode int
	Status     string
	Body       []byte // the first bytes of the body
}

func (e *HTTPError) Error() string {
	if len(e.Body) == 0 {
		return "rpc: HTTP " + e.Status
	}
	return fmt.Sprintf("rpc: HTTP %s: %s", e.Status, bytes.TrimSpace(e.Body))
}

// BatchElem is one call of a batch. After BatchCall, Error is the error of
// this call (a *Error from the server, or a decoding error), and Result,
// if not nil, has the result decoded into it.
type BatchElem struct {
	Method string
	Args   []any
	Result any
	Error  error
}

// Client is a JSON-RPC 2.0 client over HTTP or WebSocket. Its methods may be
// called from any goroutine. Subscriptions need WebSocket.
type Client struct {
	url    string
	nextID atomic.Uint64
	http   *http.Client // HTTP transport; nil for WebSocket
	ws     *wsClient    // WebSocket transport; nil for HTTP
}

// Dial connects to the server at rawurl: http:// and https:// URLs use one
// POST per call; ws:// and wss:// URLs open a WebSocket, which Dial
// establishes within ctx. Close the client when done.
func Dial(ctx context.Context, rawurl string) (*Client, error) {
	u, err := url.Parse(rawurl)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w %q: want http://host:port or ws://host:port", ErrBadURL, rawurl)
	}
	c := &Client{url: rawurl}
	switch u.Scheme {
	case "http", "https":
		c.http = &http.Client{}
	case "ws", "wss":
		if c.ws, err = dialWSClient(ctx, rawurl); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w %q: unsupported scheme %q, want http, https, ws or wss", ErrBadURL, rawurl, u.Scheme)
	}
	return c, nil
}

// URL returns the URL the client was dialed with.
func (c *Client) URL() string { return c.url }

// Close ends the WebSocket connection, failing calls in flight with
// ErrClientClosed and ending subscriptions, and waits until the client's
// goroutines are gone. It may be called more than once.
func (c *Client) Close() {
	if c.ws != nil {
		c.ws.close()
	}
}

// jsonMessage is any message the client reads: a response, or a
// notification (Method and Params set, no ID).
type jsonMessage struct {
	Version string          `json:"jsonrpc,omitempty"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// id returns the message's numeric ID; ok is false for absent, null or
// foreign IDs.
func (m *jsonMessage) id() (id uint64, ok bool) {
	id, err := strconv.ParseUint(string(m.ID), 10, 64)
	return id, err == nil
}

func (m *jsonMessage) isNotification() bool {
	return len(m.ID) == 0 && m.Method != ""
}

// result returns the error of a response, or decodes its result into out.
func (m *jsonMessage) decodeResult(out any) error {
	if m.Error != nil {
		return m.Error
	}
	if len(m.Result) == 0 {
		return fmt.Errorf("%w: neither result nor error", ErrBadResponse)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(m.Result, out); err != nil {
		return fmt.Errorf("rpc: cannot decode result: %w", err)
	}
	return nil
}

func (c *Client) newRequest(method string, args []any) (*request, error) {
	params := json.RawMessage("[]")
	if len(args) > 0 {
		b, err := json.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("rpc: cannot encode arguments of %s: %w", method, err)
		}
		params = b
	}
	id := strconv.AppendUint(nil, c.nextID.Add(1), 10)
	return &request{Version: "2.0", ID: id, Method: method, Params: params}, nil
}

// Call calls method with positional arguments args and decodes the result
// into result (a pointer, or nil to ignore it). A JSON-RPC error is returned
// as *Error; ctx bounds the call.
func (c *Client) Call(ctx context.Context, result any, method string, args ...any) error {
	req, err := c.newRequest(method, args)
	if err != nil {
		return err
	}
	msgs, err := c.roundTrip(ctx, []*request{req}, false)
	if err != nil {
		return err
	}
	return msgs[0].decodeResult(result)
}

// BatchCall sends the calls of b in one batch (at most MaxBatchSize). The
// returned error is about the batch as a whole (transport, or the server
// refusing it); each element's own outcome is in its Error field.
func (c *Client) BatchCall(ctx context.Context, b []BatchElem) error {
	if len(b) == 0 {
		return nil
	}
	if len(b) > MaxBatchSize {
		return fmt.Errorf("rpc: batch of %d calls, the limit is %d", len(b), MaxBatchSize)
	}
	reqs := make([]*request, len(b))
	for i := range b {
		req, err := c.newRequest(b[i].Method, b[i].Args)
		if err != nil {
			return err
		}
		reqs[i] = req
	}
	msgs, err := c.roundTrip(ctx, reqs, true)
	if err != nil {
		return err
	}
	for i := range b {
		b[i].Error = msgs[i].decodeResult(b[i].Result)
	}
	return nil
}

// roundTrip sends reqs (as a batch if batch) and returns their responses in
// the order of reqs.
func (c *Client) roundTrip(ctx context.Context, reqs []*request, batch bool) ([]*jsonMessage, error) {
	var body []byte
	var err error
	if batch {
		body, err = json.Marshal(reqs)
	} else {
		body, err = json.Marshal(reqs[0])
	}
	if err != nil {
		return nil, err
	}
	if c.ws != nil {
		return c.ws.roundTrip(ctx, reqs, body, nil)
	}
	return c.httpRoundTrip(ctx, reqs, body)
}

func (c *Client) httpRoundTrip(ctx context.Context, reqs []*request, body []byte) ([]*jsonMessage, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if err != nil {
		return nil, err
	}
	if len(reply) > MaxResponseSize {
		return nil, fmt.Errorf("%w: response above %d bytes", ErrBadResponse, MaxResponseSize)
	}
	msgs, err := parseReply(reply)
	if err != nil {
		// Not JSON-RPC at all: the HTTP status says what went wrong.
		if resp.StatusCode/100 != 2 {
			return nil, &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status, Body: reply[:min(len(reply), 200)]}
		}
		return nil, err
	}
	return matchResponses(reqs, msgs)
}

// parseReply decodes a reply: one response or a batch of them.
func parseReply(b []byte) ([]*jsonMessage, error) {
	b = bytes.TrimSpace(b)
	var msgs []*jsonMessage
	if len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &msgs); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadResponse, err)
		}
		return msgs, nil
	}
	var m jsonMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %.200q", ErrBadResponse, b)
	}
	return []*jsonMessage{&m}, nil
}

// matchResponses puts msgs in the order of reqs. A lone error with a null
// ID (the server refused the whole message) is the error of the call.
func matchResponses(reqs []*request, msgs []*jsonMessage) ([]*jsonMessage, error) {
	if len(msgs) == 1 && msgs[0].Error != nil {
		if _, ok := msgs[0].id(); !ok {
			return nil, msgs[0].Error
		}
	}
	byID := make(map[uint64]*jsonMessage, len(msgs))
	for _, m := range msgs {
		if id, ok := m.id(); ok {
			byID[id] = m
		}
	}
	out := make([]*jsonMessage, len(reqs))
	for i, r := range reqs {
		id, _ := strconv.ParseUint(string(r.ID), 10, 64)
		if out[i] = byID[id]; out[i] == nil {
			return nil, fmt.Errorf("%w: no response to request %d (%s)", ErrBadResponse, id, r.Method)
		}
	}
	return out, nil
}

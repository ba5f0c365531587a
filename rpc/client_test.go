package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// clientTestServer is testServer with methods for the client's cases.
func clientTestServer() *Server {
	s := testServer()
	s.Register("test_data", func(context.Context, json.RawMessage) (any, error) {
		return nil, &Error{Code: 3, Message: "reverted", Data: "0xdead"}
	})
	// test_slow answers late. (Over WebSocket the server handles one
	// message at a time, so it holds up the connection meanwhile.)
	s.Register("test_slow", func(ctx context.Context, _ json.RawMessage) (any, error) {
		select {
		case <-time.After(300 * time.Millisecond):
			return "late", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	s.RegisterSubscription("test", "words", func(ctx context.Context, p json.RawMessage) (func(Notifier), error) {
		return func(n Notifier) {
			for _, w := range []string{"a", "b"} {
				if n.Notify(w) != nil {
					return
				}
			}
			<-ctx.Done()
		}, nil
	})
	return s
}

// startClientServer serves s over HTTP and WebSocket and returns both URLs.
func startClientServer(t *testing.T, s *Server) (httpURL, wsURL string) {
	t.Helper()
	h := httptest.NewServer(s.HTTPHandler())
	w := httptest.NewServer(s.WebSocketHandler())
	t.Cleanup(func() { s.Stop(); h.Close(); w.Close() })
	return h.URL, "ws" + strings.TrimPrefix(w.URL, "http")
}

func dialClient(t *testing.T, url string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClientCall(t *testing.T) {
	httpURL, wsURL := startClientServer(t, clientTestServer())
	for _, url := range []string{httpURL, wsURL} {
		t.Run(url[:strings.Index(url, ":")], func(t *testing.T) {
			c := dialClient(t, url)
			ctx := testCtx(t)
			var echo struct {
				A string
				B int
			}
			if err := c.Call(ctx, &echo, "test_echo", "x", 2); err != nil || echo.A != "x" || echo.B != 2 {
				t.Errorf("test_echo: %+v, %v", echo, err)
			}
			var raw json.RawMessage
			if err := c.Call(ctx, &raw, "test_null"); err != nil || string(raw) != "null" {
				t.Errorf("test_null: %s, %v", raw, err)
			}
			if err := c.Call(ctx, nil, "test_echo", "only a"); err != nil {
				t.Errorf("result ignored: %v", err)
			}

			var rerr *Error
			err := c.Call(ctx, nil, "test_data")
			if !errors.As(err, &rerr) || rerr.Code != 3 || rerr.Message != "reverted" || rerr.Data != "0xdead" {
				t.Errorf("test_data: %#v", err)
			}
			err = c.Call(ctx, nil, "test_nope")
			if !errors.As(err, &rerr) || rerr.Code != CodeMethodNotFound {
				t.Errorf("unknown method: %v", err)
			}
			err = c.Call(ctx, nil, "test_echo")
			if !errors.As(err, &rerr) || rerr.Code != CodeInvalidParams {
				t.Errorf("missing argument: %v", err)
			}
			if err := c.Call(ctx, &echo, "test_echo", 1); !errors.As(err, &rerr) || rerr.Code != CodeInvalidParams {
				t.Errorf("wrong argument type: %v", err)
			}
			var wrong int
			if err := c.Call(ctx, &wrong, "test_echo", "x"); err == nil || errors.As(err, &rerr) {
				t.Errorf("result into the wrong type: %v", err)
			}
			if err := c.Call(ctx, nil, "test_echo", func() {}); err == nil {
				t.Error("unencodable argument accepted")
			}
		})
	}
}

func TestClientBatch(t *testing.T) {
	httpURL, wsURL := startClientServer(t, clientTestServer())
	for _, url := range []string{httpURL, wsURL} {
		t.Run(url[:strings.Index(url, ":")], func(t *testing.T) {
			c := dialClient(t, url)
			var e1, e2 map[string]any
			batch := []BatchElem{
				{Method: "test_echo", Args: []any{"one"}, Result: &e1},
				{Method: "test_nope"},
				{Method: "test_echo", Args: []any{"two", 2}, Result: &e2},
				{Method: "test_data"},
			}
			if err := c.BatchCall(testCtx(t), batch); err != nil {
				t.Fatal(err)
			}
			var rerr *Error
			switch {
			case batch[0].Error != nil || e1["a"] != "one":
				t.Errorf("element 0: %v %v", e1, batch[0].Error)
			case !errors.As(batch[1].Error, &rerr) || rerr.Code != CodeMethodNotFound:
				t.Errorf("element 1: %v", batch[1].Error)
			case batch[2].Error != nil || e2["a"] != "two" || e2["b"] != float64(2):
				t.Errorf("element 2: %v %v", e2, batch[2].Error)
			case !errors.As(batch[3].Error, &rerr) || rerr.Code != 3:
				t.Errorf("element 3: %v", batch[3].Error)
			}
			if err := c.BatchCall(testCtx(t), nil); err != nil {
				t.Errorf("empty batch: %v", err)
			}
			if err := c.BatchCall(testCtx(t), make([]BatchElem, MaxBatchSize+1)); err == nil {
				t.Error("batch above the limit sent")
			}
		})
	}
}

func TestClientSubscribe(t *testing.T) {
	httpURL, wsURL := startClientServer(t, clientTestServer())
	c := dialClient(t, wsURL)
	ctx := testCtx(t)

	ch := make(chan int)
	sub, err := c.Subscribe(ctx, "test", ch, "count", 3)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sub.ID(), "0x") {
		t.Errorf("subscription ID %q", sub.ID())
	}
	// A second subscription on the same connection is kept apart.
	words := make(chan string, 2)
	sub2, err := c.Subscribe(ctx, "test", words, "words")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		select {
		case v := <-ch:
			if v != i {
				t.Fatalf("notification %d: %d", i, v)
			}
		case <-ctx.Done():
			t.Fatal("notification missing")
		}
	}
	if a, b := <-words, <-words; a != "a" || b != "b" {
		t.Errorf("words: %q %q", a, b)
	}
	sub.Unsubscribe()
	sub.Unsubscribe()
	if err, ok := <-sub.Err(); ok {
		t.Errorf("Err after Unsubscribe: %v", err)
	}
	// The server has forgotten it: unsubscribing again is an error there.
	var rerr *Error
	if err := c.Call(ctx, nil, "test_unsubscribe", sub.ID()); !errors.As(err, &rerr) {
		t.Errorf("server still has the subscription: %v", err)
	}
	// Calls go on alongside the remaining subscription.
	if err := c.Call(ctx, nil, "test_null"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-sub2.Err(); !errors.Is(err, ErrClientClosed) {
		t.Errorf("Err after Close: %v", err)
	}
	if err := c.Call(ctx, nil, "test_null"); !errors.Is(err, ErrClientClosed) {
		t.Errorf("call after Close: %v", err)
	}
	c.Close()

	// Refused subscriptions.
	c = dialClient(t, wsURL)
	if _, err := c.Subscribe(ctx, "test", ch, "nope"); !errors.As(err, &rerr) || rerr.Code != CodeMethodNotFound {
		t.Errorf("unknown subscription: %v", err)
	}
	if _, err := c.Subscribe(ctx, "test", ch, "count", "not a number"); !errors.As(err, &rerr) || rerr.Code != CodeInvalidParams {
		t.Errorf("subscription with invalid params: %v", err)
	}
	if _, err := c.Subscribe(ctx, "test", 42, "count"); err == nil {
		t.Error("Subscribe accepted a non-channel")
	}
	if _, err := c.Subscribe(ctx, "test", (<-chan int)(ch), "count"); err == nil {
		t.Error("Subscribe accepted a receive-only channel")
	}
	hc := dialClient(t, httpURL)
	if _, err := hc.Subscribe(ctx, "test", ch, "count"); !errors.Is(err, ErrNotificationsUnsupported) {
		t.Errorf("Subscribe over HTTP: %v", err)
	}
}

func TestClientSubscriptionErrors(t *testing.T) {
	s := clientTestServer()
	_, wsURL := startClientServer(t, s)
	ctx := testCtx(t)

	// A notification that does not decode into the channel's type.
	c := dialClient(t, wsURL)
	sub, err := c.Subscribe(ctx, "test", make(chan int), "words")
	if err != nil {
		t.Fatal(err)
	}
	if err := <-sub.Err(); err == nil || !strings.Contains(err.Error(), "cannot decode") {
		t.Errorf("undecodable notification: %v", err)
	}
	sub.Unsubscribe()

	// A reader that does not read loses the subscription, not memory.
	sub, err = c.Subscribe(ctx, "test", make(chan int), "count", MaxSubscriptionBuffer+100)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-sub.Err():
		if !errors.Is(err, ErrSubscriptionQueueOverflow) {
			t.Errorf("overflow: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("no overflow error")
	}
	sub.Unsubscribe()

	// The server going away ends subscriptions and calls.
	ch := make(chan int, 1)
	sub, err = c.Subscribe(ctx, "test", ch, "count", 1)
	if err != nil {
		t.Fatal(err)
	}
	if v := <-ch; v != 0 {
		t.Fatalf("notification %d", v)
	}
	s.Stop()
	if err := <-sub.Err(); err == nil || errors.Is(err, ErrClientClosed) || !strings.Contains(err.Error(), "connection lost") {
		t.Errorf("Err after the server stopped: %v", err)
	}
	if err := c.Call(ctx, nil, "test_null"); err == nil {
		t.Error("call on a lost connection succeeded")
	}
	sub.Unsubscribe() // does not try to reach the server
}

func TestClientContext(t *testing.T) {
	httpURL, wsURL := startClientServer(t, clientTestServer())
	for _, url := range []string{httpURL, wsURL} {
		t.Run(url[:strings.Index(url, ":")], func(t *testing.T) {
			c := dialClient(t, url)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if err := c.Call(ctx, nil, "test_slow"); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("call past its deadline: %v", err)
			}
			// The client is still usable; the late reply, if any, is dropped.
			var res map[string]any
			if err := c.Call(testCtx(t), &res, "test_echo", "after"); err != nil || res["a"] != "after" {
				t.Errorf("call after a timeout: %v %v", res, err)
			}
		})
	}
}

func TestClientHTTPErrors(t *testing.T) {
	httpURL, _ := startClientServer(t, clientTestServer())
	c := dialClient(t, httpURL)
	var herr *HTTPError
	err := c.Call(testCtx(t), nil, "test_echo", strings.Repeat("x", MaxRequestSize))
	if !errors.As(err, &herr) || herr.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized request: %v", err)
	}
	notRPC := httptest.NewServer(http.NotFoundHandler())
	defer notRPC.Close()
	c = dialClient(t, notRPC.URL)
	if err := c.Call(testCtx(t), nil, "test_echo"); !errors.As(err, &herr) || herr.StatusCode != 404 || !strings.Contains(err.Error(), "404") {
		t.Errorf("non-RPC server: %v", err)
	}
}

func TestDialErrors(t *testing.T) {
	ctx := testCtx(t)
	for _, url := range []string{"", "localhost:8545", "ftp://127.0.0.1:1", "http://"} {
		if _, err := Dial(ctx, url); !errors.Is(err, ErrBadURL) {
			t.Errorf("Dial(%q): %v", url, err)
		}
	}
	// Nothing listens on a closed server's port.
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	if _, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")); err == nil || errors.Is(err, ErrBadURL) {
		t.Errorf("Dial of a closed port: %v", err)
	}
}

// TestStopCancelsCalls checks that Server.Stop does not wait for a method
// that runs until its context ends: Stop cancels it.
func TestStopCancelsCalls(t *testing.T) {
	s := clientTestServer()
	started := make(chan struct{})
	s.Register("test_blockSignal", func(ctx context.Context, _ json.RawMessage) (any, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	_, wsURL := startClientServer(t, s)
	c := dialClient(t, wsURL)
	errc := make(chan error, 1)
	go func() { errc <- c.Call(testCtx(t), nil, "test_blockSignal") }()
	<-started
	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop waits for a blocked method")
	}
	if err := <-errc; err == nil {
		t.Error("blocked call succeeded")
	}
}

// decodeReply runs a reply to one call with ID 1 through the client's
// decoding.
func decodeReply(b []byte, out any) error {
	msgs, err := parseReply(b)
	if err != nil {
		return err
	}
	msgs, err = matchResponses([]*request{{ID: json.RawMessage("1"), Method: "test_m"}}, msgs)
	if err != nil {
		return err
	}
	return msgs[0].decodeResult(out)
}

func TestClientMalformedReplies(t *testing.T) {
	rpcErr := new(Error)
	for _, tc := range []struct {
		name, reply string
		want        any // an error to match with errors.Is, or a pointer for errors.As
	}{
		{"empty", ``, ErrBadResponse},
		{"not JSON", `<html>`, ErrBadResponse},
		{"truncated", `{"jsonrpc":"2.0","id":1,"result":`, ErrBadResponse},
		{"batch of numbers", `[1,2]`, ErrBadResponse},
		{"other ID", `{"jsonrpc":"2.0","id":2,"result":1}`, ErrBadResponse},
		{"string ID", `{"jsonrpc":"2.0","id":"1","result":1}`, ErrBadResponse},
		{"no ID", `{"jsonrpc":"2.0","result":1}`, ErrBadResponse},
		{"neither result nor error", `{"jsonrpc":"2.0","id":1}`, ErrBadResponse},
		{"empty batch", `[]`, ErrBadResponse},
		{"error object", `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"no"}}`, &rpcErr},
		{"whole message refused", `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid"}}`, &rpcErr},
	} {
		err := decodeReply([]byte(tc.reply), nil)
		switch want := tc.want.(type) {
		case error:
			if !errors.Is(err, want) {
				t.Errorf("%s: %v, want %v", tc.name, err, want)
			}
		case **Error:
			if !errors.As(err, want) {
				t.Errorf("%s: %v, want an *Error", tc.name, err)
			}
		}
	}
	var n int
	if err := decodeReply([]byte(`{"jsonrpc":"2.0","id":1,"result":"x"}`), &n); err == nil || errors.Is(err, ErrBadResponse) {
		t.Errorf("result of the wrong type: %v", err)
	}
}

// FuzzClientReply feeds arbitrary server messages to the client's decoding
// and to the WebSocket read loop's dispatch, which must not panic.
func FuzzClientReply(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":{"a":1}}`))
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"result":1},{"jsonrpc":"2.0","id":2,"error":{"code":1,"message":"x","data":[1]}}]`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","method":"admin_subscription","params":{"subscription":"0x1","result":{}}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":"0xabc"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out any
		decodeReply(b, &out)
		msgs, err := parseReply(b)
		if err != nil {
			return
		}
		c := &wsClient{}
		c.mu.pending = map[uint64]*wsOp{}
		c.mu.subs = map[subKey]*ClientSubscription{}
		op := &wsOp{ids: []uint64{1, 2}, got: make([]*jsonMessage, 2), remaining: 2, done: make(chan struct{})}
		c.mu.pending[1], c.mu.pending[2] = op, op
		for _, m := range msgs {
			c.dispatchLocked(m)
		}
		select {
		case <-op.done:
			if op.err == nil {
				for _, m := range op.got {
					if m == nil {
						t.Fatal("op completed without all its responses")
					}
				}
			}
		default:
		}
	})
}

func BenchmarkClientCall(b *testing.B) {
	s := clientTestServer()
	h := httptest.NewServer(s.HTTPHandler())
	w := httptest.NewServer(s.WebSocketHandler())
	defer func() { s.Stop(); h.Close(); w.Close() }()
	for _, url := range []string{h.URL, "ws" + strings.TrimPrefix(w.URL, "http")} {
		b.Run(url[:strings.Index(url, ":")], func(b *testing.B) {
			c, err := Dial(context.Background(), url)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			var res struct{ A string }
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Call(context.Background(), &res, "test_echo", "x", 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func testServer() *Server {
	s := NewServer()
	s.Register("test_echo", func(_ context.Context, p json.RawMessage) (any, error) {
		var a string
		var b int
		if err := Params(p, 1, &a, &b); err != nil {
			return nil, err
		}
		return map[string]any{"a": a, "b": b}, nil
	})
	s.Register("test_fail", func(context.Context, json.RawMessage) (any, error) {
		return nil, context.DeadlineExceeded
	})
	s.Register("test_null", func(context.Context, json.RawMessage) (any, error) { return nil, nil })
	s.RegisterSubscription("test", "count", func(ctx context.Context, p json.RawMessage) (func(Notifier), error) {
		var max int
		if err := Params(p, 0, &max); err != nil {
			return nil, err
		}
		return func(n Notifier) {
			for i := 0; i < max; i++ {
				if n.Notify(i) != nil {
					return
				}
			}
			<-ctx.Done()
		}, nil
	})
	return s
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, strings.TrimSpace(b.String())
}

func TestHTTP(t *testing.T) {
	srv := httptest.NewServer(testServer().HTTPHandler())
	defer srv.Close()
	tests := []struct {
		name, req, want string
	}{
		{"call", `{"jsonrpc":"2.0","id":1,"method":"test_echo","params":["x",2]}`,
			`{"jsonrpc":"2.0","id":1,"result":{"a":"x","b":2}}`},
		{"optional parameter missing", `{"jsonrpc":"2.0","id":"s","method":"test_echo","params":["x"]}`,
			`{"jsonrpc":"2.0","id":"s","result":{"a":"x","b":0}}`},
		{"null result is present", `{"jsonrpc":"2.0","id":1,"method":"test_null"}`,
			`{"jsonrpc":"2.0","id":1,"result":null}`},
		{"unknown method", `{"jsonrpc":"2.0","id":1,"method":"test_nope"}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"the method test_nope does not exist/is not available"}}`},
		{"parse error", `{"jsonrpc":"2.0",`,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`},
		{"not an object", `42`,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: json: cannot unmarshal number into Go value of type rpc.request"}}`},
		{"no version", `{"id":1,"method":"test_echo"}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"invalid request: want \"jsonrpc\":\"2.0\" and a method"}}`},
		{"object id", `{"jsonrpc":"2.0","id":{},"method":"test_echo"}`,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request id"}}`},
		{"missing parameter", `{"jsonrpc":"2.0","id":1,"method":"test_echo","params":[]}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"missing value for required argument 0"}}`},
		{"wrong parameter type", `{"jsonrpc":"2.0","id":1,"method":"test_echo","params":[1]}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"invalid argument 0: json: cannot unmarshal number into Go value of type string"}}`},
		{"too many parameters", `{"jsonrpc":"2.0","id":1,"method":"test_echo","params":["a",1,2]}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"too many arguments, want at most 2"}}`},
		{"method error", `{"jsonrpc":"2.0","id":1,"method":"test_fail"}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"context deadline exceeded"}}`},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"test_echo","params":["a"]},{"jsonrpc":"2.0","method":"test_echo","params":["n"]},{"jsonrpc":"2.0","id":2,"method":"x"}]`,
			`[{"jsonrpc":"2.0","id":1,"result":{"a":"a","b":0}},{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"the method x does not exist/is not available"}}]`},
		{"empty batch", `[]`,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"empty batch"}}`},
		{"batch of junk", `[1]`,
			`[{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: json: cannot unmarshal number into Go value of type rpc.request"}}]`},
		{"notification only", `{"jsonrpc":"2.0","method":"test_echo","params":["a"]}`, ``},
		{"subscribe over HTTP", `{"jsonrpc":"2.0","id":1,"method":"test_subscribe","params":["count"]}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"notifications not supported"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, got := post(t, srv.URL, tt.req)
			if code != 200 || got != tt.want {
				t.Errorf("got %d %s\nwant 200 %s", code, got, tt.want)
			}
		})
	}
}

func TestHTTPLimits(t *testing.T) {
	srv := httptest.NewServer(testServer().HTTPHandler())
	defer srv.Close()

	big := `{"jsonrpc":"2.0","id":1,"method":"test_echo","params":["` + strings.Repeat("a", MaxRequestSize) + `"]}`
	if code, _ := post(t, srv.URL, big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized request: status %d, want 413", code)
	}
	// Without Content-Length the body limit still applies.
	req, _ := http.NewRequest("POST", srv.URL, struct{ *strings.Reader }{strings.NewReader(big)})
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked oversized request: status %d, want 413", resp.StatusCode)
	}

	resp, err = http.Post(srv.URL, "text/plain", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: status %d, want 415", resp.StatusCode)
	}
	resp, err = http.Post(srv.URL, "application/json-rpc; charset=utf-8", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"test_null"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("application/json-rpc: status %d, want 200", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("health GET: status %d", resp.StatusCode)
	}

	var batch []string
	for range MaxBatchSize + 1 {
		batch = append(batch, `{"jsonrpc":"2.0","id":1,"method":"test_null"}`)
	}
	_, got := post(t, srv.URL, "["+strings.Join(batch, ",")+"]")
	if want := `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch too large"}}`; got != want {
		t.Errorf("large batch: got %s", got)
	}
}

func dialWS(t *testing.T, srv *httptest.Server) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	return ws
}

func readJSON(t *testing.T, ws *websocket.Conn) map[string]any {
	t.Helper()
	var m map[string]any
	if err := ws.ReadJSON(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWebSocketSubscription(t *testing.T) {
	srv := httptest.NewServer(testServer().WebSocketHandler())
	defer srv.Close()
	ws := dialWS(t, srv)
	defer ws.Close()

	ws.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":7,"method":"test_subscribe","params":["count",3]}`))
	reply := readJSON(t, ws)
	id, ok := reply["result"].(string)
	if !ok || !strings.HasPrefix(id, "0x") {
		t.Fatalf("subscribe reply %v", reply)
	}
	for i := range 3 {
		n := readJSON(t, ws)
		params, _ := n["params"].(map[string]any)
		if n["method"] != "test_subscription" || params["subscription"] != id || params["result"] != float64(i) {
			t.Fatalf("notification %d: %v", i, n)
		}
	}
	ws.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":8,"method":"test_unsubscribe","params":["`+id+`"]}`))
	if r := readJSON(t, ws); r["result"] != true {
		t.Fatalf("unsubscribe reply %v", r)
	}
	ws.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":9,"method":"test_unsubscribe","params":["`+id+`"]}`))
	if r := readJSON(t, ws); r["error"] == nil {
		t.Fatalf("second unsubscribe: %v", r)
	}
	ws.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":10,"method":"test_subscribe","params":["nope"]}`))
	if r := readJSON(t, ws); r["error"].(map[string]any)["code"] != float64(CodeMethodNotFound) {
		t.Fatalf("unknown subscription: %v", r)
	}
	// Plain calls and errors work as over HTTP.
	ws.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":11,"method":"test_echo","params":["w"]}`))
	if r := readJSON(t, ws); r["result"].(map[string]any)["a"] != "w" {
		t.Fatalf("call: %v", r)
	}
	ws.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc"`))
	if r := readJSON(t, ws); r["error"].(map[string]any)["code"] != float64(CodeParseError) {
		t.Fatalf("parse error: %v", r)
	}
}

func TestWebSocketMessageLimit(t *testing.T) {
	srv := httptest.NewServer(testServer().WebSocketHandler())
	defer srv.Close()
	ws := dialWS(t, srv)
	defer ws.Close()
	ws.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("a"), MaxRequestSize+1))
	_, _, err := ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("want close 1009, got %v", err)
	}
}

func FuzzHandle(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_echo","params":["x",2]}`))
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"method":"test_null"},{}]`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"test_subscribe","params":["count"]}`))
	s := testServer()
	f.Fuzz(func(t *testing.T, msg []byte) {
		reply := s.handle(context.Background(), httpConn{}, msg)
		if reply != nil && !json.Valid(reply) {
			t.Fatalf("invalid JSON reply %q", reply)
		}
	})
}

func TestStopEndsWebSockets(t *testing.T) {
	s := testServer()
	srv := httptest.NewServer(s.WebSocketHandler())
	defer srv.Close()
	ws := dialWS(t, srv)
	defer ws.Close()
	ws.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":1,"method":"test_subscribe","params":["count",0]}`))
	readJSON(t, ws)
	s.Stop() // waits for the connection and its subscription to end
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Fatal("connection still open after Stop")
	}
	s.Stop()
	ws2 := dialWS(t, srv)
	defer ws2.Close()
	if _, _, err := ws2.ReadMessage(); err == nil {
		t.Fatal("connection accepted after Stop")
	}
}

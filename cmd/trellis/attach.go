package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/term"
)

func init() {
	register(&command{
		name:    "attach",
		args:    "<url>",
		summary: "call a node's admin JSON-RPC API (http:// or ws://): an interactive console, or one call per line of stdin",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			exec := fs.String("exec", "", "run this one call, print its result and exit")
			timeout := fs.Duration("timeout", 30*time.Second, "time limit of each call")
			return func(ctx context.Context, env *cmdEnv) error {
				if len(env.args) != 1 {
					return usageErrorf("expected one argument: the node's RPC URL (http://host:port or ws://host:port)")
				}
				if *timeout <= 0 {
					return usageErrorf("--timeout must be positive, got %v", *timeout)
				}
				c, err := dialRPC(ctx, env.args[0])
				if err != nil {
					return err
				}
				defer c.close()
				a := &attacher{client: c, timeout: *timeout, stdout: env.stdout, stderr: env.stderr}
				switch {
				case *exec != "":
					return a.call(ctx, *exec)
				case term.IsTerminal(int(attachStdin.Fd())):
					return a.console(ctx, int(attachStdin.Fd()), attachStdin, env.stdout)
				default:
					return a.script(ctx, attachStdin)
				}
			}
		},
	})
}

// attachStdin is where attach reads calls; tests replace it (cmdEnv has
// no stdin).
var attachStdin = os.Stdin

// adminMethods are the methods of package node's admin API, for completion.
var adminMethods = []string{
	"admin_addPeer", "admin_addTrustedPeer", "admin_datadir", "admin_nodeInfo",
	"admin_peers", "admin_removePeer", "admin_removeTrustedPeer",
	"admin_subscribe", "admin_unsubscribe",
}

// maxRPCResponse bounds a response read from the node.
const maxRPCResponse = 32 << 20

// rpcError is a JSON-RPC error object in a response.
type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *rpcError) Error() string {
	if len(e.Data) > 0 {
		return fmt.Sprintf("%s (code %d, data %s)", e.Message, e.Code, e.Data)
	}
	return fmt.Sprintf("%s (code %d)", e.Message, e.Code)
}

type rpcRequest struct {
	Version string          `json:"jsonrpc"`
	ID      uint64          `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

type rpcResponse struct {
	ID     *uint64         `json:"id"`
	Method string          `json:"method"` // set on subscription notifications
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

// rpcClient sends one call at a time over HTTP or a WebSocket.
type rpcClient struct {
	url    string
	http   *http.Client
	ws     *websocket.Conn
	nextID atomic.Uint64
	// notify receives subscription notifications read from the WebSocket
	// while waiting for a response.
	notify func(json.RawMessage)
}

func dialRPC(ctx context.Context, rawurl string) (*rpcClient, error) {
	u, err := url.Parse(rawurl)
	if err != nil || u.Host == "" {
		return nil, usageErrorf("invalid URL %q: want http://host:port or ws://host:port", rawurl)
	}
	c := &rpcClient{url: rawurl}
	switch u.Scheme {
	case "http", "https":
		c.http = &http.Client{}
	case "ws", "wss":
		ws, resp, err := websocket.DefaultDialer.DialContext(ctx, rawurl, nil)
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if err != nil {
			return nil, fmt.Errorf("cannot connect to %s: %w (is the node running with --ws?)", rawurl, err)
		}
		ws.SetReadLimit(maxRPCResponse)
		c.ws = ws
	default:
		return nil, usageErrorf("unsupported URL scheme %q: want http, https, ws or wss", u.Scheme)
	}
	return c, nil
}

func (c *rpcClient) close() {
	if c.ws != nil {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.ws.Close()
	}
}

// call sends method(params) and returns the result.
func (c *rpcClient) call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	id := c.nextID.Add(1)
	req, err := json.Marshal(rpcRequest{Version: "2.0", ID: id, Method: method, Params: params})
	if err != nil {
		return nil, err
	}
	var resp rpcResponse
	if c.http != nil {
		hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(req))
		if err != nil {
			return nil, err
		}
		hreq.Header.Set("Content-Type", "application/json")
		hresp, err := c.http.Do(hreq)
		if err != nil {
			return nil, err
		}
		defer hresp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(hresp.Body, maxRPCResponse))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			return nil, fmt.Errorf("HTTP %s: not a JSON-RPC response: %.200q", hresp.Status, body)
		}
	} else {
		if dl, ok := ctx.Deadline(); ok {
			c.ws.SetWriteDeadline(dl)
			c.ws.SetReadDeadline(dl)
			defer c.ws.SetReadDeadline(time.Time{})
		}
		stop := context.AfterFunc(ctx, func() { c.ws.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
		if err := c.ws.WriteMessage(websocket.TextMessage, req); err != nil {
			return nil, err
		}
		for {
			_, msg, err := c.ws.ReadMessage()
			if err != nil {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
				}
				return nil, err
			}
			resp = rpcResponse{}
			if err := json.Unmarshal(msg, &resp); err != nil {
				return nil, fmt.Errorf("not a JSON-RPC message: %.200q", msg)
			}
			if resp.ID == nil && resp.Method != "" {
				if c.notify != nil {
					c.notify(msg)
				}
				continue
			}
			break
		}
	}
	if resp.ID == nil || *resp.ID != id {
		return nil, errors.New("response does not answer the request (id mismatch)")
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	return resp.Result, nil
}

// parseCall reads a console line: a method name, optionally followed by its
// parameters as a parenthesized list of JSON values (admin_addPeer("enode://…")),
// a JSON array, or one JSON value. "admin.peers" is read as admin_peers,
// as go-ethereum's console writes it.
func parseCall(line string) (method string, params json.RawMessage, err error) {
	line = strings.TrimSpace(line)
	end := strings.IndexAny(line, "( \t[{\"")
	if end < 0 {
		end = len(line)
	}
	method, rest := line[:end], strings.TrimSpace(line[end:])
	if method == "" {
		return "", nil, errors.New("expected a method name, e.g. admin_peers")
	}
	if ns, name, ok := strings.Cut(method, "."); ok && !strings.Contains(method, "_") {
		method = ns + "_" + name
	}
	switch {
	case rest == "", rest == "()":
		return method, json.RawMessage("[]"), nil
	case strings.HasPrefix(rest, "("):
		if !strings.HasSuffix(rest, ")") {
			return "", nil, errors.New("missing ')' after the parameters")
		}
		rest = "[" + rest[1:len(rest)-1] + "]"
	case !strings.HasPrefix(rest, "["):
		rest = "[" + rest + "]"
	}
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(rest), &list); err != nil {
		return "", nil, fmt.Errorf("parameters are not a list of JSON values (strings in double quotes): %v", err)
	}
	return method, json.RawMessage(rest), nil
}

// attacher runs calls and prints their results.
type attacher struct {
	client         *rpcClient
	timeout        time.Duration
	stdout, stderr io.Writer
}

// call parses and runs one line and prints the result as indented JSON.
func (a *attacher) call(ctx context.Context, line string) error {
	method, params, err := parseCall(line)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	res, err := a.client.call(ctx, method, params)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, res, "", "  "); err != nil {
		out.Reset()
		out.Write(res)
	}
	out.WriteByte('\n')
	_, err = a.stdout.Write(out.Bytes())
	return err
}

// errCallsFailed ends a script in which some calls failed.
var errCallsFailed = errors.New("some calls failed")

// script runs one call per line of r (blank lines and lines starting with #
// are skipped), reporting failures on stderr and going on.
func (a *attacher) script(ctx context.Context, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	failed := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := a.call(ctx, line); err != nil {
			if ctx.Err() != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "error: %v\n", err)
			failed++
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d", errCallsFailed, failed)
	}
	return nil
}

// console is the interactive mode: line editing and history from x/term's
// Terminal, and tab completion of method names.
func (a *attacher) console(ctx context.Context, fd int, in io.Reader, out io.Writer) error {
	state, err := term.MakeRaw(fd)
	if err != nil {
		return err
	}
	defer term.Restore(fd, state)
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, out}, "> ")
	if w, h, err := term.GetSize(fd); err == nil {
		t.SetSize(w, h)
	}
	t.AutoCompleteCallback = func(line string, pos int, key rune) (string, int, bool) {
		if key != '\t' {
			return "", 0, false
		}
		return completeMethod(line, pos)
	}
	// Results and errors go through the terminal, which translates newlines
	// for raw mode.
	a.stdout, a.stderr = t, t
	a.client.notify = func(msg json.RawMessage) { fmt.Fprintf(t, "notification: %s\n", msg) }
	fmt.Fprintf(t, "Connected to %s. Methods: %s\nTab completes method names; exit or Ctrl-D leaves.\n", a.client.url, strings.Join(adminMethods, " "))
	for {
		line, err := t.ReadLine()
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		switch line = strings.TrimSpace(line); line {
		case "":
			continue
		case "exit", "quit":
			return nil
		}
		if err := a.call(ctx, line); err != nil {
			fmt.Fprintf(t, "error: %v\n", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// completeMethod completes the method name the cursor is in: the whole name
// if one method matches, else the longest common prefix of those that do.
func completeMethod(line string, pos int) (string, int, bool) {
	start := strings.LastIndexAny(line[:pos], " \t(,") + 1
	prefix := line[start:pos]
	var matches []string
	for _, m := range adminMethods {
		if strings.HasPrefix(m, prefix) {
			matches = append(matches, m)
		}
	}
	if len(matches) == 0 {
		return "", 0, false
	}
	sort.Strings(matches)
	common := matches[0]
	for _, m := range matches[1:] {
		for !strings.HasPrefix(m, common) {
			common = common[:len(common)-1]
		}
	}
	if len(common) <= len(prefix) {
		return "", 0, false
	}
	return line[:start] + common + line[pos:], start + len(common), true
}

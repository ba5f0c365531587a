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
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/trellis-p2p/trellis/rpc"
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
				c, err := dialRPC(ctx, env.args[0], *timeout)
				if err != nil {
					return err
				}
				a := &attacher{client: c, timeout: *timeout, stdout: &lockedWriter{w: env.stdout}, stderr: env.stderr}
				defer a.close()
				switch {
				case *exec != "":
					if err := a.call(ctx, *exec); err != nil {
						return err
					}
					return a.waitSubscriptions(ctx)
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

// adminMethods are the methods of package node's admin API, for completion,
// and admin_peerEvents, the console's name for
// admin_subscribe("peerEvents").
var adminMethods = []string{
	"admin_addPeer", "admin_addTrustedPeer", "admin_datadir", "admin_nodeInfo",
	"admin_peerEvents", "admin_peers", "admin_removePeer", "admin_removeTrustedPeer",
	"admin_subscribe", "admin_unsubscribe",
}

// dialRPC connects to the node, within timeout, with errors that say what
// to do.
func dialRPC(ctx context.Context, url string, timeout time.Duration) (*rpc.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := rpc.Dial(ctx, url)
	switch {
	case errors.Is(err, rpc.ErrBadURL):
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	case err != nil && strings.HasPrefix(url, "ws"):
		return nil, fmt.Errorf("%w (is the node running with --ws?)", err)
	}
	return c, err
}

// lockedWriter serialises the writes of results and of notifications, which
// arrive on the subscriptions' goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
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

// attacher runs calls and prints their results. Subscriptions print their
// notifications, one JSON object per line, until they end or attach exits.
type attacher struct {
	client         *rpc.Client
	timeout        time.Duration
	stdout, stderr io.Writer

	subs    map[string]*rpc.ClientSubscription // by ID; used by the calling goroutine only
	printer sync.WaitGroup                     // the subscriptions' printers
	open    struct {
		sync.Mutex
		n       int           // running printers
		changed chan struct{} // signalled when n drops
	}
}

// call parses and runs one line and prints the result as indented JSON.
// admin_peerEvents and <namespace>_subscribe open a subscription (over
// WebSocket); <namespace>_unsubscribe of one of ours closes it.
func (a *attacher) call(ctx context.Context, line string) error {
	method, params, err := parseCall(line)
	if err != nil {
		return err
	}
	var args []any
	var raw []json.RawMessage
	json.Unmarshal(params, &raw) // parseCall has checked it
	for _, r := range raw {
		args = append(args, r)
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	ns, name, _ := strings.Cut(method, "_")
	var res json.RawMessage
	switch {
	case method == "admin_peerEvents":
		if len(args) > 0 {
			return fmt.Errorf("%s takes no parameters", method)
		}
		res, err = a.subscribe(ctx, "admin", "peerEvents")
	case name == "subscribe":
		res, err = a.subscribe(ctx, ns, args...)
	case name == "unsubscribe" && len(raw) == 1 && a.unsubscribe(raw[0]):
		res = json.RawMessage("true")
	default:
		err = a.client.Call(ctx, &res, method, args...)
	}
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

// subscribe opens a subscription and prints its notifications as they come.
func (a *attacher) subscribe(ctx context.Context, namespace string, args ...any) (json.RawMessage, error) {
	ch := make(chan json.RawMessage)
	sub, err := a.client.Subscribe(ctx, namespace, ch, args...)
	if errors.Is(err, rpc.ErrNotificationsUnsupported) {
		return nil, fmt.Errorf("%w; attach with a ws:// URL (the node's --ws endpoint)", err)
	} else if err != nil {
		return nil, err
	}
	if a.subs == nil {
		a.subs = map[string]*rpc.ClientSubscription{}
		a.open.changed = make(chan struct{}, 1)
	}
	a.subs[sub.ID()] = sub
	a.open.Lock()
	a.open.n++
	a.open.Unlock()
	a.printer.Add(1)
	go func() {
		defer a.printer.Done()
		defer func() {
			a.open.Lock()
			a.open.n--
			a.open.Unlock()
			select {
			case a.open.changed <- struct{}{}:
			default:
			}
		}()
		for {
			select {
			case n := <-ch:
				var line bytes.Buffer
				fmt.Fprintf(&line, `{"subscription":%q,"result":`, sub.ID())
				json.Compact(&line, n)
				line.WriteString("}\n")
				a.stdout.Write(line.Bytes())
			case err, ok := <-sub.Err():
				if ok {
					fmt.Fprintf(a.stderr, "subscription %s ended: %v\n", sub.ID(), err)
				}
				return
			}
		}
	}()
	return json.Marshal(sub.ID())
}

// unsubscribe ends one of our subscriptions, given its ID as JSON.
func (a *attacher) unsubscribe(rawID json.RawMessage) bool {
	var id string
	if json.Unmarshal(rawID, &id) != nil || a.subs[id] == nil {
		return false
	}
	a.subs[id].Unsubscribe()
	delete(a.subs, id)
	return true
}

// waitSubscriptions returns once every open subscription has ended, or ctx
// has (Ctrl-C): a script that subscribed goes on printing notifications.
func (a *attacher) waitSubscriptions(ctx context.Context) error {
	for {
		a.open.Lock()
		n := a.open.n
		a.open.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-a.open.changed:
		case <-ctx.Done():
			return nil
		}
	}
}

// close ends the subscriptions and the connection.
func (a *attacher) close() {
	a.client.Close() // ends the subscriptions, whose printers return
	a.printer.Wait()
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
	return a.waitSubscriptions(ctx)
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
	if w, h, err := term.GetSize(fd); err == nil && w > 0 && h > 0 {
		t.SetSize(w, h)
	}
	defer watchResize(fd, t)()
	t.AutoCompleteCallback = func(line string, pos int, key rune) (string, int, bool) {
		if key != '\t' {
			return "", 0, false
		}
		if newLine, newPos, ok := completeMethod(line, pos); ok {
			return newLine, newPos, true
		}
		// Nothing to add: list the candidates, as shells do on a second Tab.
		// (The terminal redraws the prompt and line after the list.)
		if c := methodCandidates(line, pos); len(c) > 1 {
			fmt.Fprintf(t, "%s\n", strings.Join(c, "  "))
		}
		return "", 0, false
	}
	// Results and errors go through the terminal, which translates newlines
	// for raw mode.
	a.stdout, a.stderr = t, t
	fmt.Fprintf(t, "Connected to %s. Methods: %s\nTab completes method names; exit or Ctrl-D leaves.\n", a.client.URL(), strings.Join(adminMethods, " "))
	for {
		line, err := t.ReadLine()
		if err == io.EOF {
			return nil
		} else if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
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
	matches := methodCandidates(line, pos)
	if len(matches) == 0 {
		return "", 0, false
	}
	start := methodStart(line, pos)
	common := matches[0]
	for _, m := range matches[1:] {
		for !strings.HasPrefix(m, common) {
			common = common[:len(common)-1]
		}
	}
	if len(common) <= pos-start {
		return "", 0, false
	}
	return line[:start] + common + line[pos:], start + len(common), true
}

// methodCandidates returns the methods, sorted, that start with the word
// before the cursor.
func methodCandidates(line string, pos int) []string {
	prefix := line[methodStart(line, pos):pos]
	var matches []string
	for _, m := range adminMethods {
		if strings.HasPrefix(m, prefix) {
			matches = append(matches, m)
		}
	}
	sort.Strings(matches)
	return matches
}

func methodStart(line string, pos int) int {
	return strings.LastIndexAny(line[:pos], " \t(,") + 1
}

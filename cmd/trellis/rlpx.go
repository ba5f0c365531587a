package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rlp"
	"github.com/trellis-p2p/trellis/rlpx"
)

func init() {
	register(&command{
		name:    "rlpx ping",
		args:    "<node>",
		summary: "connect to a node (enode URL or enr:) over RLPx, exchange Hello and print the remote's Hello",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			timeout := fs.Duration("timeout", 10*time.Second, "time limit for connecting and both handshakes")
			nodekey := fs.String("nodekey", "", "node key file to present (default: a new key for this run)")
			name := fs.String("name", "trellis/rlpx-ping", "client name to announce in our Hello")
			return func(ctx context.Context, env *cmdEnv) error {
				if len(env.args) != 1 {
					return usageErrorf("expected one argument: the node (enode://<public key>@<host>:<port> or enr:...)")
				}
				n, err := enode.Parse(env.args[0])
				if err != nil {
					return usageErrorf("invalid node %q: %v (want enode://<128 hex digits>@<host>:<tcp port>, or an enr: record)", env.args[0], err)
				}
				if *timeout <= 0 {
					return usageErrorf("--timeout must be positive, got %v", *timeout)
				}
				var key *crypto.PrivateKey
				if *nodekey != "" {
					if key, err = crypto.LoadNodeKey(*nodekey); err != nil {
						return fmt.Errorf("cannot read --nodekey (expected 64 hex characters, as go-ethereum's nodekey): %w", err)
					}
				} else if key, err = crypto.GenerateKey(); err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(ctx, *timeout)
				defer cancel()
				res, err := rlpxPing(ctx, n, key, *name)
				if err != nil {
					return explainPingError(err, *timeout)
				}
				res.print(env.stdout)
				return nil
			}
		},
	})
}

// Base protocol facts used by the ping (rlpx.md "p2p Capability").
const (
	pingHelloVersion = 5    // the version with snappy (EIP-706) that current clients announce
	pingMaxHello     = 2048 // the Hello size limit shared by go-ethereum and package p2p
	helloCode        = 0x00
	discCode         = 0x01
)

// pingHello is the Hello message (rlpx.md "Hello (0x00)"). Fields after the
// node key are accepted and ignored (EIP-8).
type pingHello struct {
	Version    uint64
	Name       string
	Caps       []p2p.Cap
	ListenPort uint64
	Key        []byte
	Rest       []rlp.RawValue `rlp:"tail"`
}

// pingResult is what an rlpx ping learned.
type pingResult struct {
	addr      net.Addr // the TCP endpoint we reached (after DNS resolution)
	connected time.Duration
	handshake time.Duration // both handshakes, after connecting
	hello     *pingHello
	keyMatch  bool // Hello's node key is the key of the encryption handshake
}

// discError is the disconnect reason the remote sent instead of its Hello.
type discError struct{ reason p2p.DiscReason }

func (e *discError) Error() string {
	return fmt.Sprintf("the node disconnected us: %v (reason %#02x)", e.reason, uint8(e.reason))
}
func (e *discError) Unwrap() error { return e.reason }

// stageError names the step of the ping that failed.
type stageError struct {
	stage string // "connect", "handshake", "hello"
	addr  string
	err   error
}

func (e *stageError) Error() string { return e.stage + " " + e.addr + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// rlpxPing dials n, runs the RLPx encryption handshake and the Hello exchange
// and returns the remote's Hello. The context bounds everything.
func rlpxPing(ctx context.Context, n *enode.Node, key *crypto.PrivateKey, name string) (*pingResult, error) {
	dest := n.Pubkey()
	if dest == nil {
		return nil, usageErrorf("node has no secp256k1 public key")
	}
	host := n.Hostname()
	if host == "" {
		if !n.IPAddr().IsValid() {
			return nil, usageErrorf("node has no IP address or host name to connect to")
		}
		host = n.IPAddr().String()
	}
	if n.TCP() == 0 {
		return nil, usageErrorf("node has no TCP port (its URL or record names only a discovery port)")
	}
	addr := net.JoinHostPort(host, strconv.Itoa(n.TCP()))

	start := time.Now()
	var d net.Dialer // resolves DNS names and tries each address in turn
	fd, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &stageError{"connect", addr, err}
	}
	defer fd.Close()
	res := &pingResult{addr: fd.RemoteAddr(), connected: time.Since(start)}
	// The context also ends blocked reads and writes, for Ctrl-C.
	if dl, ok := ctx.Deadline(); ok {
		fd.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { fd.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	addr = fd.RemoteAddr().String()

	start = time.Now()
	conn := rlpx.NewConn(fd, dest)
	if _, err := conn.Handshake(key); err != nil {
		return nil, &stageError{"handshake", addr, ctxErr(ctx, err)}
	}
	ours := pingHello{Version: pingHelloVersion, Name: name, Caps: []p2p.Cap{}, Key: crypto.MarshalPubkey(key.PubKey())[1:]}
	enc, err := rlp.EncodeToBytes(&ours)
	if err != nil {
		return nil, err
	}
	if _, err := conn.WriteMsg(helloCode, enc); err != nil {
		return nil, &stageError{"hello", addr, ctxErr(ctx, err)}
	}
	conn.SetReadLimit(pingMaxHello)
	code, data, _, err := conn.ReadMsg()
	if err != nil {
		return nil, &stageError{"hello", addr, ctxErr(ctx, err)}
	}
	switch code {
	case helloCode:
	case discCode:
		return nil, &discError{decodeDiscReason(data)}
	default:
		return nil, &stageError{"hello", addr, fmt.Errorf("expected Hello (code 0x00), got message code %#x", code)}
	}
	h := new(pingHello)
	if err := rlp.DecodeBytes(data, h); err != nil {
		return nil, &stageError{"hello", addr, fmt.Errorf("malformed Hello %x: %w", data, err)}
	}
	res.handshake = time.Since(start)
	res.hello = h
	res.keyMatch = bytes.Equal(h.Key, crypto.MarshalPubkey(dest)[1:])

	// Leave politely. After two version-5 Hellos the Disconnect is
	// snappy-compressed like every later message (EIP-706).
	conn.SetSnappy(h.Version >= 5)
	fd.SetWriteDeadline(time.Now().Add(time.Second))
	conn.WriteMsg(discCode, []byte{0xc1, 0x80}) // [DiscRequested]
	return res, nil
}

// decodeDiscReason reads a Disconnect payload: [reason], as rlpx.md says, or
// a bare reason as some old clients sent.
func decodeDiscReason(data []byte) p2p.DiscReason {
	k, content, _, err := rlp.Split(data)
	if err == nil && k == rlp.List {
		k, content, _, err = rlp.Split(content)
	}
	switch {
	case err != nil || k == rlp.List || len(content) > 1:
		return p2p.DiscInvalid
	case len(content) == 0:
		return p2p.DiscRequested
	default:
		return p2p.DiscReason(content[0])
	}
}

// ctxErr reports an I/O error caused by the end of the context as that end:
// the socket deadline is the context's deadline, so whichever fires first,
// the cause is the same timeout.
func ctxErr(ctx context.Context, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%w (%v)", context.Canceled, err)
	case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("timed out: %w (%v)", context.DeadlineExceeded, err)
	}
	return err
}

// explainPingError adds what to do about the common failures.
func explainPingError(err error, timeout time.Duration) error {
	var (
		disc  *discError
		dns   *net.DNSError
		stage *stageError
	)
	switch {
	case errors.Is(err, errUsage):
		return err
	case errors.As(err, &disc):
		switch disc.reason {
		case p2p.DiscTooManyPeers:
			return fmt.Errorf("%w; it has no free peer slot: try again later, or have it add us as a trusted peer", err)
		case p2p.DiscUselessPeer:
			return fmt.Errorf("%w; it wants peers that share one of its protocols", err)
		}
		return err
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("interrupted: %w", err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w; no answer within %v: check the address and port, or raise --timeout", err, timeout)
	case errors.As(err, &dns):
		return fmt.Errorf("%w; check the host name in the URL", err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w; nothing listens there: is the node running, and is that its TCP (not discovery) port?", err)
	case errors.As(err, &stage) && stage.stage == "handshake":
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return fmt.Errorf("%w; the node closed the connection during the RLPx handshake: is the public key in the URL the node's key, and is this an RLPx port?", err)
		}
		return fmt.Errorf("%w; the RLPx handshake failed: is this an RLPx port?", err)
	case errors.As(err, &stage) && stage.stage == "hello" && errors.Is(err, io.EOF):
		return fmt.Errorf("%w; the node closed the connection without sending Hello or a disconnect reason", err)
	}
	return err
}

func (r *pingResult) print(w io.Writer) {
	h := r.hello
	caps := make([]string, len(h.Caps))
	for i, c := range h.Caps {
		caps[i] = c.String()
	}
	fmt.Fprintf(w, "Connected to %v in %v, handshakes in %v\n", r.addr, r.connected.Round(time.Microsecond), r.handshake.Round(time.Microsecond))
	fmt.Fprintf(w, "name:        %s\n", h.Name)
	fmt.Fprintf(w, "version:     %d\n", h.Version)
	fmt.Fprintf(w, "caps:        %s\n", strings.Join(caps, " "))
	fmt.Fprintf(w, "listen port: %d\n", h.ListenPort)
	if pub, err := crypto.UnmarshalPubkey(append([]byte{4}, h.Key...)); err == nil {
		fmt.Fprintf(w, "id:          %s\n", enode.PubkeyToIDV4(pub))
	}
	fmt.Fprintf(w, "key:         %x\n", h.Key)
	if !r.keyMatch {
		fmt.Fprintln(w, "warning: the Hello names another node key than the one the handshake authenticated")
	}
	if len(h.Rest) > 0 {
		fmt.Fprintf(w, "extra:       %d fields after the node key (EIP-8)\n", len(h.Rest))
	}
}

package crawl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rlp"
	"github.com/trellis-p2p/trellis/rlpx"
)

// Base protocol facts used when reading a node's Hello (rlpx.md "p2p
// Capability").
const (
	helloVersion = 5    // the version with snappy (EIP-706) that current clients announce
	maxHelloSize = 2048 // the Hello size limit shared by go-ethereum and package p2p
	helloCode    = 0x00
	discCode     = 0x01
)

// ErrNoEndpoint is returned by DialHello for a node it cannot dial: no public
// key, no IP or host name, or no TCP port.
var ErrNoEndpoint = errors.New("crawl: node has no dialable RLPx endpoint")

// Hello is the Hello message (rlpx.md "Hello (0x00)"). Fields after the node
// key are accepted and kept raw (EIP-8).
type Hello struct {
	Version    uint64
	Name       string
	Caps       []p2p.Cap
	ListenPort uint64
	Key        []byte
	Rest       []rlp.RawValue `rlp:"tail"`
}

// HelloResult is what DialHello learned from a node.
type HelloResult struct {
	Addr      net.Addr      // the TCP endpoint reached (after DNS resolution)
	Connected time.Duration // time to connect
	Handshake time.Duration // both handshakes, after connecting
	Hello     *Hello
	KeyMatch  bool // the Hello's node key is the key the handshake authenticated
}

// DiscError is the disconnect reason a node sent instead of its Hello.
type DiscError struct{ Reason p2p.DiscReason }

func (e *DiscError) Error() string {
	return fmt.Sprintf("the node disconnected us: %v (reason %#02x)", e.Reason, uint8(e.Reason))
}
func (e *DiscError) Unwrap() error { return e.Reason }

// StageError names the step of DialHello that failed: "connect",
// "handshake" or "hello".
type StageError struct {
	Stage string
	Addr  string
	Err   error
}

func (e *StageError) Error() string { return e.Stage + " " + e.Addr + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// DialHello dials n, runs the RLPx encryption handshake and the Hello
// exchange, announcing name and no capabilities, reads the remote's Hello and
// leaves with a Disconnect (DiscRequested). The context bounds everything.
func DialHello(ctx context.Context, n *enode.Node, key *crypto.PrivateKey, name string) (*HelloResult, error) {
	dest := n.Pubkey()
	if dest == nil {
		return nil, fmt.Errorf("%w: no secp256k1 public key", ErrNoEndpoint)
	}
	host := n.Hostname()
	if host == "" {
		if !n.IPAddr().IsValid() {
			return nil, fmt.Errorf("%w: no IP address or host name to connect to", ErrNoEndpoint)
		}
		host = n.IPAddr().String()
	}
	if n.TCP() == 0 {
		return nil, fmt.Errorf("%w: no TCP port (its URL or record names only a discovery port)", ErrNoEndpoint)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(n.TCP()))

	start := time.Now()
	var d net.Dialer // resolves DNS names and tries each address in turn
	fd, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &StageError{"connect", addr, err}
	}
	defer fd.Close()
	res := &HelloResult{Addr: fd.RemoteAddr(), Connected: time.Since(start)}
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
		return nil, &StageError{"handshake", addr, ctxErr(ctx, err)}
	}
	ours := Hello{Version: helloVersion, Name: name, Caps: []p2p.Cap{}, Key: crypto.MarshalPubkey(key.PubKey())[1:]}
	enc, err := rlp.EncodeToBytes(&ours)
	if err != nil {
		return nil, err
	}
	if _, err := conn.WriteMsg(helloCode, enc); err != nil {
		return nil, &StageError{"hello", addr, ctxErr(ctx, err)}
	}
	conn.SetReadLimit(maxHelloSize)
	code, data, _, err := conn.ReadMsg()
	if err != nil {
		return nil, &StageError{"hello", addr, ctxErr(ctx, err)}
	}
	switch code {
	case helloCode:
	case discCode:
		return nil, &DiscError{DecodeDiscReason(data)}
	default:
		return nil, &StageError{"hello", addr, fmt.Errorf("expected Hello (code 0x00), got message code %#x", code)}
	}
	h, err := DecodeHello(data)
	if err != nil {
		return nil, &StageError{"hello", addr, err}
	}
	res.Handshake = time.Since(start)
	res.Hello = h
	res.KeyMatch = bytes.Equal(h.Key, crypto.MarshalPubkey(dest)[1:])

	// Leave politely. After two version-5 Hellos the Disconnect is
	// snappy-compressed like every later message (EIP-706).
	conn.SetSnappy(h.Version >= 5)
	fd.SetWriteDeadline(time.Now().Add(time.Second))
	conn.WriteMsg(discCode, []byte{0xc1, 0x80}) // [DiscRequested]
	return res, nil
}

// ErrMalformedHello reports a Hello payload that does not decode.
var ErrMalformedHello = errors.New("crawl: malformed Hello")

// DecodeHello decodes a Hello payload (rlpx.md "Hello (0x00)"). The caller
// bounds its size (maxHelloSize on the wire).
func DecodeHello(data []byte) (*Hello, error) {
	h := new(Hello)
	if err := rlp.DecodeBytes(data, h); err != nil {
		return nil, fmt.Errorf("%w %.64x: %w", ErrMalformedHello, data, err)
	}
	return h, nil
}

// DecodeDiscReason reads a Disconnect payload: [reason], as rlpx.md says, or
// a bare reason as some old clients sent.
func DecodeDiscReason(data []byte) p2p.DiscReason {
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

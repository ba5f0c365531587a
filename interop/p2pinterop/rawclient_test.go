package p2pinterop

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	grlpx "github.com/ethereum/go-ethereum/p2p/rlpx"
	grlp "github.com/ethereum/go-ethereum/rlp"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rlp"
	"github.com/trellis-p2p/trellis/rlpx"
)

// rawClient is a peer without a server: it runs the encryption handshake
// and the Hello exchange with one library's rlpx package, then only holds
// the connection (and can ping or leave). The benchmarks use it to load a
// server with connections whose other end costs next to nothing.
type rawClient struct {
	fd net.Conn
	t  *rlpx.Conn  // Trellis's, or
	g  *grlpx.Conn // go-ethereum's
}

// clientHello returns the Hello a raw client with key k sends: version 5,
// the test protocol, encoded by the library the client uses.
func clientHello(impl string, k key) []byte {
	var (
		enc []byte
		err error
	)
	id := crypto.MarshalPubkey(k.pub())[1:]
	if impl == "geth" {
		enc, err = grlp.EncodeToBytes([]any{uint64(5), "raw", [][]any{{protoName, uint64(protoVersion)}}, uint64(0), id})
	} else {
		enc, err = rlp.EncodeToBytes(&helloMsg{Version: 5, Name: "raw", Caps: []p2p.Cap{{Name: protoName, Version: protoVersion}}, ID: id})
	}
	if err != nil {
		panic(err)
	}
	return enc
}

// errRefused is a Disconnect received instead of Hello.
type errRefused struct{ data []byte }

func (e errRefused) Error() string { return fmt.Sprintf("refused with disconnect %x", e.data) }

// dialRaw connects to the server at addr whose key is dest and runs both
// handshakes with the given library's rlpx.
func dialRaw(ctx context.Context, impl, addr string, dest, k key, hello []byte) (*rawClient, error) {
	var d net.Dialer
	fd, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	fd.SetDeadline(time.Now().Add(waitTimeout))
	c := &rawClient{fd: fd}
	var code uint64
	var data []byte
	if impl == "geth" {
		c.g = grlpx.NewConn(fd, &dest.g.PublicKey)
		if _, err = c.g.Handshake(k.g); err == nil {
			if _, err = c.g.Write(0, hello); err == nil {
				code, data, _, err = c.g.Read()
			}
		}
	} else {
		c.t = rlpx.NewConn(fd, dest.pub())
		if _, err = c.t.Handshake(k.t); err == nil {
			if _, err = c.t.WriteMsg(0, hello); err == nil {
				code, data, _, err = c.t.ReadMsg()
			}
		}
	}
	if err == nil && code != 0 {
		err = errRefused{append([]byte(nil), data...)}
	}
	if err != nil {
		fd.Close()
		return nil, err
	}
	// Both Hellos announce version 5: snappy from here on (EIP-706).
	if c.g != nil {
		c.g.SetSnappy(true)
	} else {
		c.t.SetSnappy(true)
	}
	fd.SetDeadline(time.Time{})
	return c, nil
}

var (
	pingPayload       = []byte{0xc0}
	discRequestedData = []byte{0xc1, 0x80}
)

func (c *rawClient) write(code uint64, data []byte) error {
	c.fd.SetWriteDeadline(time.Now().Add(waitTimeout))
	var err error
	if c.g != nil {
		_, err = c.g.Write(code, data)
	} else {
		_, err = c.t.WriteMsg(code, data)
	}
	return err
}

// ping sends a Ping, which keeps the server from timing the connection out.
func (c *rawClient) ping() error { return c.write(0x02, pingPayload) }

// leave sends Disconnect(requested) and closes the connection.
func (c *rawClient) leave() {
	c.write(0x01, discRequestedData)
	c.fd.Close()
}

// forget drops the rlpx session and keeps only the socket, so that the
// client side of an idle connection holds as little memory as possible.
func (c *rawClient) forget() { c.t, c.g = nil, nil }

// eventRouter hands the add and drop events of one node to the waiter
// registered for the peer.
type eventRouter struct {
	mu      sync.Mutex
	waiters map[[32]byte]chan event
	quit    chan struct{}
	wg      sync.WaitGroup
}

func newRouter(n node) *eventRouter {
	r := &eventRouter{waiters: make(map[[32]byte]chan event), quit: make(chan struct{})}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			select {
			case ev := <-n.events():
				r.mu.Lock()
				ch := r.waiters[ev.peer]
				r.mu.Unlock()
				if ch != nil {
					ch <- ev
				}
			case <-r.quit:
				return
			}
		}
	}()
	return r
}

// register returns the channel of id's events; it holds a few, enough for
// one connection at a time.
func (r *eventRouter) register(id [32]byte) chan event {
	ch := make(chan event, 4)
	r.mu.Lock()
	r.waiters[id] = ch
	r.mu.Unlock()
	return ch
}

func (r *eventRouter) stop() {
	close(r.quit)
	r.wg.Wait()
}

func waitFor(ch chan event, typ string) error {
	t := time.NewTimer(waitTimeout)
	defer t.Stop()
	for {
		select {
		case ev := <-ch:
			if ev.typ == typ {
				return nil
			}
		case <-t.C:
			return fmt.Errorf("no %s event", typ)
		}
	}
}

// serverAddr returns the loopback address a node listens on.
func serverAddr(n node) string { return fmt.Sprintf("127.0.0.1:%d", n.port()) }

package rlpxinterop

import (
	"crypto/ecdsa"
	"net"
	"testing"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	grlpx "github.com/ethereum/go-ethereum/p2p/rlpx"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/rlpx"
)

// node is one key in both libraries' representations.
type node struct {
	t   *crypto.PrivateKey
	g   *ecdsa.PrivateKey
	pub *crypto.PublicKey // derived once: a decred key does not carry it
}

func newNode(t testing.TB) node {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	g, err := gcrypto.ToECDSA(crypto.FromPrivateKey(k))
	if err != nil {
		t.Fatal(err)
	}
	return node{t: k, g: g, pub: k.PubKey()}
}

func (n node) tpub() *crypto.PublicKey { return n.pub }
func (n node) gpub() *ecdsa.PublicKey  { return &n.g.PublicKey }

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		ch <- result{c, err}
	}()
	c1, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	return c1, r.c
}

// msgConn is the part of both Conns the tests use.
type msgConn interface {
	read() (uint64, []byte, error)
	write(code uint64, data []byte) error
	setSnappy(bool)
	close() error
}

type trellisConn struct{ c *rlpx.Conn }

func (c trellisConn) read() (uint64, []byte, error) {
	code, data, _, err := c.c.ReadMsg()
	return code, data, err
}
func (c trellisConn) write(code uint64, data []byte) error {
	_, err := c.c.WriteMsg(code, data)
	return err
}
func (c trellisConn) setSnappy(on bool) { c.c.SetSnappy(on) }
func (c trellisConn) close() error      { return c.c.Close() }

type gethConn struct{ c *grlpx.Conn }

func (c gethConn) read() (uint64, []byte, error) {
	code, data, _, err := c.c.Read()
	return code, data, err
}
func (c gethConn) write(code uint64, data []byte) error {
	_, err := c.c.Write(code, data)
	return err
}
func (c gethConn) setSnappy(on bool) { c.c.SetSnappy(on) }
func (c gethConn) close() error      { return c.c.Close() }

package rlpx

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/internal/keccak"
	"github.com/trellis-p2p/trellis/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

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

// handshakePair runs a handshake between an initiator on a and a recipient
// on b, returning the two Conns.
func handshakePair(t testing.TB, a, b net.Conn) (initiator, recipient *Conn) {
	t.Helper()
	keyA, keyB := newKey(t), newKey(t)
	initiator = NewConn(a, keyB.PubKey())
	recipient = NewConn(b, nil)
	errc := make(chan error, 1)
	var remoteOfB *crypto.PublicKey
	go func() {
		var err error
		remoteOfB, err = recipient.Handshake(keyB)
		errc <- err
	}()
	remoteOfA, err := initiator.Handshake(keyA)
	if err != nil {
		t.Fatalf("initiator handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("recipient handshake: %v", err)
	}
	if !remoteOfA.IsEqual(keyB.PubKey()) || !remoteOfB.IsEqual(keyA.PubKey()) {
		t.Fatal("handshake returned the wrong remote keys")
	}
	return initiator, recipient
}

func newKey(t testing.TB) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// secretsPair returns session secrets for two ends: a's egress is b's
// ingress and the other way round.
func secretsPair() (a, b Secrets) {
	aes := bytes.Repeat([]byte{0x11}, 32)
	mac := bytes.Repeat([]byte{0x22}, 32)
	ab, ba := keccak.New(), keccak.New()
	ab.Write([]byte("a to b"))
	ba.Write([]byte("b to a"))
	ab2, ba2 := *ab, *ba
	a = Secrets{AES: aes, MAC: mac, EgressMAC: ab, IngressMAC: ba}
	b = Secrets{AES: aes, MAC: mac, EgressMAC: &ba2, IngressMAC: &ab2}
	return a, b
}

// peerWriter returns a frame writer producing what the secrets' owner would
// send, for crafting frames by hand.
func peerWriter(t testing.TB, sec Secrets) *frameWriter {
	t.Helper()
	var fr frameReader
	var fw frameWriter
	if err := sessionFromSecrets(&sec, &fr, &fw); err != nil {
		t.Fatal(err)
	}
	return &fw
}

// fakeConn is a net.Conn that reads from a fixed input and records writes.
type fakeConn struct {
	in     io.Reader
	out    bytes.Buffer
	writes atomic.Int32
}

func newFakeConn(in []byte) *fakeConn { return &fakeConn{in: bytes.NewReader(in)} }

func (c *fakeConn) Read(p []byte) (int, error) { return c.in.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.out.Write(p)
}
func (c *fakeConn) Close() error                     { return nil }
func (c *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// countingConn counts Write calls on a real connection.
type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

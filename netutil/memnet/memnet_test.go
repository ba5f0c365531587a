package memnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

var (
	ipA = netip.MustParseAddr("10.0.0.1")
	ipB = netip.MustParseAddr("10.0.0.2")
)

func dialPair(t *testing.T, n *Network) (client, server net.Conn) {
	t.Helper()
	l, err := n.Host(ipB).Listen(context.Background(), "tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err = n.Host(ipA).DialContext(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}

func TestDialAccept(t *testing.T) {
	n := New()
	c, s := dialPair(t, n)
	defer c.Close()
	defer s.Close()
	if got := c.RemoteAddr().String(); got != s.LocalAddr().String() {
		t.Fatalf("addresses disagree: %s vs %s", got, s.LocalAddr())
	}
	if ip := c.LocalAddr().(*net.TCPAddr).AddrPort().Addr(); ip != ipA {
		t.Fatalf("client address %v", ip)
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("read %q, %v", buf, err)
	}
}

func TestDialRefused(t *testing.T) {
	n := New()
	_, err := n.Host(ipA).DialContext(context.Background(), "tcp", "10.0.0.2:30303")
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v", err)
	}
	l, _ := n.Host(ipB).Listen(context.Background(), "tcp", "10.0.0.2:30303")
	if _, err := n.Host(ipB).Listen(context.Background(), "tcp", ":30303"); err == nil {
		t.Fatal("double bind succeeded")
	}
	if _, err := n.Host(ipB).Listen(context.Background(), "tcp", "10.9.9.9:1"); err == nil {
		t.Fatal("bind to foreign address succeeded")
	}
	l.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	if _, err := n.Host(ipA).DialContext(context.Background(), "tcp", "10.0.0.2:30303"); err == nil {
		t.Fatal("dial to closed listener succeeded")
	}
}

// Both ends writing more than the buffer at once must not deadlock as long as
// both also read, as with TCP.
func TestConcurrentWrites(t *testing.T) {
	n := New()
	n.BufferSize = 1024
	c, s := dialPair(t, n)
	defer c.Close()
	defer s.Close()
	payload := bytes.Repeat([]byte("x"), 100_000)
	var wg sync.WaitGroup
	for _, conn := range []net.Conn{c, s} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := conn.Write(payload); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			got := make([]byte, len(payload))
			if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, payload) {
				t.Error("payload mismatch", err)
			}
		}()
	}
	wg.Wait()
}

func TestCloseSemantics(t *testing.T) {
	n := New()
	c, s := dialPair(t, n)
	c.Write([]byte("tail"))
	c.Close()
	buf := make([]byte, 10)
	k, err := s.Read(buf)
	if err != nil || string(buf[:k]) != "tail" {
		t.Fatalf("buffered bytes lost: %q %v", buf[:k], err)
	}
	if _, err := s.Read(buf); err != io.EOF {
		t.Fatalf("read after remote close: %v", err)
	}
	if _, err := s.Write([]byte("x")); err == nil {
		t.Fatal("write to closed peer succeeded")
	}
	if _, err := c.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on closed conn: %v", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	s.Close()
}

func TestDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New()
		n.BufferSize = 16
		c, s := dialPair(t, n)
		defer c.Close()
		defer s.Close()

		start := time.Now()
		c.SetReadDeadline(start.Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != 5*time.Second {
			t.Fatalf("read deadline: err %v after %v", err, time.Since(start))
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatal("deadline error is not a timeout")
		}

		// A writer whose reader never reads blocks once the buffer is full,
		// then times out, reporting what it managed to write.
		c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		k, err := c.Write(make([]byte, 100))
		if !errors.Is(err, os.ErrDeadlineExceeded) || k != 16 {
			t.Fatalf("write deadline: wrote %d, err %v", k, err)
		}

		// Clearing the deadline lets reads block again until data arrives.
		c.SetReadDeadline(time.Time{})
		go func() {
			time.Sleep(time.Minute)
			s.Write([]byte("z"))
		}()
		if _, err := c.Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}

		// A deadline in the past interrupts a blocked read.
		done := make(chan error)
		go func() {
			_, err := c.Read(make([]byte, 1))
			done <- err
		}()
		synctest.Wait()
		c.SetReadDeadline(time.Unix(1, 0))
		if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("interrupted read: %v", err)
		}
	})
}

func TestLookup(t *testing.T) {
	n := New()
	n.AddName("node.example", netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("fd00::7"))
	h := n.Host(ipA)
	got, err := h.LookupNetIP(context.Background(), "ip4", "node.example")
	if err != nil || len(got) != 1 || got[0] != netip.MustParseAddr("10.0.0.7") {
		t.Fatalf("ip4 lookup: %v %v", got, err)
	}
	got, _ = h.LookupNetIP(context.Background(), "ip", "node.example")
	if len(got) != 2 {
		t.Fatalf("ip lookup: %v", got)
	}
	var dnsErr *net.DNSError
	if _, err := h.LookupNetIP(context.Background(), "ip", "missing.example"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("missing name: %v", err)
	}
}

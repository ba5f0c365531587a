package memudp

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

var (
	addrA = netip.MustParseAddrPort("10.0.0.1:30303")
	addrB = netip.MustParseAddrPort("10.0.0.2:30303")
)

func listen(t *testing.T, n *Network, addr netip.AddrPort) *Conn {
	t.Helper()
	c, err := n.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSendReceive(t *testing.T) {
	n := New()
	a, b := listen(t, n, addrA), listen(t, n, addrB)
	if _, err := a.WriteToUDPAddrPort([]byte("hello"), addrB); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	nb, from, err := b.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if from != addrA || string(buf[:nb]) != "hel" {
		t.Fatalf("got %q from %v; want truncated \"hel\" from %v", buf[:nb], from, addrA)
	}
	if got := b.LocalAddr().(*net.UDPAddr).AddrPort(); got != addrB {
		t.Fatalf("LocalAddr %v", got)
	}
	if s := n.Stats(); s.Sent != 1 || s.Delivered != 1 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDrops(t *testing.T) {
	n := New()
	n.QueueLen = 2
	a, _ := listen(t, n, addrA), listen(t, n, addrB)
	a.WriteToUDPAddrPort([]byte{1}, netip.MustParseAddrPort("10.9.9.9:1")) // nobody there
	for range 3 {
		a.WriteToUDPAddrPort([]byte{2}, addrB) // third one overflows
	}
	n.SetFilter(func(from, to netip.AddrPort, b []byte) bool { return b[0] != 3 })
	a.WriteToUDPAddrPort([]byte{3}, addrA)
	if s := n.Stats(); s.Sent != 5 || s.Delivered != 2 || s.Dropped != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestListen(t *testing.T) {
	n := New()
	listen(t, n, addrA)
	if _, err := n.Listen(addrA); !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("second listen: %v", err)
	}
	c := listen(t, n, netip.AddrPortFrom(addrA.Addr(), 0))
	if c.LocalAddrPort().Port() != 30304 {
		t.Fatalf("free port %v", c.LocalAddrPort())
	}
	c.Close()
	c.Close()
	if _, err := c.WriteToUDPAddrPort([]byte{1}, addrA); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if _, err := n.Listen(c.LocalAddrPort()); err != nil {
		t.Fatalf("address not freed: %v", err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := New().Listen(addrA)
		errc := make(chan error)
		go func() {
			_, _, err := c.ReadFromUDPAddrPort(make([]byte, 10))
			errc <- err
		}()
		synctest.Wait()
		c.Close()
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read: %v", err)
		}
	})
}

func TestLatencyAndInject(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New()
		n.Latency = 50 * time.Millisecond
		b, _ := n.Listen(addrB)
		defer b.Close()
		spoofed := netip.MustParseAddrPort("192.0.2.1:9")
		start := time.Now()
		if !n.Inject(spoofed, addrB, []byte("x")) {
			t.Fatal("inject not queued")
		}
		_, from, err := b.ReadFromUDPAddrPort(make([]byte, 10))
		if err != nil || from != spoofed {
			t.Fatalf("read: %v from %v", err, from)
		}
		if d := time.Since(start); d != n.Latency {
			t.Fatalf("delivered after %v, want %v", d, n.Latency)
		}
	})
}

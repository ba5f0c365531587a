package discover

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"

	"github.com/trellis-p2p/trellis/enode"
)

// sharedPair starts two nodes, each running discv4 and discv5 on one
// socket, checks that both protocols work between them, and closes them.
func checkShared(t *testing.T, conns [2]UDPConn, addrs [2]netip.AddrPort) {
	var v4s [2]*UDPv4
	var v5s [2]*UDPv5
	for i := range conns {
		key := cachedKey(uint64(50 + i))
		ln := enode.NewLocalNode(nil, key)
		ln.SetFallbackIP(addrs[i].Addr())
		ln.SetFallbackUDP(int(addrs[i].Port()))
		a, b, err := ListenShared(conns[i], ln, Config{PrivateKey: key})
		if err != nil {
			t.Fatal(err)
		}
		v4s[i], v5s[i] = a, b
		defer a.Close()
		defer b.Close()
	}
	ctx := context.Background()
	if _, err := v4s[0].Ping(ctx, v4s[1].Self()); err != nil {
		t.Fatal("v4 ping:", err)
	}
	if _, err := v5s[0].Ping(ctx, v5s[1].Self()); err != nil {
		t.Fatal("v5 ping:", err)
	}
	if _, err := v5s[1].TalkRequest(ctx, v5s[0].Self(), "x", nil); err != nil {
		t.Fatal("v5 talk:", err)
	}
	if _, err := v4s[1].Ping(ctx, v4s[0].Self()); err != nil {
		t.Fatal("v4 ping back:", err)
	}
	s4, s5 := v4s[1].Stats(), v5s[1].Stats()
	if s4.PacketsIn["PING/v4"] == 0 || s5.PacketsIn["PING/v5"] == 0 || s5.PacketsIn["TALKRESP/v5"] != 1 {
		t.Errorf("stats: v4 in %v, v5 in %v", s4.PacketsIn, s5.PacketsIn)
	}
	if s4.PacketsOut["PONG/v4"] == 0 || s4.BytesIn == 0 || s4.BytesOut == 0 || s5.BytesOut == 0 || s4.TableNodes < 0 {
		t.Errorf("stats: v4 %+v, v5 %+v", s4, s5)
	}
	if s4.PacketsIn["PING/v5"] != 0 || s5.PacketsIn["PING/v4"] != 0 {
		t.Error("a protocol counted the other's packets")
	}
}

func TestListenSharedMemUDP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		var conns [2]UDPConn
		var addrs [2]netip.AddrPort
		for i := range conns {
			addrs[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 30303)
			c, err := tn.net.Listen(addrs[i])
			if err != nil {
				t.Fatal(err)
			}
			conns[i] = c
		}
		checkShared(t, conns, addrs)
	})
}

func TestListenSharedLoopback(t *testing.T) {
	var conns [2]UDPConn
	var addrs [2]netip.AddrPort
	for i := range conns {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
		addrs[i] = c.LocalAddr().(*net.UDPAddr).AddrPort()
	}
	checkShared(t, conns, addrs)
}

func TestListenSharedRefusesUnhandled(t *testing.T) {
	key := cachedKey(1)
	ch := make(chan ReadPacket)
	if _, _, err := ListenShared(nil, enode.NewLocalNode(nil, key), Config{PrivateKey: key, Unhandled: ch}); err == nil {
		t.Fatal("no error for Config.Unhandled set")
	}
}

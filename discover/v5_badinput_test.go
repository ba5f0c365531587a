package discover

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enode"
)

// withSrcID rewrites the src-id of an ordinary message packet to dest
// (discv5-wire.md "Ordinary Message Packet": authdata = src-id), so that
// one encoded packet can pose as coming from any node.
func withSrcID(b []byte, dest, src enode.ID) []byte {
	const authStart = 16 + 23
	b = append([]byte(nil), b...)
	block, _ := aes.NewCipher(dest[:16])
	ks := make([]byte, authStart-16+32)
	cipher.NewCTR(block, b[:16]).XORKeyStream(ks, ks)
	for i := range 32 {
		b[authStart+i] = src[i] ^ ks[authStart-16+i]
	}
	return b
}

// floodV5 injects n copies of pkt to l, each from a fresh node ID, from
// the address from(i), in batches the listener can take.
func floodV5(tn *testNet, l *UDPv5, pkt []byte, n int, from func(i int) netip.AddrPort) {
	dest := l.Self().ID()
	var id enode.ID
	for i := range n {
		binary.BigEndian.PutUint64(id[:], uint64(i)+1)
		tn.net.Inject(from(i), v5Addr(l), withSrcID(pkt, dest, id))
		if i%200 == 199 {
			synctest.Wait()
		}
	}
	synctest.Wait()
}

// A flood of undecryptable packets from spoofed node IDs costs bounded
// memory and sends a bounded number of WHOAREYOUs: per source IP, and in
// total when the sources are spread over many IPs.
func TestV5SpoofedIDFlood(t *testing.T) {
	const n = 100000
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listenV5(1, "11.0.0.1:30303", Config{})
		p := tn.v5peer(2, "11.0.0.2:30303")
		// One random packet, as a node without session sends.
		b, _, err := p.codec.Encode(l.Self().ID(), v5Addr(l).String(), &v5wire.Ping{ReqID: []byte{1}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		pkt := append([]byte(nil), b...)

		// All from one IP.
		one := netip.MustParseAddrPort("12.0.0.1:30303")
		floodV5(tn, l, pkt, n, func(int) netip.AddrPort { return one })
		s := l.Stats()
		if w := s.PacketsOut["WHOAREYOU/v5"]; w > whoareyouBurst {
			t.Errorf("one IP: %d WHOAREYOUs sent, want at most %d", w, whoareyouBurst)
		}
		if s.Dropped < n-v5PacketBurst-uint64(v5ReadQueue) {
			t.Errorf("one IP: only %d of %d packets dropped", s.Dropped, n)
		}
		t.Logf("one IP: %d packets, %d WHOAREYOU, %d dropped", n, s.PacketsOut["WHOAREYOU/v5"], s.Dropped)

		// Each from an IP of its own.
		before := s.PacketsOut["WHOAREYOU/v5"]
		floodV5(tn, l, pkt, n, func(i int) netip.AddrPort {
			return netip.AddrPortFrom(netip.AddrFrom4([4]byte{13, byte(i >> 16), byte(i >> 8), byte(i)}), 30303)
		})
		s = l.Stats()
		if w := s.PacketsOut["WHOAREYOU/v5"] - before; w > whoareyouTotalBurst {
			t.Errorf("many IPs: %d WHOAREYOUs sent, want at most %d", w, whoareyouTotalBurst)
		}
		sessions, challenges := l.disp.sessions.Len()
		if sessions != 0 || challenges > sessionCacheSize {
			t.Errorf("%d sessions and %d challenges held, want 0 and at most %d", sessions, challenges, sessionCacheSize)
		}
		for name, lim := range map[string]*ipLimiter{"packets": l.disp.packets, "challenges": l.disp.challenges, "handshakes": l.disp.handshakes} {
			if len(lim.buckets) > maxLimiterIPs {
				t.Errorf("%s limiter holds %d IPs, want at most %d", name, len(lim.buckets), maxLimiterIPs)
			}
		}
		t.Logf("many IPs: %d packets, %d WHOAREYOU, %d challenges held", n, s.PacketsOut["WHOAREYOU/v5"]-before, challenges)

		// A real node gets its handshake done once the total limit has
		// refilled: the price of the limit is that a flood from many
		// spoofed sources delays new handshakes while it lasts.
		time.Sleep(time.Second)
		p.handshake(0, l)
	})
}

// Handshake packets, which cost ECDH and a signature check when they
// match a challenge, are limited per IP before decoding.
func TestV5HandshakeFloodLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		rec := new(logRecorder)
		l := tn.listenV5(1, "11.0.0.1:30303", Config{Log: slogRecorder(rec)})
		p := tn.v5peer(2, "11.0.0.2:30303")
		p.send(0, l, &v5wire.Ping{ReqID: []byte{1}}, nil)
		w, _ := expectV5[*v5wire.Whoareyou](p, l, "challenge")
		w.Node = l.Self()
		_, hs := p.send(0, l, &v5wire.Ping{ReqID: []byte{1}}, w)
		expectV5[*v5wire.Pong](p, l, "handshake")
		for range 100 {
			p.conns[0].WriteToUDPAddrPort(hs, v5Addr(l))
		}
		synctest.Wait()
		limited := rec.count("Dropped discv5 packet", "handshake: rate limit")
		unexpected := rec.count("Dropped discv5 packet", "handshake without pending challenge")
		if limited != 100-(handshakeBurst-1) || unexpected != handshakeBurst-1 {
			t.Errorf("%d handshakes rate-limited, %d decoded; want %d and %d", limited, unexpected, 100-(handshakeBurst-1), handshakeBurst-1)
		}
	})
}

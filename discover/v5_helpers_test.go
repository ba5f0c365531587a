package discover

import (
	"net/netip"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover/memudp"
	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enode"
)

// v5Peer is a hand-driven discv5 endpoint with its own v5wire codec: it
// sends crafted packets to a listener, from one of several sockets, and
// reads what comes back.
type v5Peer struct {
	t     testing.TB
	key   *crypto.PrivateKey
	ln    *enode.LocalNode
	sc    *v5wire.SessionCache
	codec *v5wire.Codec
	conns []*memudp.Conn
	in    chan v5Datagram
}

type v5Datagram struct {
	data []byte
	conn int // index of the socket it arrived at
}

// v5peer creates a peer with key i and a socket at each of addrs; its
// record names the first.
func (tn *testNet) v5peer(i uint64, addrs ...string) *v5Peer {
	tn.t.Helper()
	key := cachedKey(i)
	p := &v5Peer{t: tn.t, key: key, ln: enode.NewLocalNode(nil, key), in: make(chan v5Datagram, 1000)}
	p.sc = v5wire.NewSessionCache(0, time.Now)
	p.codec = v5wire.NewCodec(p.ln, key, p.sc)
	for ci, a := range addrs {
		conn, err := tn.net.Listen(netip.MustParseAddrPort(a))
		if err != nil {
			tn.t.Fatal(err)
		}
		if ci == 0 {
			p.ln.SetFallbackIP(conn.LocalAddrPort().Addr())
			p.ln.SetFallbackUDP(int(conn.LocalAddrPort().Port()))
		}
		p.conns = append(p.conns, conn)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				buf := make([]byte, 2048)
				n, _, err := conn.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				select {
				case p.in <- v5Datagram{buf[:n], ci}:
				default:
				}
			}
		}()
		tn.t.Cleanup(func() { conn.Close(); <-done })
	}
	return p
}

func (p *v5Peer) id() enode.ID      { return p.ln.ID() }
func (p *v5Peer) node() *enode.Node { return p.ln.Node() }

func v5Addr(l *UDPv5) netip.AddrPort { return l.conn.(*memudp.Conn).LocalAddrPort() }

// send encodes pkt for l (in a handshake answering challenge, if set) and
// sends it from socket conn. It returns the packet's nonce and bytes.
func (p *v5Peer) send(conn int, l *UDPv5, pkt v5wire.Packet, challenge *v5wire.Whoareyou) (v5wire.Nonce, []byte) {
	p.t.Helper()
	to := v5Addr(l)
	b, nonce, err := p.codec.Encode(l.Self().ID(), to.String(), pkt, challenge)
	if err != nil {
		p.t.Fatalf("encode %s: %v", pkt.Name(), err)
	}
	b = append([]byte(nil), b...)
	p.conns[conn].WriteToUDPAddrPort(b, to)
	return nonce, b
}

// read returns the next datagram from l, decoded, or a nil packet if none
// arrives within a second (fake time under synctest).
func (p *v5Peer) read(l *UDPv5) (v5wire.Packet, v5Datagram) {
	p.t.Helper()
	select {
	case d := <-p.in:
		_, _, pkt, err := p.codec.Decode(d.data, v5Addr(l).String())
		if err != nil {
			p.t.Fatalf("decode: %v", err)
		}
		return pkt, d
	case <-time.After(time.Second):
		return nil, v5Datagram{}
	}
}

// expect reads the next packet and fails unless it has the type of want.
func expectV5[P v5wire.Packet](p *v5Peer, l *UDPv5, what string) (P, v5Datagram) {
	p.t.Helper()
	pkt, d := p.read(l)
	got, ok := pkt.(P)
	if !ok {
		var zero P
		name := "nothing"
		if pkt != nil {
			name = pkt.Name()
		}
		p.t.Fatalf("%s: got %s, want %T", what, name, zero)
	}
	return got, d
}

// handshake makes a session with l from socket conn: a PING in a random
// packet, the WHOAREYOU, the handshake carrying the PING, and the PONG.
func (p *v5Peer) handshake(conn int, l *UDPv5) {
	p.t.Helper()
	ping := &v5wire.Ping{ReqID: []byte{1}, ENRSeq: p.node().Seq()}
	p.send(conn, l, ping, nil)
	w, _ := expectV5[*v5wire.Whoareyou](p, l, "handshake")
	w.Node = l.Self()
	p.send(conn, l, ping, w)
	expectV5[*v5wire.Pong](p, l, "handshake")
}

// request reads l's next request to p, doing the handshake first if l has
// no session with p.
func (p *v5Peer) request(l *UDPv5) v5wire.Packet {
	p.t.Helper()
	pkt, _ := p.read(l)
	if u, ok := pkt.(*v5wire.Unknown); ok {
		p.send(0, l, &v5wire.Whoareyou{Nonce: u.Nonce, Node: l.Self()}, nil)
		pkt, _ = p.read(l)
	}
	if pkt == nil {
		p.t.Fatal("no request from the listener")
	}
	return pkt
}

// signedNode returns the signed record of key i at ip:port.
func signedNode(i uint64, ip string, port int) *enode.Node {
	ln := enode.NewLocalNode(nil, cachedKey(i))
	ln.SetFallbackIP(netip.MustParseAddr(ip))
	ln.SetFallbackUDP(port)
	return ln.Node()
}

// keysAtDistance returns n key indices from first on whose IDs lie at log
// distance d from id.
func keysAtDistance(id enode.ID, d, n int, first uint64) []uint64 {
	var out []uint64
	for i := first; len(out) < n; i++ {
		if enode.LogDist(id, enode.PubkeyToIDV4(cachedKey(i).PubKey())) == d {
			out = append(out, i)
		}
	}
	return out
}

// addLive puts nodes into l's table as live entries.
func addLiveV5(l *UDPv5, nodes ...*enode.Node) {
	l.tab.call(func() {
		for _, n := range nodes {
			l.tab.add(n, addFound)
			if e := l.tab.bucket(n.ID()).find(n.ID()); e != nil {
				e.live = true
			}
		}
	})
}

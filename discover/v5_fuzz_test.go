package discover

import (
	"net/netip"
	"testing"

	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enr"
)

// FuzzV5HandlePacket feeds the listener's packet handling: raw is a
// datagram from a stranger, msg a message plaintext that, if it decodes,
// a peer with an established session sends, so that the handlers see
// every message v5wire accepts (odd request IDs, distances, totals,
// records). Nothing may panic, and the listener must keep answering.
func FuzzV5HandlePacket(f *testing.F) {
	tn := newTestNet(f)
	l := tn.listenV5(1, "127.0.0.1:30303", Config{})
	p := tn.v5peer(2, "127.0.0.2:30303")
	p.handshake(0, l)
	stranger := netip.MustParseAddrPort("127.0.0.3:30303")

	handle := func(from netip.AddrPort, b []byte) {
		done := make(chan struct{})
		if !l.post(func() { l.disp.handlePacket(from, b); close(done) }) {
			f.Fatal("listener closed")
		}
		<-done
	}
	add := func(raw []byte, msg v5wire.Packet) {
		pt, err := v5wire.AppendMessage(nil, msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, pt)
	}
	random, _, _ := p.codec.Encode(l.Self().ID(), v5Addr(l).String(), &v5wire.Ping{ReqID: []byte{9}}, nil)
	random = append([]byte(nil), random...)
	add(random, &v5wire.Ping{ReqID: []byte{1}, ENRSeq: 5})
	add(nil, &v5wire.Findnode{ReqID: []byte{2}, Distances: []uint{0, 256, 255, 1000}})
	add(nil, &v5wire.TalkRequest{ReqID: []byte{3}, Protocol: "x", Message: []byte("y")})
	add(nil, &v5wire.Nodes{ReqID: []byte{4}, Total: 3, Records: []*enr.Record{p.node().Record()}})
	add(nil, &v5wire.Pong{ReqID: []byte{5}, ToIP: netip.MustParseAddr("127.0.0.1"), ToPort: 1})
	add(nil, &v5wire.TalkResponse{ReqID: []byte{6}})

	f.Fuzz(func(t *testing.T, raw, msg []byte) {
		if len(raw) > 0 {
			handle(stranger, raw)
		}
		pkt, err := v5wire.DecodeMessage(msg)
		if err != nil {
			return
		}
		b, _, err := p.codec.Encode(l.Self().ID(), v5Addr(l).String(), pkt, nil)
		if err != nil {
			return
		}
		handle(p.conns[0].LocalAddrPort(), append([]byte(nil), b...))
	})
}

package v5wire_test

import (
	"fmt"
	"net/netip"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enode"
)

// peer is a node with its codec, as the discv5 protocol would hold it.
type peer struct {
	ln    *enode.LocalNode
	codec *v5wire.Codec
	addr  string
}

func newPeer(addr string) *peer {
	key, _ := crypto.GenerateKey()
	ln := enode.NewLocalNode(nil, key)
	ap := netip.MustParseAddrPort(addr)
	ln.SetStaticIP(ap.Addr())
	ln.SetFallbackUDP(int(ap.Port()))
	store := v5wire.NewSessionCache(v5wire.DefaultSessionCacheSize, nil)
	return &peer{ln: ln, codec: v5wire.NewCodec(ln, key, store), addr: addr}
}

// The handshake of discv5-theory.md "Handshake Steps", as the protocol drives
// it with Encode and Decode. Errors are ignored for brevity.
func Example_handshake() {
	a, b := newPeer("127.0.0.1:30301"), newPeer("127.0.0.1:30302")
	ping := &v5wire.Ping{ReqID: []byte{1}, ENRSeq: a.ln.Node().Seq()}

	// A has no session with B: Encode sends random content.
	pkt, nonce, _ := a.codec.Encode(b.ln.ID(), b.addr, ping, nil)
	_, _, p, _ := b.codec.Decode(pkt, a.addr)
	fmt.Println("B got", p.Name())

	// B cannot decrypt and challenges A, referring to the packet's nonce.
	challenge := &v5wire.Whoareyou{Nonce: p.(*v5wire.Unknown).Nonce}
	pkt, _, _ = b.codec.Encode(a.ln.ID(), a.addr, challenge, nil)
	_, _, p, _ = a.codec.Decode(pkt, b.addr)
	w := p.(*v5wire.Whoareyou)
	fmt.Println("A got", p.Name(), "for its packet:", w.Nonce == nonce)

	// A re-sends the request in a handshake packet.
	w.Node = b.ln.Node()
	pkt, _, _ = a.codec.Encode(b.ln.ID(), b.addr, ping, w)
	src, node, p, _ := b.codec.Decode(pkt, a.addr)
	fmt.Println("B got", p.Name(), "from A:", src == a.ln.ID(), "with A's record:", node.Seq() == a.ln.Node().Seq())

	// Both sides now have a session.
	pong := &v5wire.Pong{ReqID: ping.ReqID, ENRSeq: b.ln.Node().Seq(), ToIP: netip.MustParseAddr("127.0.0.1"), ToPort: 30301}
	pkt, _, _ = b.codec.Encode(a.ln.ID(), a.addr, pong, nil)
	_, _, p, _ = a.codec.Decode(pkt, b.addr)
	fmt.Println("A got", p.Name())
	// Output:
	// B got UNKNOWN/v5
	// A got WHOAREYOU/v5 for its packet: true
	// B got PING/v5 from A: true with A's record: true
	// A got PONG/v5
}

package p2pinterop

// The two libraries' servers behind the node interface.

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"

	glog "github.com/ethereum/go-ethereum/log"
	gp2p "github.com/ethereum/go-ethereum/p2p"
	genode "github.com/ethereum/go-ethereum/p2p/enode"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
)

type trellisNode struct {
	k     key
	srv   *p2p.Server
	ph    *protoHost
	ev    chan event
	log   chan logLine
	wire  wireCounter
	sub   p2p.Subscription
	quit  chan struct{}
	fwdWG sync.WaitGroup
}

// countingNetwork is TCP with counted connections.
type countingNetwork struct {
	p2p.TCPNetwork
	c *wireCounter
}

func (n *countingNetwork) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := n.TCPNetwork.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{c, n.c}, nil
}

func (n *countingNetwork) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	l, err := n.TCPNetwork.Listen(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingListener{l, n.c}, nil
}

type countingListener struct {
	net.Listener
	c *wireCounter
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{c, l.c}, nil
}

func trellisProto(ph *protoHost, name string) p2p.Protocol {
	return p2p.Protocol{Name: name, Version: protoVersion, Length: protoLength, Run: func(p *p2p.Peer, rw p2p.MsgReadWriter) error {
		send := func(code uint64, payload []byte) error { return rw.WriteMsg(p2p.NewMsg(code, payload)) }
		read := func() (uint64, []byte, error) {
			msg, err := rw.ReadMsg()
			if err != nil {
				return 0, nil, err
			}
			b, err := io.ReadAll(msg.Payload)
			return msg.Code, b, err
		}
		return ph.run(p.ID(), send, read)
	}}
}

func newTrellis(t testing.TB, o nodeOpts) *trellisNode {
	t.Helper()
	o = o.withDefaults()
	n := &trellisNode{
		k:    o.nodeKey(t),
		ph:   newProtoHost(),
		ev:   make(chan event, 4096),
		log:  make(chan logLine, 1024),
		quit: make(chan struct{}),
	}
	var protos []p2p.Protocol
	switch {
	case o.tproto != nil:
		protos = append(protos, *o.tproto)
	case o.proto != "-":
		protos = append(protos, trellisProto(n.ph, o.proto))
	}
	n.srv = &p2p.Server{Config: p2p.Config{
		PrivateKey:      n.k.t,
		Name:            "trellis/interop",
		MaxPeers:        o.maxPeers,
		NoDial:          o.noDial,
		NoDiscovery:     true,
		ListenAddr:      "127.0.0.1:0",
		Protocols:       protos,
		Network:         &countingNetwork{c: &n.wire},
		TrustedNodes:    trellisNodes(o.trusted),
		EnableMsgEvents: o.msgEvents,
		Logger:          slog.New(&logCapture{n.log}),
	}}
	if o.quiet {
		n.srv.Network = nil
		n.srv.Logger = slog.New(slog.DiscardHandler)
	}
	ch := make(chan *p2p.PeerEvent)
	n.sub = n.srv.SubscribeEvents(ch)
	if o.noEvents {
		n.sub.Unsubscribe()
	}
	n.fwdWG.Add(1)
	go func() {
		defer n.fwdWG.Done()
		for {
			select {
			case e := <-ch:
				ev := event{typ: string(e.Type), peer: e.Peer, err: e.Error}
				if e.MsgCode != nil {
					ev.code, ev.size = *e.MsgCode, *e.MsgSize
				}
				n.ev <- ev
			case <-n.quit:
				return
			}
		}
	}()
	if err := n.srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	return n
}

func (n *trellisNode) impl() string         { return "trellis" }
func (n *trellisNode) key() key             { return n.k }
func (n *trellisNode) port() int            { return n.srv.Addr().(*net.TCPAddr).Port }
func (n *trellisNode) url() string          { return n.tnode().URLv4() }
func (n *trellisNode) peerCount() int       { return n.srv.PeerCount() }
func (n *trellisNode) proto() *protoHost    { return n.ph }
func (n *trellisNode) events() <-chan event { return n.ev }
func (n *trellisNode) logs() <-chan logLine { return n.log }
func (n *trellisNode) dial(o node)          { n.srv.AddPeer(tnode(o)) }
func (n *trellisNode) remove(o node)        { n.srv.RemovePeer(tnode(o)) }
func (n *trellisNode) trust(o node)         { n.srv.AddTrustedPeer(tnode(o)) }
func (n *trellisNode) tnode() *enode.Node   { return tnode(n) }

func (n *trellisNode) peer(o node) *p2p.Peer {
	for _, p := range n.srv.Peers() {
		if p.ID() == o.key().id() {
			return p
		}
	}
	return nil
}

func (n *trellisNode) disconnect(o node) {
	if p := n.peer(o); p != nil {
		p.Disconnect(p2p.DiscRequested)
	}
}

func (n *trellisNode) isTrusted(o node) bool {
	p := n.peer(o)
	return p != nil && p.Trusted()
}

func (n *trellisNode) stop() {
	n.srv.Stop()
	n.sub.Unsubscribe()
	select {
	case <-n.quit:
	default:
		close(n.quit)
	}
	n.fwdWG.Wait()
}

// tnode is n as a Trellis enode.Node.
func tnode(n node) *enode.Node {
	return enode.NewV4(n.key().pub(), netip.AddrFrom4([4]byte{127, 0, 0, 1}), n.port(), 0)
}

// gnode is n as a go-ethereum enode.Node.
func gnode(n node) *genode.Node {
	return genode.NewV4(&n.key().g.PublicKey, net.IPv4(127, 0, 0, 1), n.port(), 0)
}

func trellisNodes(keys []key) []*enode.Node {
	var ns []*enode.Node
	for _, k := range keys {
		ns = append(ns, enode.NewV4(k.pub(), netip.Addr{}, 0, 0))
	}
	return ns
}

type gethNode struct {
	k     key
	srv   *gp2p.Server
	ph    *protoHost
	ev    chan event
	log   chan logLine
	wire  wireCounter // connections it dials
	quit  chan struct{}
	fwdWG sync.WaitGroup
	once  sync.Once
}

// countingDialer is go-ethereum's NodeDialer over TCP with counted
// connections.
type countingDialer struct{ c *wireCounter }

func (d countingDialer) Dial(ctx context.Context, n *genode.Node) (net.Conn, error) {
	addr, _ := n.TCPEndpoint()
	var nd net.Dialer
	c, err := nd.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, err
	}
	return &countingConn{c, d.c}, nil
}

func gethProto(ph *protoHost, name string) gp2p.Protocol {
	return gp2p.Protocol{Name: name, Version: protoVersion, Length: protoLength, Run: func(p *gp2p.Peer, rw gp2p.MsgReadWriter) error {
		send := func(code uint64, payload []byte) error {
			return rw.WriteMsg(gp2p.Msg{Code: code, Size: uint32(len(payload)), Payload: bytes.NewReader(payload)})
		}
		read := func() (uint64, []byte, error) {
			msg, err := rw.ReadMsg()
			if err != nil {
				return 0, nil, err
			}
			b, err := io.ReadAll(msg.Payload)
			return msg.Code, b, err
		}
		return ph.run(p.ID(), send, read)
	}}
}

func newGeth(t testing.TB, o nodeOpts) *gethNode {
	t.Helper()
	o = o.withDefaults()
	n := &gethNode{
		k:    o.nodeKey(t),
		ph:   newProtoHost(),
		ev:   make(chan event, 4096),
		log:  make(chan logLine, 1024),
		quit: make(chan struct{}),
	}
	var protos []gp2p.Protocol
	switch {
	case o.gproto != nil:
		protos = append(protos, *o.gproto)
	case o.proto != "-":
		protos = append(protos, gethProto(n.ph, o.proto))
	}
	n.srv = &gp2p.Server{Config: gp2p.Config{
		PrivateKey:      n.k.g,
		Name:            "geth/interop",
		MaxPeers:        o.maxPeers,
		NoDial:          o.noDial,
		NoDiscovery:     true,
		ListenAddr:      "127.0.0.1:0",
		Protocols:       protos,
		Dialer:          countingDialer{&n.wire},
		TrustedNodes:    gethNodes(o.trusted),
		EnableMsgEvents: o.msgEvents,
		Logger:          glog.NewLogger(&logCapture{n.log}),
	}}
	if o.quiet {
		n.srv.Dialer = nil
		n.srv.Logger = glog.NewLogger(glog.DiscardHandler())
	}
	ch := make(chan *gp2p.PeerEvent)
	sub := n.srv.SubscribeEvents(ch)
	if o.noEvents {
		sub.Unsubscribe()
	}
	n.fwdWG.Add(1)
	go func() {
		defer n.fwdWG.Done()
		defer sub.Unsubscribe()
		for {
			select {
			case e := <-ch:
				ev := event{typ: string(e.Type), peer: e.Peer, err: e.Error}
				if e.MsgCode != nil {
					ev.code, ev.size = *e.MsgCode, *e.MsgSize
				}
				n.ev <- ev
			case <-n.quit:
				return
			}
		}
	}()
	if err := n.srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	return n
}

func (n *gethNode) impl() string { return "geth" }
func (n *gethNode) key() key     { return n.k }
func (n *gethNode) port() int {
	ap, err := netip.ParseAddrPort(n.srv.ListenAddr) // Start puts the bound address there
	if err != nil {
		panic(err)
	}
	return int(ap.Port())
}
func (n *gethNode) url() string          { return gnode(n).URLv4() }
func (n *gethNode) peerCount() int       { return n.srv.PeerCount() }
func (n *gethNode) proto() *protoHost    { return n.ph }
func (n *gethNode) events() <-chan event { return n.ev }
func (n *gethNode) logs() <-chan logLine { return n.log }
func (n *gethNode) dial(o node)          { n.srv.AddPeer(gnode(o)) }
func (n *gethNode) remove(o node)        { n.srv.RemovePeer(gnode(o)) }
func (n *gethNode) trust(o node)         { n.srv.AddTrustedPeer(gnode(o)) }

func (n *gethNode) peer(o node) *gp2p.Peer {
	for _, p := range n.srv.Peers() {
		if [32]byte(p.ID()) == o.key().id() {
			return p
		}
	}
	return nil
}

func (n *gethNode) disconnect(o node) {
	if p := n.peer(o); p != nil {
		p.Disconnect(gp2p.DiscRequested)
	}
}

func (n *gethNode) isTrusted(o node) bool {
	p := n.peer(o)
	return p != nil && p.Info().Network.Trusted
}

func (n *gethNode) stop() {
	n.once.Do(func() {
		n.srv.Stop()
		close(n.quit)
		n.fwdWG.Wait()
	})
}

func gethNodes(keys []key) []*genode.Node {
	var ns []*genode.Node
	for _, k := range keys {
		ns = append(ns, genode.NewV4(&k.g.PublicKey, nil, 0, 0))
	}
	return ns
}

// pair is a dialer and a listener of different libraries.
type pair struct {
	name string
	mk   func(t testing.TB, dialer, listener nodeOpts) (d, l node)
}

var directions = []pair{
	{"trellis-dials-geth", func(t testing.TB, do, lo nodeOpts) (node, node) { return newTrellis(t, do), newGeth(t, lo) }},
	{"geth-dials-trellis", func(t testing.TB, do, lo nodeOpts) (node, node) { return newGeth(t, do), newTrellis(t, lo) }},
}

// newLike makes another node of n's library.
func newLike(t testing.TB, n node, o nodeOpts) node {
	if n.impl() == "trellis" {
		return newTrellis(t, o)
	}
	return newGeth(t, o)
}

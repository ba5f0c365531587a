package p2pinterop

import (
	"net"
	"strconv"
	"testing"
	"time"

	grlpx "github.com/ethereum/go-ethereum/p2p/rlpx"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rlp"
)

// helloMsg is the Hello message (rlpx.md "Hello (0x00)"), for raw clients.
type helloMsg struct {
	Version    uint64
	Name       string
	Caps       []p2p.Cap
	ListenPort uint64
	ID         []byte
	Rest       []rlp.RawValue `rlp:"tail"`
}

func encodeHello(t testing.TB, k key, caps []p2p.Cap) []byte {
	t.Helper()
	if caps == nil {
		caps = []p2p.Cap{}
	}
	enc, err := rlp.EncodeToBytes(&helloMsg{Version: 5, Name: "raw", Caps: caps, ID: crypto.MarshalPubkey(k.pub())[1:]})
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// After two version-5 Hellos every message is snappy-compressed (EIP-706),
// including a Disconnect sent because the Hello showed no shared protocol.
// go-ethereum's rlpx.Conn, as go-ethereum uses it, must be able to read the
// reason Trellis sends.
//
// Regression test: p2p's Server.protoHandshake (as of commit 1d54a7a) sent
// Disconnect(useless peer), and Disconnect(unexpected identity) on a Hello
// key mismatch, before calling SetSnappy, so the reason left uncompressed
// and go-ethereum reported "snappy: corrupt input" instead of "useless peer".
func TestTrellisUselessPeerDisconnectCompressed(t *testing.T) {
	srv := newTrellis(t, nodeOpts{})
	k := newKey(t)
	fd, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.port())), waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	fd.SetDeadline(time.Now().Add(waitTimeout))
	c := grlpx.NewConn(fd, &srv.k.g.PublicKey)
	if _, err := c.Handshake(k.g); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(0, encodeHello(t, k, nil)); err != nil {
		t.Fatal(err)
	}
	code, data, _, err := c.Read()
	if err != nil || code != 0 {
		t.Fatalf("reading Hello: code %d, %v", code, err)
	}
	var h helloMsg
	if err := rlp.DecodeBytes(data, &h); err != nil || h.Version < 5 {
		t.Fatalf("Hello %+v, %v", h, err)
	}
	c.SetSnappy(true) // what go-ethereum does after two version-5 Hellos
	code, data, _, err = c.Read()
	if err != nil {
		t.Fatalf("reading the disconnect reason as go-ethereum does: %v", err)
	}
	if code != 1 {
		t.Fatalf("got message code %d, want Disconnect (1)", code)
	}
	var reason []uint
	if err := rlp.DecodeBytes(data, &reason); err != nil || len(reason) != 1 || p2p.DiscReason(reason[0]) != p2p.DiscUselessPeer {
		t.Fatalf("disconnect payload %x (%v), want [useless peer]", data, err)
	}
}

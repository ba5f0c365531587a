package discv4interop

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	gv4wire "github.com/ethereum/go-ethereum/p2p/discover/v4wire"
	grlp "github.com/ethereum/go-ethereum/rlp"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/discover/v4wire"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/netutil"
	"github.com/trellis-p2p/trellis/rlp"
)

// canon is a packet in a form both libraries convert to, for comparison.
type canon struct {
	Kind       byte
	Version    uint64
	From, To   string // "ip udp tcp"
	Expiration uint64
	ENRSeq     uint64
	Token      string
	Target     string
	Nodes      []string
	Record     string
	Rest       []string
}

func ep(ip netip.Addr, udp, tcp uint16) string { return fmt.Sprintf("%v %d %d", ip, udp, tcp) }

func rest[T ~[]byte](vals []T) []string {
	var out []string
	for _, v := range vals {
		out = append(out, fmt.Sprintf("%x", []byte(v)))
	}
	return out
}

func fromTrellis(p v4wire.Packet) canon {
	c := canon{Kind: p.Kind()}
	switch p := p.(type) {
	case *v4wire.Ping:
		c.Version, c.Expiration, c.ENRSeq, c.Rest = p.Version, p.Expiration, p.ENRSeq, rest(p.Rest)
		c.From, c.To = ep(p.From.IP, p.From.UDP, p.From.TCP), ep(p.To.IP, p.To.UDP, p.To.TCP)
	case *v4wire.Pong:
		c.To, c.Token, c.Expiration, c.ENRSeq, c.Rest = ep(p.To.IP, p.To.UDP, p.To.TCP), fmt.Sprintf("%x", p.ReplyTok), p.Expiration, p.ENRSeq, rest(p.Rest)
	case *v4wire.FindNode:
		c.Target, c.Expiration, c.Rest = fmt.Sprintf("%x", p.Target), p.Expiration, rest(p.Rest)
	case *v4wire.Neighbors:
		for _, n := range p.Nodes {
			c.Nodes = append(c.Nodes, ep(n.IP, n.UDP, n.TCP)+fmt.Sprintf(" %x", n.ID))
		}
		c.Expiration, c.Rest = p.Expiration, rest(p.Rest)
	case *v4wire.ENRRequest:
		c.Expiration, c.Rest = p.Expiration, rest(p.Rest)
	case *v4wire.ENRResponse:
		b, _ := p.Record.MarshalBinary()
		c.Token, c.Record, c.Rest = fmt.Sprintf("%x", p.ReplyTok), fmt.Sprintf("%x", b), rest(p.Rest)
	}
	return c
}

func gip(ip net.IP) netip.Addr {
	if len(ip) != 4 && len(ip) != 16 {
		return netip.Addr{}
	}
	return netutil.IPToAddr(ip)
}

func fromGeth(p gv4wire.Packet) canon {
	c := canon{Kind: p.Kind()}
	switch p := p.(type) {
	case *gv4wire.Ping:
		c.Version, c.Expiration, c.ENRSeq, c.Rest = uint64(p.Version), p.Expiration, p.ENRSeq, rest(p.Rest)
		c.From, c.To = ep(gip(p.From.IP), p.From.UDP, p.From.TCP), ep(gip(p.To.IP), p.To.UDP, p.To.TCP)
	case *gv4wire.Pong:
		c.To, c.Token, c.Expiration, c.ENRSeq, c.Rest = ep(gip(p.To.IP), p.To.UDP, p.To.TCP), fmt.Sprintf("%x", p.ReplyTok), p.Expiration, p.ENRSeq, rest(p.Rest)
	case *gv4wire.Findnode:
		c.Target, c.Expiration, c.Rest = fmt.Sprintf("%x", p.Target), p.Expiration, rest(p.Rest)
	case *gv4wire.Neighbors:
		for _, n := range p.Nodes {
			c.Nodes = append(c.Nodes, ep(gip(n.IP), n.UDP, n.TCP)+fmt.Sprintf(" %x", n.ID))
		}
		c.Expiration, c.Rest = p.Expiration, rest(p.Rest)
	case *gv4wire.ENRRequest:
		c.Expiration, c.Rest = p.Expiration, rest(p.Rest)
	case *gv4wire.ENRResponse:
		b, _ := grlp.EncodeToBytes(&p.Record)
		c.Token, c.Record, c.Rest = fmt.Sprintf("%x", p.ReplyTok), fmt.Sprintf("%x", b), rest(p.Rest)
	}
	return c
}

func randIP(r *rand.Rand) netip.Addr {
	if r.IntN(2) == 0 {
		return netip.AddrFrom4([4]byte{byte(r.UintN(256)), byte(r.UintN(256)), byte(r.UintN(256)), byte(r.UintN(256))})
	}
	var b [16]byte
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	b[0] = 0x20 // not 4in6
	return netip.AddrFrom16(b)
}

func randEndpoint(r *rand.Rand) v4wire.Endpoint {
	return v4wire.Endpoint{IP: randIP(r), UDP: uint16(r.UintN(1 << 16)), TCP: uint16(r.UintN(1 << 16))}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// randPacket returns a random packet of the given type.
func randPacket(r *rand.Rand, kind byte, key *crypto.PrivateKey) v4wire.Packet {
	exp := r.Uint64() >> r.UintN(64)
	var extra []rlp.RawValue
	if r.IntN(3) == 0 {
		extra = []rlp.RawValue{{0x05}, {0x83, 1, 2, 3}}
	}
	switch kind {
	case v4wire.PingPacket:
		return &v4wire.Ping{Version: 4, From: randEndpoint(r), To: randEndpoint(r), Expiration: exp, ENRSeq: r.Uint64() >> r.UintN(64), Rest: extra}
	case v4wire.PongPacket:
		return &v4wire.Pong{To: randEndpoint(r), ReplyTok: randBytes(r, 32), Expiration: exp, ENRSeq: r.Uint64() >> r.UintN(64), Rest: extra}
	case v4wire.FindNodePacket:
		var target v4wire.Pubkey
		copy(target[:], randBytes(r, 64))
		return &v4wire.FindNode{Target: target, Expiration: exp, Rest: extra}
	case v4wire.NeighborsPacket:
		p := &v4wire.Neighbors{Expiration: exp, Rest: extra}
		for range r.IntN(v4wire.MaxNeighbors + 1) {
			e := randEndpoint(r)
			var id v4wire.Pubkey
			copy(id[:], randBytes(r, 64))
			p.Nodes = append(p.Nodes, v4wire.Node{IP: e.IP, UDP: e.UDP, TCP: e.TCP, ID: id})
		}
		return p
	case v4wire.ENRRequestPacket:
		return &v4wire.ENRRequest{Expiration: exp, Rest: extra}
	default:
		var rec enr.Record
		rec.Set(enr.IPv4(netip.AddrFrom4([4]byte{10, 0, 0, byte(r.UintN(256))})))
		rec.Set(enr.UDP(r.UintN(1 << 16)))
		rec.SetSeq(r.Uint64() >> 1)
		if err := enr.SignV4(&rec, key); err != nil {
			panic(err)
		}
		return &v4wire.ENRResponse{ReplyTok: randBytes(r, 32), Record: rec, Rest: extra}
	}
}

// TestWireBothWays encodes random packets of every type with each library
// and decodes them with the other: values, hash and sender must agree.
func TestWireBothWays(t *testing.T) {
	key, gkey := newKey(t)
	wantID := enode.PubkeyToIDV4(key.PubKey())
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 300 {
		kind := byte(1 + i%6)
		p := randPacket(r, kind, key)

		// Trellis encodes, go-ethereum decodes.
		b, hash, err := v4wire.Encode(key, p)
		if err != nil {
			t.Fatal(err)
		}
		gp, gfrom, ghash, err := gv4wire.Decode(b)
		if err != nil {
			t.Fatalf("go-ethereum rejects %s: %v\n%+v", p.Name(), err, p)
		}
		if !bytes.Equal(ghash, hash[:]) || enode.ID(gcrypto.Keccak256Hash(gfrom[:])) != wantID {
			t.Fatalf("%s: hash or sender differ", p.Name())
		}
		if a, b := fromTrellis(p), fromGeth(gp); fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("%s: go-ethereum decoded\n%+v\nwant\n%+v", p.Name(), b, a)
		}

		// go-ethereum re-encodes what it decoded, Trellis decodes.
		gb, _, err := gv4wire.Encode(gkey, gp)
		if err != nil {
			t.Fatal(err)
		}
		tp, tfrom, _, err := v4wire.Decode(gb)
		if err != nil {
			t.Fatalf("Trellis rejects go-ethereum's %s: %v", gp.Name(), err)
		}
		if tfrom.ID() != wantID {
			t.Fatalf("%s: sender differs", p.Name())
		}
		if a, b := fromTrellis(tp), fromGeth(gp); fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("%s: Trellis decoded\n%+v\nwant\n%+v", p.Name(), a, b)
		}
	}
}

// FuzzDecodeDiff signs arbitrary packet-data and decodes it with both
// libraries. Whatever go-ethereum accepts, Trellis must accept with the same
// values. Trellis accepts more (EIP-8 leniency: a non-integer where the
// EIP-868 enr-seq goes, extra elements inside endpoints and nodes), so the
// converse is not required.
func FuzzDecodeDiff(f *testing.F) {
	key, _ := newKey(f)
	r := rand.New(rand.NewPCG(1, 2))
	for kind := byte(1); kind <= 6; kind++ {
		b, _, _ := v4wire.Encode(key, randPacket(r, kind, key))
		f.Add(b[v4wire.HeadSize:])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > v4wire.MaxPacketSize-v4wire.HeadSize {
			return
		}
		b := append(make([]byte, v4wire.HeadSize), data...)
		digest := crypto.Keccak256(b[v4wire.HeadSize:])
		sig, err := crypto.Sign(digest, key)
		if err != nil {
			t.Fatal(err)
		}
		copy(b[v4wire.HashSize:], sig)
		h := crypto.Keccak256Hash(b[v4wire.HashSize:])
		copy(b, h[:])

		gp, _, _, gerr := gv4wire.Decode(b)
		tp, _, _, terr := v4wire.Decode(b)
		if gerr != nil {
			return
		}
		if terr != nil {
			t.Fatalf("go-ethereum accepts %+v, Trellis rejects: %v", gp, terr)
		}
		if a, b := fromTrellis(tp), fromGeth(gp); fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("decoded differently:\ntrellis %+v\ngeth    %+v", a, b)
		}
	})
}

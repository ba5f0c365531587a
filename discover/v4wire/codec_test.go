package v4wire

import (
	"bytes"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/rlp"
)

func testKey(t testing.TB) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.HexToPrivateKey("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testRecord(t testing.TB, key *crypto.PrivateKey) enr.Record {
	t.Helper()
	var r enr.Record
	r.Set(enr.IPv4(netip.MustParseAddr("10.0.0.1")))
	r.Set(enr.UDP(30303))
	if err := enr.SignV4(&r, key); err != nil {
		t.Fatal(err)
	}
	return r
}

// roundTripPackets is one of each packet type, with and without the
// optional and extra fields.
func roundTripPackets(t testing.TB) []Packet {
	key := testKey(t)
	var target Pubkey
	copy(target[:], bytes.Repeat([]byte{0xab}, 64))
	ep4 := Endpoint{netip.MustParseAddr("10.1.2.3"), 30303, 30304}
	ep6 := Endpoint{netip.MustParseAddr("2001:db8::1"), 65535, 0}
	return []Packet{
		&Ping{Version: 4, From: ep4, To: ep6, Expiration: 1700000000},
		&Ping{Version: 4, From: Endpoint{}, To: ep4, Expiration: math.MaxUint64, ENRSeq: 77},
		&Ping{Version: 4, From: ep4, To: ep4, Expiration: 1, Rest: []rlp.RawValue{{0x05}, {0xc0}}},
		&Pong{To: ep4, ReplyTok: bytes.Repeat([]byte{1}, 32), Expiration: 1700000000},
		&Pong{To: ep6, ReplyTok: bytes.Repeat([]byte{2}, 32), Expiration: 5, ENRSeq: 1 << 40},
		&FindNode{Target: target, Expiration: 1700000000},
		&Neighbors{Expiration: 1700000000},
		&Neighbors{Nodes: []Node{{IP: ep4.IP, UDP: 1, TCP: 2, ID: target}, {IP: ep6.IP, UDP: 3, ID: target}}, Expiration: 9},
		&ENRRequest{Expiration: 1700000000},
		&ENRResponse{ReplyTok: bytes.Repeat([]byte{3}, 32), Record: testRecord(t, key)},
	}
}

func TestRoundTrip(t *testing.T) {
	key := testKey(t)
	wantKey := EncodePubkey(key.PubKey())
	for _, p := range roundTripPackets(t) {
		packet, hash, err := Encode(key, p)
		if err != nil {
			t.Fatalf("%s: %v", p.Name(), err)
		}
		got, from, ghash, err := Decode(packet)
		if err != nil {
			t.Fatalf("%s: decode: %v", p.Name(), err)
		}
		if from != wantKey || ghash != hash {
			t.Errorf("%s: sender or hash mismatch", p.Name())
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", p.Name(), got, p)
		}

		// The null scheme carries the same data.
		npacket, nhash, err := EncodeNull(wantKey, p)
		if err != nil {
			t.Fatal(err)
		}
		ngot, nfrom, nh, err := DecodeNull(npacket)
		if err != nil || nfrom != wantKey || nh != nhash || !reflect.DeepEqual(ngot, p) {
			t.Errorf("%s: null round trip: %v", p.Name(), err)
		}
		if !bytes.Equal(npacket[HeadSize:], packet[HeadSize:]) {
			t.Errorf("%s: null and v4 packet-data differ", p.Name())
		}
		// Read as a real signature, the null one yields some other key
		// (or none).
		if _, from, _, err := Decode(npacket); err == nil && from == wantKey {
			t.Errorf("%s: Decode attributed a null-signed packet to its key", p.Name())
		}
	}
}

// An IPv4 address given in 4in6 form goes on the wire as 4 bytes.
func TestEndpointUnmapsIPv4(t *testing.T) {
	e := NewEndpoint(netip.MustParseAddrPort("[::ffff:10.0.0.1]:30303"), 5)
	if !e.IP.Is4() || e.UDP != 30303 || e.TCP != 5 {
		t.Fatalf("NewEndpoint = %+v", e)
	}
	e.IP = netip.MustParseAddr("::ffff:10.0.0.1")
	packet, _, err := EncodeNull(Pubkey{}, &Ping{To: e})
	if err != nil {
		t.Fatal(err)
	}
	p, _, _, err := DecodeNull(packet)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.(*Ping).To.IP; got != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("decoded IP %v", got)
	}
}

func maxNode() Node {
	var id Pubkey
	for i := range id {
		id[i] = 0xff
	}
	return Node{IP: netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), UDP: math.MaxUint16, TCP: math.MaxUint16, ID: id}
}

// MaxNeighbors of the largest entries fit in a packet; one more does not.
func TestMaxNeighbors(t *testing.T) {
	key := testKey(t)
	p := &Neighbors{Expiration: math.MaxUint64}
	for range MaxNeighbors {
		p.Nodes = append(p.Nodes, maxNode())
	}
	packet, _, err := Encode(key, p)
	if err != nil {
		t.Fatalf("%d nodes: %v", MaxNeighbors, err)
	}
	if len(packet) != 1205 {
		t.Errorf("size %d, doc says 1205", len(packet))
	}
	p.Nodes = append(p.Nodes, maxNode())
	if _, _, err := Encode(key, p); !errors.Is(err, ErrPacketTooBig) {
		t.Fatalf("%d nodes: err %v, want ErrPacketTooBig", MaxNeighbors+1, err)
	}
}

func TestExpired(t *testing.T) {
	now := time.Unix(1700000000, 500)
	tests := []struct {
		ts   uint64
		want bool
	}{
		{1700000001, false},
		{1700000000, true}, // the second has begun
		{1699999999, true},
		{0, true},
		{math.MaxInt64, false},
		// -t as uint64 (the devp2p conformance test's "past expiration").
		{math.MaxUint64 - 1700000019, true},
		{math.MaxUint64, true},
	}
	for _, tt := range tests {
		if got := Expired(tt.ts, now); got != tt.want {
			t.Errorf("Expired(%d) = %v, want %v", tt.ts, got, tt.want)
		}
	}
}

func TestPubkey(t *testing.T) {
	key := testKey(t)
	k := EncodePubkey(key.PubKey())
	pub, err := DecodePubkey(k)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.IsEqual(key.PubKey()) {
		t.Fatal("DecodePubkey(EncodePubkey(k)) != k")
	}
	if got, want := k.ID(), crypto.Keccak256Hash(k[:]); got != want {
		t.Fatal("ID mismatch")
	}
	k[63] ^= 1
	if _, err := DecodePubkey(k); !errors.Is(err, crypto.ErrInvalidPubkey) {
		t.Fatalf("off-curve key: err %v", err)
	}
}

// Other Packet types are encoded with package rlp, so tests can send
// packets the six types cannot express, like the conformance suite's ping
// with junk fields.
type junkPing struct {
	Version    uint
	From, To   Endpoint
	Expiration uint64
	Junk1      uint
	Junk2      []byte
}

func (*junkPing) Kind() byte   { return PingPacket }
func (*junkPing) Name() string { return "PING/junk" }

func TestEncodeOtherType(t *testing.T) {
	ep := Endpoint{netip.MustParseAddr("10.0.0.1"), 1, 2}
	packet, _, err := EncodeNull(Pubkey{}, &junkPing{4, ep, ep, 1700000000, 42, []byte{9, 8, 7}})
	if err != nil {
		t.Fatal(err)
	}
	p, _, _, err := DecodeNull(packet)
	if err != nil {
		t.Fatal(err)
	}
	want := &Ping{Version: 4, From: ep, To: ep, Expiration: 1700000000, ENRSeq: 42, Rest: []rlp.RawValue{{0x83, 9, 8, 7}}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %+v\nwant %+v", p, want)
	}
}

// sealed builds a null-signed packet around arbitrary packet-data.
func sealed(ptype byte, data []byte) []byte {
	b := append(make([]byte, HeadSize), ptype)
	b = append(b, data...)
	b, _, err := seal(b, func([]byte) ([]byte, error) { return make([]byte, SignatureSize), nil })
	if err != nil {
		panic(err)
	}
	return b
}

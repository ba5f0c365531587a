package enode

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enr"
)

// The EIP-778 example record (enr/testdata/eip778.json).
const (
	eip778Text   = "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8"
	eip778NodeID = "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7"
	eip778Key    = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291"
)

func testKey(t testing.TB) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.HexToPrivateKey(eip778Key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signed(t testing.TB, key *crypto.PrivateKey, entries ...enr.Entry) *enr.Record {
	t.Helper()
	var r enr.Record
	for _, e := range entries {
		r.Set(e)
	}
	if err := enr.SignV4(&r, key); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestParseEIP778(t *testing.T) {
	n, err := Parse(eip778Text)
	if err != nil {
		t.Fatal(err)
	}
	if n.ID() != HexID(eip778NodeID) {
		t.Errorf("ID %v", n.ID())
	}
	if n.Seq() != 1 || n.IPAddr() != netip.MustParseAddr("127.0.0.1") || n.UDP() != 30303 || n.TCP() != 0 {
		t.Errorf("seq %d ip %v udp %d tcp %d", n.Seq(), n.IPAddr(), n.UDP(), n.TCP())
	}
	if !n.Pubkey().IsEqual(testKey(t).PubKey()) {
		t.Error("wrong public key")
	}
	if n.String() != eip778Text {
		t.Errorf("String = %s", n.String())
	}
	if ep, ok := n.UDPEndpoint(); !ok || ep != netip.MustParseAddrPort("127.0.0.1:30303") {
		t.Errorf("UDPEndpoint = %v, %v", ep, ok)
	}
	if _, ok := n.TCPEndpoint(); ok {
		t.Error("TCPEndpoint without tcp port")
	}
	if err := n.ValidateComplete(); err != nil {
		t.Error(err)
	}
	const wantURL = "enode://ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd31387574077f301b421bc84df7266c44e9e6d569fc56be00812904767bf5ccd1fc7f@127.0.0.1:0?discport=30303"
	if n.URLv4() != wantURL {
		t.Errorf("URLv4 = %s", n.URLv4())
	}
	var back Node
	txt, _ := n.MarshalText()
	if err := back.UnmarshalText(txt); err != nil || back.ID() != n.ID() {
		t.Errorf("text round trip: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	key := testKey(t)
	good := signed(t, key, enr.UDP(1))
	var unsigned enr.Record
	unsigned.Set(enr.UDP(1))
	tampered := *good
	tampered.Set(enr.UDP(2)) // drops the signature
	nullRec := new(enr.Record)
	SignNull(nullRec, ID{1})

	tests := []struct {
		name string
		r    *enr.Record
		want error
	}{
		{"unsigned", &unsigned, enr.ErrUnsigned},
		{"changed after signing", &tampered, enr.ErrUnsigned},
		{"null scheme", nullRec, enr.ErrUnknownScheme},
	}
	for _, tt := range tests {
		if _, err := New(tt.r); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// Bad signature bytes: take a valid record's text and flip a bit of the
	// signature.
	raw, _ := good.MarshalBinary()
	raw[5] ^= 1
	var bad enr.Record
	if err := bad.UnmarshalBinary(raw); err != nil {
		t.Fatal(err)
	}
	if _, err := New(&bad); !errors.Is(err, enr.ErrInvalidSig) {
		t.Errorf("flipped signature bit: %v", err)
	}
}

func TestEndpointSelection(t *testing.T) {
	ip := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	tests := []struct {
		name     string
		entries  []enr.Entry
		wantIP   netip.Addr
		tcp, udp int
	}{
		{"nothing", nil, netip.Addr{}, 0, 0},
		{"ports only", []enr.Entry{enr.TCP(1), enr.UDP(2)}, netip.Addr{}, 1, 2},
		{"ipv4", []enr.Entry{enr.IPv4(ip("1.2.3.4")), enr.TCP(1), enr.UDP(2)}, ip("1.2.3.4"), 1, 2},
		{"ipv6 uses tcp6/udp6", []enr.Entry{enr.IPv6(ip("2001:db8::1")), enr.TCP(1), enr.UDP(2), enr.TCP6(3), enr.UDP6(4)}, ip("2001:db8::1"), 3, 4},
		{"ipv6 falls back to tcp/udp", []enr.Entry{enr.IPv6(ip("2001:db8::1")), enr.TCP(1), enr.UDP(2)}, ip("2001:db8::1"), 1, 2},
		{"both global: ipv4", []enr.Entry{enr.IPv4(ip("1.2.3.4")), enr.IPv6(ip("2001:db8::1")), enr.UDP(2), enr.UDP6(4)}, ip("1.2.3.4"), 0, 2},
		{"private ipv4, global ipv6", []enr.Entry{enr.IPv4(ip("192.168.1.1")), enr.IPv6(ip("2001:db8::1")), enr.UDP(2), enr.UDP6(4)}, ip("2001:db8::1"), 0, 4},
		{"loopback ipv6, private ipv4", []enr.Entry{enr.IPv4(ip("10.0.0.1")), enr.IPv6(ip("::1")), enr.UDP(2)}, ip("10.0.0.1"), 0, 2},
		{"multicast ipv4 ignored", []enr.Entry{enr.IPv4(ip("224.0.0.1")), enr.IPv6(ip("::1")), enr.UDP(2), enr.UDP6(4)}, ip("::1"), 0, 4},
		{"4in6 in ip6 is IPv4", []enr.Entry{enr.IPv6(ip("::ffff:1.2.3.4")), enr.UDP(2), enr.UDP6(4)}, ip("1.2.3.4"), 0, 2},
		{"unspecified kept", []enr.Entry{enr.IPv4(ip("0.0.0.0")), enr.UDP(2)}, ip("0.0.0.0"), 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := New(signed(t, testKey(t), tt.entries...))
			if err != nil {
				t.Fatal(err)
			}
			if n.IPAddr() != tt.wantIP || n.TCP() != tt.tcp || n.UDP() != tt.udp {
				t.Errorf("got %v tcp %d udp %d, want %v tcp %d udp %d", n.IPAddr(), n.TCP(), n.UDP(), tt.wantIP, tt.tcp, tt.udp)
			}
		})
	}
}

func TestValidateComplete(t *testing.T) {
	pub := testKey(t).PubKey()
	tests := []struct {
		n    *Node
		want error
	}{
		{NewV4(pub, netip.Addr{}, 0, 0), ErrMissingIP},
		{NewV4(pub, netip.MustParseAddr("0.0.0.0"), 1, 1), ErrInvalidIP},
		{NewV4(pub, netip.MustParseAddr("ff02::1"), 1, 1), ErrMissingIP}, // multicast is never chosen
		{NewV4(pub, netip.MustParseAddr("1.2.3.4"), 1, 0), ErrMissingUDP},
		{NewV4(pub, netip.MustParseAddr("1.2.3.4"), 0, 1), nil},
	}
	for _, tt := range tests {
		if err := tt.n.ValidateComplete(); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.n.URLv4(), err, tt.want)
		}
	}
}

func TestNewV4(t *testing.T) {
	pub := testKey(t).PubKey()
	n := NewV4(pub, netip.MustParseAddr("::ffff:10.0.0.1"), 30303, 30301)
	if n.ID() != HexID(eip778NodeID) || n.IPAddr() != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("ID %v ip %v", n.ID(), n.IPAddr())
	}
	if n.Record().Signed() || n.Seq() != 0 {
		t.Error("NewV4 record is signed")
	}
	if n.String() != n.URLv4() {
		t.Errorf("String of an unsigned node is %s", n.String())
	}
	if ep, ok := n.TCPEndpoint(); !ok || ep.String() != "10.0.0.1:30303" {
		t.Errorf("TCPEndpoint %v %v", ep, ok)
	}
	if n.Incomplete() {
		t.Error("node with IP reported incomplete")
	}
	// The record returned is a copy.
	r := n.Record()
	r.Set(enr.TCP(1))
	if n.TCP() != 30303 || n.Record().Has("id") {
		t.Error("modifying Record() changed the node")
	}
	defer func() {
		if recover() == nil {
			t.Error("NewV4 with port 70000 did not panic")
		}
	}()
	NewV4(pub, netip.Addr{}, 70000, 0)
}

func TestSignNull(t *testing.T) {
	id := HexID(eip778NodeID)
	var r enr.Record
	r.Set(enr.IPv4(netip.MustParseAddr("127.0.0.1")))
	r.Set(enr.UDP(30303))
	n := SignNull(&r, id)
	if n.ID() != id || n.Pubkey() != nil || n.UDP() != 30303 {
		t.Fatalf("ID %v pubkey %v udp %d", n.ID(), n.Pubkey(), n.UDP())
	}
	// The text form is accepted with the test schemes only.
	rec, err := enr.ParseText(n.String())
	if err != nil {
		t.Fatal(err)
	}
	n2, err := NewWithSchemes(TestSchemes(), rec)
	if err != nil || n2.ID() != id {
		t.Fatalf("NewWithSchemes: %v", err)
	}
	if _, err := Parse(n.String()); !errors.Is(err, enr.ErrUnknownScheme) {
		t.Fatalf("Parse of a null record: %v", err)
	}
	if want := "enode://null." + id.String() + "@127.0.0.1:0?discport=30303"; n.URLv4() != want {
		t.Errorf("URLv4 = %s", n.URLv4())
	}
	// NewWithSchemes with v4 records, and with a scheme giving a bad address.
	v4 := signed(t, testKey(t), enr.UDP(1))
	if n, err := NewWithSchemes(TestSchemes(), v4); err != nil || n.ID() != id || n.Pubkey() == nil {
		t.Fatalf("NewWithSchemes(v4): %v", err)
	}
	rec.Delete("nulladdr")
	rec.SetSig(NullID{}, []byte{})
	if _, err := NewWithSchemes(TestSchemes(), rec); !errors.Is(err, ErrInvalidNodeAddr) {
		t.Fatalf("null record without nulladdr: %v", err)
	}
}

func TestWithHostname(t *testing.T) {
	n := NewV4(testKey(t).PubKey(), netip.Addr{}, 30303, 30303)
	h := n.WithHostname("node.example.org")
	if n.Hostname() != "" || h.Hostname() != "node.example.org" || h.ID() != n.ID() {
		t.Fatal("WithHostname")
	}
	if want := "enode://" + pubHex(t) + "@node.example.org:30303"; h.URLv4() != want {
		t.Errorf("URLv4 = %s", h.URLv4())
	}
}

// pubHex is the EIP-778 key's public key as it appears in enode URLs.
func pubHex(testing.TB) string {
	return "ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd31387574077f301b421bc84df7266c44e9e6d569fc56be00812904767bf5ccd1fc7f"
}

func TestParseDispatch(t *testing.T) {
	for _, in := range []string{"", "foo", "http://x", "ENR:abc"} {
		if _, err := Parse(in); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Parse(%q): %v, want ErrUnknownFormat", in, err)
		}
	}
	if n, err := Parse(pubHex(t)); err != nil || n.ID() != HexID(eip778NodeID) {
		t.Errorf("Parse(bare hex): %v", err)
	}
	if _, err := Parse("enr:"); !errors.Is(err, enr.ErrMalformed) {
		t.Errorf("Parse(enr:): %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustParse of invalid input did not panic")
		}
	}()
	MustParse("x")
}

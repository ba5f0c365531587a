package enrinterop

import (
	"crypto/ecdsa"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	genode "github.com/ethereum/go-ethereum/p2p/enode"
	genr "github.com/ethereum/go-ethereum/p2p/enr"
	grlp "github.com/ethereum/go-ethereum/rlp"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// recordSpec is the content of a random record, built by either library.
type recordSpec struct {
	key        *crypto.PrivateKey
	seq        uint64
	ip4, ip6   netip.Addr // invalid: absent
	tcp, udp   uint16     // 0: absent
	tcp6, udp6 uint16     // 0: absent
	extra      map[string][]byte
}

func (s *recordSpec) gethKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := gcrypto.ToECDSA(crypto.FromPrivateKey(s.key))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// randomAddr picks addresses of every class, so that both libraries' choice
// of endpoint (which prefers the more global address) is exercised.
func randomAddr(rng *rand.Rand, v6 bool) netip.Addr {
	if v6 {
		switch rng.IntN(6) {
		case 0:
			return netip.IPv6Loopback()
		case 1:
			return netip.MustParseAddr("fe80::1").Next()
		case 2:
			return netip.MustParseAddr("fc00::5")
		case 3:
			return netip.MustParseAddr("ff02::1")
		case 4:
			return netip.IPv6Unspecified()
		}
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		b[0] = 0x20 | b[0]&0x0F
		return netip.AddrFrom16(b)
	}
	switch rng.IntN(6) {
	case 0:
		return netip.AddrFrom4([4]byte{127, 0, 0, byte(rng.IntN(255) + 1)})
	case 1:
		return netip.AddrFrom4([4]byte{10, byte(rng.Uint32()), byte(rng.Uint32()), 1})
	case 2:
		return netip.AddrFrom4([4]byte{169, 254, 3, 4})
	case 3:
		return netip.AddrFrom4([4]byte{224, 0, 0, 9})
	case 4:
		return netip.IPv4Unspecified()
	}
	return netip.AddrFrom4([4]byte{byte(rng.IntN(100) + 1), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
}

func randomPort(rng *rand.Rand) uint16 {
	switch rng.IntN(4) {
	case 0:
		return uint16(rng.IntN(128)) // one-byte encodings, including 0
	case 1:
		return 30303
	}
	return uint16(rng.Uint32())
}

var standardKeys = []string{"id", "secp256k1", "ip", "ip6", "tcp", "udp", "tcp6", "udp6"}

// randomRLP returns a canonical RLP item of at most about budget bytes.
func randomRLP(rng *rand.Rand, budget, depth int) []byte {
	switch k := rng.IntN(5); {
	case k == 0 || budget < 3:
		var b [8]byte
		n := rng.IntN(9)
		for i := range b[:n] {
			b[i] = byte(rng.Uint32())
		}
		x := uint64(0)
		for _, c := range b[:n] {
			x = x<<8 | uint64(c)
		}
		enc, _ := grlp.EncodeToBytes(x)
		return enc
	case k <= 2 || depth > 3:
		s := make([]byte, rng.IntN(min(budget, 70)))
		for i := range s {
			s[i] = byte(rng.Uint32())
		}
		enc, _ := grlp.EncodeToBytes(s)
		return enc
	default:
		var items []grlp.RawValue
		left := budget - 3
		for n := rng.IntN(4); n > 0 && left > 0; n-- {
			it := randomRLP(rng, left/2, depth+1)
			items = append(items, it)
			left -= len(it)
		}
		enc, _ := grlp.EncodeToBytes(items)
		return enc
	}
}

func randomSpec(t testing.TB, rng *rand.Rand) *recordSpec {
	key, err := crypto.GenerateKeyFrom(chachaReader{rng})
	if err != nil {
		t.Fatal(err)
	}
	s := &recordSpec{key: key, extra: map[string][]byte{}}
	switch rng.IntN(3) {
	case 0:
		s.seq = uint64(rng.IntN(200))
	case 1:
		s.seq = rng.Uint64()
	default:
		s.seq = uint64(rng.Uint32())
	}
	if rng.IntN(3) > 0 {
		s.ip4 = randomAddr(rng, false)
	}
	if rng.IntN(2) == 0 {
		s.ip6 = randomAddr(rng, true)
	}
	for _, p := range []*uint16{&s.tcp, &s.udp, &s.tcp6, &s.udp6} {
		if rng.IntN(2) == 0 {
			*p = randomPort(rng)
		}
	}
	// Extra keys, e.g. "eth": random names and raw values.
	budget := 300 - 160
	for n := rng.IntN(4); n > 0 && budget > 5; n-- {
		name := randomKey(rng)
		if slices.Contains(standardKeys, name) {
			continue
		}
		v := randomRLP(rng, budget-len(name)-2, 0)
		s.extra[name] = v
		budget -= len(name) + 2 + len(v)
	}
	return s
}

func randomKey(rng *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_"
	var sb strings.Builder
	for n := rng.IntN(8) + 1; n > 0; n-- {
		sb.WriteByte(alphabet[rng.IntN(len(alphabet))])
	}
	if rng.IntN(10) == 0 {
		sb.WriteByte(0xFF) // keys are bytes, not necessarily text
	}
	return sb.String()
}

type chachaReader struct{ rng *rand.Rand }

func (r chachaReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(r.rng.Uint32())
	}
	return len(b), nil
}

// trellisRecord builds and signs the record with Trellis.
func (s *recordSpec) trellisRecord() (*enr.Record, error) {
	var r enr.Record
	r.SetSeq(s.seq)
	if s.ip4.IsValid() {
		r.Set(enr.IPv4(s.ip4))
	}
	if s.ip6.IsValid() {
		r.Set(enr.IPv6(s.ip6))
	}
	for _, p := range []struct {
		v uint16
		e enr.Entry
	}{{s.tcp, enr.TCP(s.tcp)}, {s.udp, enr.UDP(s.udp)}, {s.tcp6, enr.TCP6(s.tcp6)}, {s.udp6, enr.UDP6(s.udp6)}} {
		if p.v != 0 {
			r.Set(p.e)
		}
	}
	for k, v := range s.extra {
		r.Set(enr.RawEntry{Key: k, Value: v})
	}
	return &r, enr.SignV4(&r, s.key)
}

// gethRecord builds and signs the record with go-ethereum.
func (s *recordSpec) gethRecord(t testing.TB) (*genr.Record, error) {
	var r genr.Record
	r.SetSeq(s.seq)
	if s.ip4.IsValid() {
		r.Set(genr.IPv4Addr(s.ip4))
	}
	if s.ip6.IsValid() {
		r.Set(genr.IPv6Addr(s.ip6))
	}
	if s.tcp != 0 {
		r.Set(genr.TCP(s.tcp))
	}
	if s.udp != 0 {
		r.Set(genr.UDP(s.udp))
	}
	if s.tcp6 != 0 {
		r.Set(genr.TCP6(s.tcp6))
	}
	if s.udp6 != 0 {
		r.Set(genr.UDP6(s.udp6))
	}
	for k, v := range s.extra {
		r.Set(genr.WithEntry(k, grlp.RawValue(v)))
	}
	return &r, genode.SignV4(&r, s.gethKey(t))
}

// view is what both libraries must agree on for a record and its node.
type view struct {
	ID, Text     string
	Seq          uint64
	Pairs        []string // key=hex(raw value), in record order
	IP           netip.Addr
	TCP, UDP     int
	TCPOk, UDPOk bool
	TCPEp, UDPEp netip.AddrPort
	Pubkey       string
	URL          string
}

func trellisView(n *enode.Node) view {
	r := n.Record()
	v := view{ID: n.ID().String(), Text: n.String(), Seq: n.Seq(), IP: n.IPAddr(), TCP: n.TCP(), UDP: n.UDP(), URL: n.URLv4()}
	v.TCPEp, v.TCPOk = n.TCPEndpoint()
	v.UDPEp, v.UDPOk = n.UDPEndpoint()
	for _, k := range r.Keys() {
		raw, _ := r.RawValue(k)
		v.Pairs = append(v.Pairs, fmt.Sprintf("%q=%x", k, raw))
	}
	if n.Pubkey() != nil {
		v.Pubkey = fmt.Sprintf("%x", crypto.MarshalPubkey(n.Pubkey()))
	}
	return v
}

func gethView(n *genode.Node) view {
	r := n.Record()
	v := view{ID: n.ID().String(), Text: n.String(), Seq: n.Seq(), IP: n.IPAddr().Unmap(), TCP: n.TCP(), UDP: n.UDP(), URL: n.URLv4()}
	v.TCPEp, v.TCPOk = n.TCPEndpoint()
	v.UDPEp, v.UDPOk = n.UDPEndpoint()
	v.TCPEp = netip.AddrPortFrom(v.TCPEp.Addr().Unmap(), v.TCPEp.Port())
	v.UDPEp = netip.AddrPortFrom(v.UDPEp.Addr().Unmap(), v.UDPEp.Port())
	if !v.TCPOk {
		v.TCPEp = netip.AddrPort{}
	}
	if !v.UDPOk {
		v.UDPEp = netip.AddrPort{}
	}
	elems := r.AppendElements(nil)
	for i := 1; i < len(elems); i += 2 {
		v.Pairs = append(v.Pairs, fmt.Sprintf("%q=%x", elems[i].(string), []byte(elems[i+1].(grlp.RawValue))))
	}
	if p := n.Pubkey(); p != nil {
		v.Pubkey = fmt.Sprintf("%x", gcrypto.FromECDSAPub(p))
	}
	return v
}

func compareViews(t testing.TB, what string, got, want view) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: views differ\ntrellis: %+v\ngeth:    %+v", what, got, want)
	}
}

package enrinterop

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	genode "github.com/ethereum/go-ethereum/p2p/enode"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
)

const urlRounds = 1000

// urlView is what both libraries must agree on for an enode URL.
type urlView struct {
	ID       string
	IP       netip.Addr
	Host     string
	TCP, UDP int
	URL      string
}

func trellisURLView(n *enode.Node) urlView {
	return urlView{n.ID().String(), n.IPAddr(), n.Hostname(), n.TCP(), n.UDP(), n.URLv4()}
}

func gethURLView(n *genode.Node) urlView {
	return urlView{n.ID().String(), n.IPAddr().Unmap(), n.Hostname(), n.TCP(), n.UDP(), n.URLv4()}
}

// randomEndpoint returns an address (sometimes none) and ports that are not
// both zero: enode URLs without any port are rejected by Trellis (see
// TestURLDeviations).
func randomEndpoint(rng *rand.Rand) (netip.Addr, int, int) {
	var ip netip.Addr
	switch rng.IntN(5) {
	case 0:
	case 1, 2:
		ip = randomAddr(rng, true)
	default:
		ip = randomAddr(rng, false)
	}
	tcp, udp := int(randomPort(rng)), int(randomPort(rng))
	if rng.IntN(3) == 0 {
		udp = tcp
	}
	if tcp == 0 && udp == 0 {
		tcp = 30303
	}
	return ip, tcp, udp
}

func TestTrellisURLsInGeth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1459, 1))
	for range urlRounds {
		key, _ := crypto.GenerateKeyFrom(chachaReader{rng})
		ip, tcp, udp := randomEndpoint(rng)
		tn := enode.NewV4(key.PubKey(), ip, tcp, udp)
		u := tn.URLv4()
		gn, err := genode.ParseV4(u)
		if err != nil {
			t.Fatalf("geth rejects %s: %v", u, err)
		}
		// Trellis reads its own URL back (a bare ID when there is no usable
		// IP, which drops the ports); geth must read the same.
		tn2, err := enode.ParseV4(u)
		if err != nil || tn2.URLv4() != u || tn2.ID() != tn.ID() {
			t.Fatalf("Trellis reparse of %s: %v", u, err)
		}
		if got, want := gethURLView(gn), trellisURLView(tn2); got != want {
			t.Fatalf("%s:\ngeth    %+v\ntrellis %+v", u, got, want)
		}
		if !tn.Incomplete() && trellisURLView(tn) != trellisURLView(tn2) {
			t.Fatalf("%s does not carry the node's endpoint", u)
		}
	}
}

func TestGethURLsInTrellis(t *testing.T) {
	rng := rand.New(rand.NewPCG(1459, 2))
	for range urlRounds {
		key, _ := crypto.GenerateKeyFrom(chachaReader{rng})
		gkey, _ := gcrypto.ToECDSA(crypto.FromPrivateKey(key))
		ip, tcp, udp := randomEndpoint(rng)
		var nip net.IP
		if ip.IsValid() {
			nip = ip.AsSlice()
		}
		gn := genode.NewV4(&gkey.PublicKey, nip, tcp, udp)
		u := gn.URLv4()
		tn, err := enode.ParseV4(u)
		if err != nil {
			t.Fatalf("Trellis rejects %s: %v", u, err)
		}
		gn2, err := genode.ParseV4(u)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := trellisURLView(tn), gethURLView(gn2); got != want {
			t.Fatalf("%s:\ntrellis %+v\ngeth    %+v", u, got, want)
		}
		// Trellis's NewV4 with the same data prints the same URL.
		if u2 := enode.NewV4(key.PubKey(), ip, tcp, udp).URLv4(); u2 != u {
			t.Fatalf("NewV4 URL %s, geth %s", u2, u)
		}
	}
}

func TestHostnameURLs(t *testing.T) {
	key, _ := crypto.GenerateKey()
	id := fmt.Sprintf("%x", crypto.MarshalPubkey(key.PubKey())[1:])
	for _, u := range []string{
		"enode://" + id + "@node.example.org:30303",
		"enode://" + id + "@boot-1.example.com:30303?discport=30301",
		"enode://" + id + "@localhost:1",
		"enode://" + id + "@a.b.c.d.e:0?discport=9",
	} {
		tn, err := enode.ParseV4(u)
		if err != nil {
			t.Fatalf("Trellis: %v", err)
		}
		gn, err := genode.ParseV4(u)
		if err != nil {
			t.Fatalf("geth: %v", err)
		}
		if got, want := trellisURLView(tn), gethURLView(gn); got != want || got.URL != u {
			t.Fatalf("%s:\ntrellis %+v\ngeth    %+v", u, got, want)
		}
	}
}

// TestURLDeviations documents the enode URLs go-ethereum accepts and Trellis
// rejects on purpose, each with the error Trellis gives.
func TestURLDeviations(t *testing.T) {
	key, _ := crypto.GenerateKey()
	id := fmt.Sprintf("%x", crypto.MarshalPubkey(key.PubKey())[1:])
	for _, tt := range []struct {
		url, why string
		want     error
	}{
		{"enode://" + id + "@1.2.3.4:0", "no usable port", enode.ErrInvalidPort},
		{"enode://" + id + "@1.2.3.4:1/some/path", "path", enode.ErrInvalidURL},
		{"enode://" + id + "@1.2.3.4:1#frag", "fragment", enode.ErrInvalidURL},
		{"enode://" + id + "@bad_host!:1", "not a DNS name", enode.ErrInvalidHost},
		{"enode://" + id + "@[fe80::1%25eth0]:1", "IPv6 zone", enode.ErrInvalidHost},
	} {
		if _, err := genode.ParseV4(tt.url); err != nil {
			t.Errorf("%s: geth rejects it too (%v); drop the case", tt.why, err)
		}
		if _, err := enode.ParseV4(tt.url); err == nil || !errors.Is(err, tt.want) {
			t.Errorf("%s: Trellis: %v, want %v", tt.why, err, tt.want)
		}
	}
}

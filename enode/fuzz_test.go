package enode

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/trellis-p2p/trellis/enr"
)

var urlErrors = []error{
	ErrInvalidScheme, ErrMissingNodeID, ErrInvalidHex, ErrInvalidKeyLength, ErrInvalidPubkey,
	ErrInvalidURL, ErrMissingHost, ErrInvalidHost, ErrInvalidPort,
}

var recordErrors = []error{
	enr.ErrTooBig, enr.ErrMalformed, enr.ErrIncompleteList, enr.ErrIncompletePair, enr.ErrNotSorted,
	enr.ErrDuplicateKey, enr.ErrTrailingData, enr.ErrInvalidBase64, enr.ErrUnsigned,
	enr.ErrMissingScheme, enr.ErrUnknownScheme, enr.ErrInvalidSig, enr.ErrInvalidPubkey, enr.ErrNotFound,
}

func isOneOf(err error, errs ...[]error) bool {
	for _, list := range errs {
		for _, e := range list {
			if errors.Is(err, e) {
				return true
			}
		}
	}
	return false
}

func addURLSeeds(f *testing.F) {
	id := pubHex(f)
	for _, s := range []string{
		"enode://" + id + "@127.0.0.1:30303",
		"enode://" + id + "@10.3.58.6:30303?discport=30301",
		"enode://" + id + "@[2001:db8::1]:30303?discport=0",
		"enode://" + id + "@node.example.org:30303",
		"enode://" + id,
		id,
		"enode://" + id + "@1.2.3.4:0?discport=1",
		"enode://@:",
	} {
		f.Add(s)
	}
}

// checkNode asserts that a parsed node prints as something that parses to
// the same node.
func checkNode(t *testing.T, n *Node) {
	s := n.String()
	n2, err := Parse(s)
	if err != nil {
		t.Fatalf("own text form %q rejected: %v", s, err)
	}
	if n2.ID() != n.ID() || n2.IPAddr() != n.IPAddr() || n2.TCP() != n.TCP() || n2.UDP() != n.UDP() ||
		n2.Hostname() != n.Hostname() || n2.Seq() != n.Seq() || n2.String() != s {
		t.Fatalf("reparse of %s differs: %s", s, n2.String())
	}
	if n.Pubkey() == nil || PubkeyToIDV4(n.Pubkey()) != n.ID() {
		t.Fatal("node ID does not match its key")
	}
	if ep, ok := n.UDPEndpoint(); ok && (ep.Addr() != n.IPAddr() || ep.Addr().Is4In6()) {
		t.Fatalf("UDP endpoint %v for IP %v", ep, n.IPAddr())
	}
	n.ValidateComplete()
}

func FuzzParseV4(f *testing.F) {
	addURLSeeds(f)
	f.Fuzz(func(t *testing.T, input string) {
		n, err := ParseV4(input)
		if err != nil {
			if !isOneOf(err, urlErrors) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if n.TCP() == 0 && n.UDP() == 0 && !n.Incomplete() {
			t.Fatal("accepted a URL without ports")
		}
		if n.Hostname() != "" && n.IPAddr().IsValid() {
			t.Fatal("node has both a hostname and an IP")
		}
		checkNode(t, n)
	})
}

func FuzzParse(f *testing.F) {
	addURLSeeds(f)
	f.Add(eip778Text)
	n := NewLocalNode(nil, testKey(f))
	n.SetStaticIP(netip.MustParseAddr("2001:db8::1"))
	n.SetFallbackUDP(30303)
	n.Set(enr.TCP6(30304))
	n.Set(enr.RawEntry{Key: "eth", Value: []byte{0xC7, 0xC6, 0x84, 1, 2, 3, 4, 0x80}})
	f.Add(n.Node().String())
	f.Add("enr:")
	f.Fuzz(func(t *testing.T, input string) {
		n, err := Parse(input)
		if err != nil {
			if !isOneOf(err, urlErrors, recordErrors, []error{ErrUnknownFormat}) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		checkNode(t, n)
	})
}

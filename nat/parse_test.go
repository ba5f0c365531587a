package nat

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want string // String() of the result; "" for nil
	}{
		{"", ""},
		{"none", ""},
		{"OFF", ""},
		{"any", "any"},
		{"Auto", "any"},
		{"upnp", "UPnP"},
		{"upnp:http://192.168.77.1:5000/rootDesc.xml", "UPnP(http://192.168.77.1:5000/rootDesc.xml)"},
		{"pmp", "NAT-PMP(default gateway)"},
		{"pmp:192.168.1.1", "NAT-PMP(192.168.1.1:5351)"},
		{"natpmp:127.0.0.1:9999", "NAT-PMP(127.0.0.1:9999)"},
		{"nat-pmp:[fe80::1]:5351", "NAT-PMP([fe80::1]:5351)"},
		{"pcp", "PCP(default gateway)"},
		{"PCP:10.0.0.1", "PCP(10.0.0.1:5351)"},
		{"stun", "STUN"},
		{"stun:10.99.0.2", "STUN(10.99.0.2:3478)"},
		{"stun:stun.example.org:3479", "STUN(stun.example.org:3479)"},
		{"extip:203.0.113.5", "ExtIP(203.0.113.5)"},
		{"ip:::ffff:203.0.113.5", "ExtIP(203.0.113.5)"},
		{"extip:2001:db8::5", "ExtIP(2001:db8::5)"},
	} {
		n, err := Parse(tc.spec)
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		got := ""
		if n != nil {
			got = n.String()
			if _, ok := n.(Gateway); !ok {
				t.Errorf("%q: %T is not a Gateway", tc.spec, n)
			}
		}
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.spec, got, tc.want)
		}
	}
	if n, _ := Parse("extip:203.0.113.5"); n.(ExtIP) != ExtIP(netip.MustParseAddr("203.0.113.5")) {
		t.Error("extip value")
	}
}

func TestParseErrors(t *testing.T) {
	for _, spec := range []string{
		"bogus", "none:x", "any:1.2.3.4", "extip", "extip:", "extip:0.0.0.0", "extip:host",
		"pmp:", "pmp:gateway", "pmp:0.0.0.0", "pcp:1.2.3.4:x", "upnp:", "upnp:192.168.1.1", "stun:", "stun:host:0",
	} {
		if _, err := Parse(spec); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q: %v", spec, err)
		}
	}
}

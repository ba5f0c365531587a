package enode

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseV4RoundTrip(t *testing.T) {
	id := pubHex(t)
	tests := []struct {
		in, out  string // out "" means same as in
		ip       string
		host     string
		tcp, udp int
	}{
		{in: "enode://" + id + "@127.0.0.1:30303", ip: "127.0.0.1", tcp: 30303, udp: 30303},
		{in: "enode://" + id + "@10.3.58.6:30303?discport=30301", ip: "10.3.58.6", tcp: 30303, udp: 30301},
		{in: "enode://" + id + "@[2001:db8::1]:30303", ip: "2001:db8::1", tcp: 30303, udp: 30303},
		{in: "enode://" + id + "@[::1]:30303?discport=1", ip: "::1", tcp: 30303, udp: 1},
		{in: "enode://" + id + "@[::ffff:1.2.3.4]:5", out: "enode://" + id + "@1.2.3.4:5", ip: "1.2.3.4", tcp: 5, udp: 5},
		{in: "enode://" + id + "@node.example.org:30303", host: "node.example.org", tcp: 30303, udp: 30303},
		{in: "enode://" + id + "@boot-1.eth_net.example.:30303?discport=30301", host: "boot-1.eth_net.example.", tcp: 30303, udp: 30301},
		{in: "enode://" + id + "@localhost:1", host: "localhost", tcp: 1, udp: 1},
		{in: "enode://" + id + "@1.2.3.4:0?discport=30301", ip: "1.2.3.4", tcp: 0, udp: 30301},
		{in: "enode://" + id + "@1.2.3.4:30303?discport=0", ip: "1.2.3.4", tcp: 30303, udp: 0},
		{in: "enode://" + id},
		{in: id, out: "enode://" + id},
		{in: "enode://" + strings.ToUpper(id), out: "enode://" + id},
		{in: "ENODE://" + id + "@1.2.3.4:1", out: "enode://" + id + "@1.2.3.4:1", ip: "1.2.3.4", tcp: 1, udp: 1},
		{in: "enode://" + id + "@1.2.3.4:30303/", out: "enode://" + id + "@1.2.3.4:30303", ip: "1.2.3.4", tcp: 30303, udp: 30303},
		{in: "enode://" + id + "@1.2.3.4:30303?discport=30303", out: "enode://" + id + "@1.2.3.4:30303", ip: "1.2.3.4", tcp: 30303, udp: 30303},
		{in: "enode://" + id + "@1.2.3.4:30303?other=x&discport=9", out: "enode://" + id + "@1.2.3.4:30303?discport=9", ip: "1.2.3.4", tcp: 30303, udp: 9},
		{in: "enode://" + id + "@1.2.3.4:030303", out: "enode://" + id + "@1.2.3.4:30303", ip: "1.2.3.4", tcp: 30303, udp: 30303},
	}
	for _, tt := range tests {
		n, err := ParseV4(tt.in)
		if err != nil {
			t.Errorf("ParseV4(%s): %v", tt.in, err)
			continue
		}
		want := tt.out
		if want == "" {
			want = tt.in
		}
		if got := n.URLv4(); got != want {
			t.Errorf("URLv4 = %s\n         want %s", got, want)
		}
		var wantIP netip.Addr
		if tt.ip != "" {
			wantIP = netip.MustParseAddr(tt.ip)
		}
		if n.IPAddr() != wantIP || n.Hostname() != tt.host || n.TCP() != tt.tcp || n.UDP() != tt.udp {
			t.Errorf("%s: ip %v host %q tcp %d udp %d", tt.in, n.IPAddr(), n.Hostname(), n.TCP(), n.UDP())
		}
		if n.ID() != HexID(eip778NodeID) {
			t.Errorf("%s: ID %v", tt.in, n.ID())
		}
		if n.Incomplete() != (tt.ip == "") {
			t.Errorf("%s: Incomplete = %v", tt.in, n.Incomplete())
		}
		// Printing and parsing again is stable.
		n2, err := Parse(n.String())
		if err != nil || n2.URLv4() != n.URLv4() {
			t.Errorf("reparse of %s: %v", n.String(), err)
		}
	}
}

func TestParseV4Errors(t *testing.T) {
	id := pubHex(t)
	offCurve := strings.Repeat("0", 127) + "1"
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrInvalidScheme},
		{"http://" + id + "@1.2.3.4:1", ErrInvalidScheme},
		{id + "@1.2.3.4:1", ErrInvalidScheme},
		{"enode:" + id, ErrInvalidScheme},
		{"enode://", ErrMissingNodeID},
		{"enode://1.2.3.4:30303", ErrMissingNodeID},
		{"enode://@1.2.3.4:30303", ErrMissingNodeID},
		{"enode://" + id + "?discport=1", ErrMissingHost},
		{"enode://xyz", ErrInvalidHex},
		{"enode://" + id[:126] + "zz@1.2.3.4:1", ErrInvalidHex},
		{"enode://0x" + id[2:] + "@1.2.3.4:1", ErrInvalidHex},
		{"enode://" + id[:126], ErrInvalidKeyLength},
		{"enode://" + id + "00@1.2.3.4:1", ErrInvalidKeyLength},
		{"enode://" + id[:127] + "@1.2.3.4:1", ErrInvalidKeyLength},
		{"enode://" + offCurve, ErrInvalidPubkey},
		{"enode://" + offCurve + "@1.2.3.4:1", ErrInvalidPubkey},
		{"enode://" + id + ":pw@1.2.3.4:1", ErrInvalidURL},
		{"enode://" + id + "@1.2.3.4:1/path", ErrInvalidURL},
		{"enode://" + id + "@1.2.3.4:1#frag", ErrInvalidURL},
		{"enode://" + id + "@1.2.3.4:1?discport=1#frag", ErrInvalidURL},
		{"enode://" + id + "@1.2.3.4:1?%zz", ErrInvalidURL},
		{"enode://" + id + "@:30303", ErrMissingHost},
		{"enode://" + id + "@", ErrMissingHost},
		{"enode://" + id + "@[]:30303", ErrMissingHost},
		{"enode://" + id + "@1.2.3.4", ErrInvalidPort},
		{"enode://" + id + "@1.2.3.4:", ErrInvalidPort},
		{"enode://" + id + "@1.2.3.4:x", ErrInvalidPort},
		{"enode://" + id + "@1.2.3.4:-1", ErrInvalidPort},
		{"enode://" + id + "@1.2.3.4:+1", ErrInvalidPort},
		{"enode://" + id + "@1.2.3.4:65536", ErrInvalidPort},
		{"enode://" + id + "@1.2.3.4:0", ErrInvalidPort},
		{"enode://" + id + "@1.2.3.4:0?discport=0", ErrInvalidPort},
		{"enode://" + id + "@1.2.3.4:1?discport=x", ErrInvalidPort},
		{"enode://" + id + "@1.2.3.4:1?discport=65536", ErrInvalidPort},
		{"enode://" + id + "@[::1]", ErrInvalidPort},
		{"enode://" + id + "@[::1]x:1", ErrInvalidPort},
		{"enode://" + id + "@::1:30303", ErrInvalidHost},
		{"enode://" + id + "@[::1:30303", ErrInvalidHost},
		{"enode://" + id + "@[1.2.3.4]:30303", ErrInvalidHost},
		{"enode://" + id + "@[fe80::1%25eth0]:30303", ErrInvalidHost},
		{"enode://" + id + "@[example.com]:30303", ErrInvalidHost},
		{"enode://" + id + "@bad host:1", ErrInvalidHost},
		{"enode://" + id + "@a..b:1", ErrInvalidHost},
		{"enode://" + id + "@a@b:1", ErrInvalidHost},
		{"enode://" + id + "@" + strings.Repeat("a", 64) + ".com:1", ErrInvalidHost},
		{"enode://" + id + "@" + strings.Repeat("a.", 127) + "aa:1", ErrInvalidHost},
		{"enode://" + id + "@1.2.3.4.5:1", nil}, // a valid DNS name, as far as syntax goes
	}
	for _, tt := range tests {
		_, err := ParseV4(tt.in)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("ParseV4(%q):\n  %v\n  want %v", tt.in, err, tt.want)
		}
	}
}

func TestURLv4NoHostNoIP(t *testing.T) {
	n := NewV4(testKey(t).PubKey(), netip.Addr{}, 30303, 30301)
	if n.URLv4() != "enode://"+pubHex(t) {
		t.Errorf("URLv4 = %s", n.URLv4())
	}
}

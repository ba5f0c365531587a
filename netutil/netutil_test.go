package netutil

import (
	"encoding/json"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestParseNetlist(t *testing.T) {
	l, err := ParseNetlist(" 10.0.0.0/8, ,192.168.1.7/24,\n 2001:db8::/32 ,")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.String(), "10.0.0.0/8,192.168.1.0/24,2001:db8::/32"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	for _, bad := range []string{"10.0.0.0", "10.0.0.0/33", "foo/8", "1.2.3.4/8/8"} {
		if _, err := ParseNetlist(bad); err == nil {
			t.Errorf("ParseNetlist(%q) succeeded", bad)
		}
	}
}

func TestNetlistContains(t *testing.T) {
	l := MustParseNetlist("127.0.0.0/8,10.0.0.0/8,fd00::/8")
	tests := []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true},
		{"10.255.1.1", true},
		{"::ffff:10.1.1.1", true}, // mapped IPv4 matches the IPv4 network
		{"11.0.0.1", false},
		{"fd12::1", true},
		{"fe80::1", false},
	}
	for _, tt := range tests {
		if got := l.Contains(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Contains(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}
	var nilList *Netlist
	if nilList.Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Error("nil list contains an address")
	}
	if l.Contains(netip.Addr{}) {
		t.Error("list contains the zero address")
	}
}

func TestNetlistText(t *testing.T) {
	type cfg struct{ Restrict *Netlist }
	var c cfg
	if err := json.Unmarshal([]byte(`{"Restrict":"10.0.0.0/8,192.168.0.0/16"}`), &c); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"Restrict":"10.0.0.0/8,192.168.0.0/16"}` {
		t.Fatalf("round trip: %s", out)
	}
	if err := json.Unmarshal([]byte(`{"Restrict":"nonsense"}`), &c); err == nil {
		t.Fatal("bad list accepted")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		ip           string
		lan, special bool
	}{
		{"127.0.0.1", true, false},
		{"10.0.0.1", true, false},
		{"172.16.5.4", true, false},
		{"192.168.0.1", true, false},
		{"169.254.1.1", true, false},
		{"::1", true, false},
		{"fe80::1", true, false},
		{"fd00::1", true, false},
		{"::ffff:192.168.0.1", true, false},
		{"8.8.8.8", false, false},
		{"2a00:1450::1", false, false},
		{"192.0.2.1", false, true},
		{"255.255.255.255", false, true},
		{"224.0.0.1", false, true},
		{"2001:db8::1", false, true},
		{"ff02::1", false, true},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := IsLAN(ip); got != tt.lan {
			t.Errorf("IsLAN(%s) = %v", tt.ip, got)
		}
		if got := IsSpecialNetwork(ip); got != tt.special {
			t.Errorf("IsSpecialNetwork(%s) = %v", tt.ip, got)
		}
	}
}

func TestCheckRelayAddr(t *testing.T) {
	tests := []struct {
		sender, addr string
		want         error
	}{
		{"127.0.0.1", "0.0.0.0", ErrUnspecified},
		{"192.168.0.1", "0.0.0.0", ErrUnspecified},
		{"23.55.1.242", "0.0.0.0", ErrUnspecified},
		{"127.0.0.1", "255.255.255.255", ErrSpecialAddr},
		{"23.55.1.242", "192.0.2.7", ErrSpecialAddr},
		{"127.0.0.1", "127.0.2.19", nil},
		{"192.168.0.1", "127.0.2.19", ErrLoopbackAddr},
		{"23.55.1.242", "127.0.2.19", ErrLoopbackAddr},
		{"127.0.0.1", "192.168.0.1", nil},
		{"192.168.0.1", "192.168.0.1", nil},
		{"23.55.1.242", "192.168.0.1", ErrLANAddr},
		{"127.0.0.1", "23.55.1.242", nil},
		{"192.168.0.1", "23.55.1.242", nil},
		{"23.55.1.242", "23.55.1.242", nil},
		{"::1", "::1", nil},
		{"2a00::1", "fe80::1", ErrLANAddr},
	}
	for _, tt := range tests {
		err := CheckRelayAddr(netip.MustParseAddr(tt.sender), netip.MustParseAddr(tt.addr))
		if err != tt.want {
			t.Errorf("CheckRelayAddr(%s, %s) = %v, want %v", tt.sender, tt.addr, err, tt.want)
		}
	}
	if err := CheckRelayAddr(netip.MustParseAddr("1.2.3.4"), netip.Addr{}); err != ErrInvalidAddr {
		t.Errorf("zero addr: %v", err)
	}
}

func TestAddrIP(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want netip.Addr
	}{
		{&net.TCPAddr{IP: net.ParseIP("1.2.3.4"), Port: 30303}, netip.MustParseAddr("1.2.3.4")},
		{&net.UDPAddr{IP: net.ParseIP("::1")}, netip.MustParseAddr("::1")},
		{&net.IPAddr{IP: net.IPv4(10, 0, 0, 1)}, netip.MustParseAddr("10.0.0.1")},
		{&net.UnixAddr{Name: "x"}, netip.Addr{}},
		{&net.TCPAddr{}, netip.Addr{}},
	}
	for _, tt := range tests {
		if got := AddrIP(tt.addr); got != tt.want {
			t.Errorf("AddrIP(%v) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestThrottle(t *testing.T) {
	start := time.Unix(1000, 0)
	th := NewThrottle(30*time.Second, 0)
	a, b := netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("2.2.2.2")

	steps := []struct {
		at   time.Duration
		ip   netip.Addr
		want bool
		why  string
	}{
		{0, a, true, "first attempt passes"},
		{time.Second, a, false, "second attempt within the period is refused"},
		{time.Second, b, true, "other addresses are independent"},
		{29 * time.Second, a, false, "still refused just before expiry"},
		{30 * time.Second, a, true, "admitted again once the period has passed"},
		{31 * time.Second, b, true, "b expired at 31s"},
		{45 * time.Second, a, false, "a was re-recorded at 30s"},
	}
	for _, s := range steps {
		if got := th.Allow(s.ip, start.Add(s.at)); got != s.want {
			t.Fatalf("at %v Allow(%v) = %v: %s", s.at, s.ip, got, s.why)
		}
	}
	if !th.Contains(netip.MustParseAddr("::ffff:1.1.1.1"), start.Add(45*time.Second)) {
		t.Error("mapped address not recognised")
	}
}

func TestThrottleLimit(t *testing.T) {
	now := time.Unix(0, 0)
	th := NewThrottle(time.Minute, 100)
	for i := range 1000 {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		if !th.Allow(ip, now) {
			t.Fatalf("distinct address %v refused", ip)
		}
	}
	if th.Len() != 100 {
		t.Fatalf("Len = %d, want 100", th.Len())
	}
	// The newest addresses are still remembered, the oldest were dropped.
	if th.Allow(netip.AddrFrom4([4]byte{10, 0, 3, 231}), now) {
		t.Error("recent address admitted")
	}
	if !th.Allow(netip.AddrFrom4([4]byte{10, 0, 0, 0}), now) {
		t.Error("evicted address refused")
	}
	// Expiring everything shrinks the queue.
	th.Allow(netip.MustParseAddr("1.2.3.4"), now.Add(2*time.Minute))
	if th.Len() != 1 {
		t.Fatalf("Len after expiry = %d", th.Len())
	}
}

func TestDistinctNetSet(t *testing.T) {
	s := DistinctNetSet{Subnet: 24, Limit: 2}
	add := func(ip string) bool { return s.Add(netip.MustParseAddr(ip)) }
	if !add("10.0.0.1") || !add("10.0.0.2") {
		t.Fatal("first two members refused")
	}
	if add("10.0.0.3") {
		t.Fatal("third member of a full /24 admitted")
	}
	if !add("10.0.1.1") {
		t.Fatal("other subnet refused")
	}
	if s.Len() != 3 {
		t.Fatalf("Len = %d", s.Len())
	}
	s.Remove(netip.MustParseAddr("10.0.0.2"))
	if !add("10.0.0.9") {
		t.Fatal("slot not freed by Remove")
	}
	if !s.Contains(netip.MustParseAddr("10.0.1.200")) || s.Contains(netip.MustParseAddr("10.0.2.1")) {
		t.Fatal("Contains wrong")
	}
	if got := s.String(); got != "{10.0.0.0/24×2 10.0.1.0/24×1}" {
		t.Fatalf("String() = %q", got)
	}
	// IPv6 with a prefix length longer than 32 bits must not fail for IPv4.
	s6 := DistinctNetSet{Subnet: 64, Limit: 1}
	if !s6.Add(netip.MustParseAddr("1.2.3.4")) || s6.Add(netip.MustParseAddr("1.2.3.4")) {
		t.Fatal("IPv4 in /64 set")
	}
}

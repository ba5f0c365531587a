package nat

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParseRoutes(t *testing.T) {
	const header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	for _, tc := range []struct {
		name, text string
		want       string
	}{
		{"testbed lan", header +
			"lan0\t00000000\t014DA8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
			"lan0\t004DA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n", "192.168.77.1"},
		{"lowest metric wins", header +
			"wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n" +
			"eth0\t00000000\t010010AC\t0003\t0\t0\t100\t00000000\t0\t0\t0\n", "172.16.0.1"},
		{"route down", header + "eth0\t00000000\t0101A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n", ""},
		{"no gateway flag", header + "eth0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n", ""},
		{"not default", header + "eth0\t0000000A\t0101A8C0\t0003\t0\t0\t0\t000000FF\t0\t0\t0\n", ""},
		{"garbage", header + "eth0 zz yy\n\x00\x01\n", ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRoutes([]byte(tc.text))
			if tc.want == "" {
				if !errors.Is(err, ErrNoGateway) {
					t.Fatalf("got %v %v, want ErrNoGateway", got, err)
				}
				return
			}
			if err != nil || got != netip.MustParseAddr(tc.want) {
				t.Fatalf("got %v %v, want %s", got, err, tc.want)
			}
		})
	}
}

package nat

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// routeFile is the kernel's IPv4 routing table. It shows the routes of the
// reader's network namespace.
const routeFile = "/proc/net/route"

// maxRouteFileSize bounds what defaultGateway reads; a routing table with a
// million entries is not one a home gateway serves.
const maxRouteFileSize = 16 << 20

// defaultGateway returns the IPv4 gateway of the default route with the
// lowest metric.
func defaultGateway() (netip.Addr, error) {
	f, err := os.Open(routeFile)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: %w", ErrNoGateway, err)
	}
	defer f.Close()
	text, err := io.ReadAll(io.LimitReader(f, maxRouteFileSize))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: %w", ErrNoGateway, err)
	}
	return parseRoutes(text)
}

// parseRoutes finds the default gateway in the text of /proc/net/route:
// a header line, then one route per line with whitespace-separated fields
// Iface, Destination, Gateway, Flags, RefCnt, Use, Metric, Mask, ...; the
// addresses are 32-bit hex numbers in host byte order.
func parseRoutes(text []byte) (netip.Addr, error) {
	const (
		rtfUp      = 0x1 // linux/route.h RTF_UP
		rtfGateway = 0x2 // RTF_GATEWAY
	)
	var (
		best       netip.Addr
		bestMetric uint64
		sc         = bufio.NewScanner(bytes.NewReader(text))
		first      = true
	)
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		dst, err1 := strconv.ParseUint(f[1], 16, 32)
		gw, err2 := strconv.ParseUint(f[2], 16, 32)
		flags, err3 := strconv.ParseUint(f[3], 16, 32)
		metric, err4 := strconv.ParseUint(f[6], 10, 32)
		mask, err5 := strconv.ParseUint(f[7], 16, 32)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil {
			continue
		}
		if dst != 0 || mask != 0 || flags&(rtfUp|rtfGateway) != rtfUp|rtfGateway || gw == 0 {
			continue
		}
		var a [4]byte
		binary.NativeEndian.PutUint32(a[:], uint32(gw))
		if !best.IsValid() || metric < bestMetric {
			best, bestMetric = netip.AddrFrom4(a), metric
		}
	}
	if !best.IsValid() {
		return best, fmt.Errorf("%w: no IPv4 default route", ErrNoGateway)
	}
	return best, nil
}

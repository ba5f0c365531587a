package p2p

import (
	"net"

	"github.com/trellis-p2p/trellis/netutil"
)

// natPort returns the TCP port to map: the listening port, unless we listen
// on a loopback or LAN address that the Internet cannot reach anyway.
func (srv *Server) natPort() int {
	if srv.listener == nil {
		return 0
	}
	a, ok := srv.listener.Addr().(*net.TCPAddr)
	if !ok {
		return 0
	}
	if ip := netutil.IPToAddr(a.IP); ip.IsValid() && !ip.IsUnspecified() && netutil.IsLAN(ip) {
		return 0
	}
	return a.Port
}

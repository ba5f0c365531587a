package node

import (
	"net"
	"net/http"
	"strings"
)

// DefaultVirtualHosts is the Host header values the RPC endpoints accept
// when Config.VirtualHosts is nil (go-ethereum's --http.vhosts default).
var DefaultVirtualHosts = []string{"localhost"}

// vhostHandler refuses requests whose Host header names a host outside
// allowed, as go-ethereum does for HTTP-RPC. It defeats DNS rebinding: a web
// page whose domain an attacker points at 127.0.0.1 passes the browser's
// same-origin checks (for WebSocket too, where Origin then equals Host) but
// still sends its own domain as Host. Requests to a literal IP address are
// always accepted, since no rebinding is involved; "*" accepts every host.
func vhostHandler(allowed []string, next http.Handler) http.Handler {
	set := map[string]bool{}
	for _, h := range allowed {
		set[strings.ToLower(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host // no port
		}
		host = strings.ToLower(strings.Trim(host, "[]"))
		if set["*"] || set[host] || net.ParseIP(host) != nil {
			next.ServeHTTP(w, r)
			return
		}
		http.Error(w, "invalid host specified (allow it with --http.vhosts)", http.StatusForbidden)
	})
}

// Package netutil holds the small IP-address helpers the p2p and discovery
// layers share: CIDR allow-lists (the --netrestrict option), LAN and
// special-purpose address classification, the relay rule for addresses learned
// from other nodes, per-IP throttling and per-subnet counting.
//
// Everything here works on net/netip values. Nothing starts goroutines or
// touches sockets; the in-memory network used by tests lives in memnet.
package netutil

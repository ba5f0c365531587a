// Package dnsinterop checks Trellis's DNS discovery (package dnsdisc, the
// "trellis dns" commands) against go-ethereum's p2p/dnsdisc and its devp2p
// tool: trees built and signed by either are synced by both, through a real
// DNS server (dnsmasq on loopback, scripts/dnsbed) and from memory; both
// build byte-identical TXT records from the same input; and tree
// directories signed by either tool are exported identically by both.
package dnsinterop

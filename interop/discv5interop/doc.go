// Package discv5interop tests Trellis's discovery v5 against go-ethereum over
// real UDP on loopback: go-ethereum's conformance suite (cmd/devp2p "discv5
// test") against "trellis discv5 listen" and against "trellis discovery
// listen" (discv4 and discv5 on one socket), and networks mixing Trellis and
// go-ethereum (p2p/discover.ListenV5) nodes, which must find each other in
// lookups and answer each other's PING, FINDNODE (record requests) and
// TALKREQ.
package discv5interop

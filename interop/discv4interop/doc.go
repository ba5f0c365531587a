// Package discv4interop tests Trellis's discovery v4 against go-ethereum over
// real UDP on loopback: go-ethereum's conformance suite (cmd/devp2p "discv4
// test") against "trellis discv4 listen", and a mixed network of Trellis and
// go-ethereum nodes (p2p/discover.ListenV4) that must find each other and
// exchange records.
package discv4interop

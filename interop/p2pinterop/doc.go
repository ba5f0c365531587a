// Package p2pinterop runs Trellis's p2p server against go-ethereum's
// (github.com/ethereum/go-ethereum/p2p v1.17.10) over real loopback TCP:
// message exchange with snappy, keep-alive pings, disconnect reasons, trusted
// peers above the peer limit, and "trellis rlpx ping" against both. Its
// benchmarks measure both implementations in the same run (connection set-up
// rate, memory per idle peer, message throughput through a protocol's Run
// loop); compare them with benchstat -col /impl.
//
// Raw-connection interop (rlpx.Conn against go-ethereum's p2p/rlpx.Conn in
// both roles) lives in package rlpxinterop.
package p2pinterop

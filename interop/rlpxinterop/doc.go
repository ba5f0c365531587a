// Package rlpxinterop runs Trellis's rlpx against go-ethereum's p2p/rlpx over
// real loopback TCP: handshakes in both roles, message exchange at many sizes
// with and without snappy, and benchmarks of both implementations in the same
// run (compare with benchstat -col /impl).
package rlpxinterop

// Package rlpx implements the RLPx transport: the encrypted, authenticated
// TCP stream that devp2p runs on (https://github.com/ethereum/devp2p/blob/master/rlpx.md),
// with the handshake encoding of EIP-8 (https://eips.ethereum.org/EIPS/eip-8)
// and the snappy compression of EIP-706.
//
// A Conn wraps a net.Conn. Handshake authenticates both nodes and agrees on
// session keys; ReadMsg and WriteMsg then exchange messages, each a code and
// a payload carried in one frame. BufferMsg and Flush let a writer with
// several messages queued send them in one system call.
//
// The pure codecs have no I/O: handshake_msg.go encodes and decodes the
// auth and ack bodies, frame.go seals and opens frames, mac.go is the
// Keccak/AES MAC and secrets.go derives the session keys. handshake.go runs
// the exchange and conn.go glues everything to the socket.
package rlpx

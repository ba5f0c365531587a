// Package rlpx implements the RLPx transport: the encrypted, authenticated
// TCP stream that devp2p runs on (https://github.com/ethereum/devp2p/blob/master/rlpx.md),
// with the handshake encoding of EIP-8 (https://eips.ethereum.org/EIPS/eip-8)
// and the snappy compression of EIP-706 (https://eips.ethereum.org/EIPS/eip-706).
//
// A Conn wraps a net.Conn. Handshake authenticates both nodes and agrees on
// session keys; ReadMsg and WriteMsg then exchange messages, each a code and
// a payload carried in one frame. One goroutine may read while another
// writes.
//
// A writer with several messages queued should use BufferMsg for each and
// Flush when its queue runs empty: the frames then leave in one system call
// instead of one each, which is most of the cost of small messages.
//
//	for msg := range queue {
//		if _, err := c.BufferMsg(msg.Code, msg.Data); err != nil {
//			return err
//		}
//		if len(queue) == 0 {
//			if err := c.Flush(); err != nil {
//				return err
//			}
//		}
//	}
//
// Every size a peer controls is bounded (MaxHandshakeSize, MaxFrameSize,
// MaxMessageSize, and SetReadLimit below those), and every failure is one of
// the package's error values, possibly wrapped (errors.Is) or a *SizeError
// (errors.As).
//
// Layout: the pure codecs have no I/O. handshake_msg.go encodes and decodes
// the auth and ack bodies, frame.go seals and opens frames, mac.go is the
// Keccak/AES MAC and secrets.go derives the session keys. handshake.go runs
// the exchange (its public-key encryption is crypto/ecies), buffer.go is the
// receive buffer and conn.go glues everything to the socket. The module's
// internal/ec is the secp256k1 arithmetic and internal/keccak the MAC's
// sponge.
package rlpx

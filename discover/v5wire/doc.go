// Package v5wire is the wire codec of Node Discovery v5 (protocol version
// v5.1): packet masking and headers, the three packet kinds, the handshake
// cryptography and the RLP messages, as specified in devp2p
// discv5/discv5-wire.md and discv5/discv5-theory.md ("Sessions",
// "Handshake Steps").
//
// It is a pure codec: no sockets, no goroutines, no timers of its own.
//
// # Packets
//
// Every packet is masking-iv || masked-header || message. The header is
// AES-128-CTR encrypted with the first 16 bytes of the destination node ID,
// so only the addressee can read it. There are three kinds:
//
//   - ordinary message packets (flag 0) carry a message encrypted with the
//     session keys; the authdata is the sender's node ID;
//   - WHOAREYOU packets (flag 1) challenge a sender whose message could not
//     be decrypted; they carry no message;
//   - handshake message packets (flag 2) answer a WHOAREYOU: they prove the
//     sender's identity, carry an ephemeral key from which both sides derive
//     new session keys, optionally the sender's record, and the message.
//
// # Using the Codec
//
// A Codec encodes packets from and decodes packets to the local node. Session
// keys and pending WHOAREYOU challenges live in a SessionStore that the
// caller (the discv5 protocol) owns and passes to NewCodec; SessionCache is
// a bounded in-memory implementation. A session is tied to the remote node ID
// and its UDP endpoint (discv5-theory.md "Session Cache"), so every call
// names both.
//
// Sending a request to node B:
//
//	pkt, nonce, err := codec.Encode(b.ID(), addr, &v5wire.Ping{ReqID: id, ENRSeq: seq}, nil)
//
// Without a session, Encode sends an ordinary message packet with random
// content instead, which B cannot decrypt; B answers with WHOAREYOU whose
// Nonce equals the returned nonce. The protocol then sets the challenge's
// Node to B's record and encodes the request again with the challenge, which
// produces a handshake packet and stores the new session:
//
//	challenge.Node = b
//	pkt, nonce, err = codec.Encode(b.ID(), addr, ping, challenge)
//
// Receiving:
//
//	src, node, p, err := codec.Decode(pkt, addr)
//
// p is one of the message types, *Whoareyou (a challenge to a packet we
// sent; src is zero because WHOAREYOU does not name its sender), or *Unknown:
// an ordinary message packet we have no session for, or whose message does
// not decrypt with the session we have. The answer to *Unknown is a
// WHOAREYOU with Nonce set to Unknown.Nonce, encoded with Encode, which also
// stores the challenge until the handshake arrives. node is non-nil only for
// handshake packets: the sender's verified record.
//
// The Codec and SessionCache are not safe for concurrent use: one goroutine,
// the protocol's packet loop, owns them.
package v5wire

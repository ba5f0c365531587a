// Package p2p runs devp2p peer connections: the Server that listens, dials
// and admits peers, and the Peer that multiplexes subprotocols over one RLPx
// connection (https://github.com/ethereum/devp2p/blob/master/rlpx.md).
//
// # Structure
//
// The Server's state (the peer set and its counts) is owned by one goroutine,
// the loop; connection setup and queries post closures to it. The dialer is a
// second owner loop that decides whom to dial: static nodes always, nodes
// from Config.Discovery while dialed peers are below MaxPeers/DialRatio.
// Each connection is set up on its own goroutine (RLPx handshake, early
// admission checks, Hello exchange) and handed to the loop, which admits it
// or refuses it with a disconnect reason.
//
// A running Peer costs two kinds of goroutines: the one that reads the
// connection (and owns its shutdown) and one per matched protocol calling
// Protocol.Run. Keep-alive pings run from a timer. Writes from any goroutine
// are serialised; writes queued behind each other are flushed together.
//
// # Wire compatibility
//
// Hello, Disconnect, Ping and Pong follow rlpx.md "p2p Capability";
// capability negotiation assigns message code ranges from 16 in order of
// capability name; Snappy compression (EIP-706) is on when both sides announce
// version 5. Unknown trailing Hello fields are ignored (EIP-8), and both the
// list and the bare-byte form of a disconnect reason are understood.
//
// # Networks
//
// Config.Network abstracts listening, dialing and name lookups. The default
// is TCP; netutil/memnet provides an in-memory network with the same methods
// so that servers can be wired together in tests and simulations, including
// inside testing/synctest bubbles.
package p2p

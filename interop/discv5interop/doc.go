// Package discv5interop tests Trellis's discovery v5 against go-ethereum
// v1.17.10 over real UDP on loopback:
//
//   - go-ethereum's conformance suite (cmd/devp2p "discv5 test") against
//     "trellis discv5 listen", and against "trellis discovery listen", where
//     discv5 shares its socket with discv4;
//   - networks mixing Trellis and go-ethereum (p2p/discover.ListenV5) nodes,
//     bootstrapped from one node of either kind, whose random lookups must
//     find both kinds and whose lookups of each node of the other kind must
//     find it;
//   - PING, record requests (FINDNODE distance 0), TALKREQ with registered
//     and unknown protocols, and record updates seen through PONG and
//     Resolve, each in both directions between nodes that have not spoken
//     before;
//   - FINDNODE for more distances than a lookup asks, answered alike by
//     both;
//   - a Trellis node running discv4 and discv5 on one socket
//     (discover.ListenShared), answering go-ethereum's discv4 and discv5
//     nodes.
package discv5interop

// Package discover implements node discovery: the Kademlia table shared by
// the discovery protocols, and Node Discovery Protocol v4 (devp2p discv4.md,
// EIP-8, EIP-868) on top of it. The discv5 protocol is meant to live here
// too, on the same table.
//
// # Layers
//
// The wire format is package v4wire, a pure codec. The table (table*.go)
// knows nodes, distances, liveness and IP limits but no packets: it reaches
// the network through the transport interface (ping, requestENR, lookups),
// which UDPv4 implements and a discv5 listener can implement the same way.
// Lookups (lookup.go) are protocol-independent too: they take a query
// function, FindNode for v4, FINDNODE by distances for v5.
//
// The socket is the narrow UDPConn interface, so the same code runs over
// *net.UDPConn and over the in-memory network of package memudp (tests and
// simulations, inside testing/synctest). Datagrams that are not discv4
// (bad hash, too short) go to Config.Unhandled, for a discv5 listener that
// shares the socket.
//
// # Goroutines
//
// A UDPv4 runs three: readLoop reads and handles packets and owns the rate
// limiters; pendingLoop owns the requests waiting for replies and their one
// timer; the table's loop owns every bucket, replacement list and liveness
// list, and other goroutines post closures to it. Nothing else holds
// mutable state. Requests (Ping, RequestENR, lookups) block their caller;
// liveness checks and refresh lookups run on goroutines the table starts
// and waits for. Close stops everything and waits.
//
// # Protocol behaviour
//
// FindNode and ENRRequest are answered only to endpoints proven by a recent
// Pong (discv4.md "Endpoint Proof"); a Ping from an unproven endpoint is
// answered with a Pong and a Ping of our own, and its sender enters the
// table when it answers. Replies are matched to requests by sender ID, IP,
// type and, for Pong and ENRResponse, the request hash; anything else is
// dropped. Requests time out after 500ms; our packets expire after 20s.
// FindNode replies are split into Neighbors packets of 12 nodes. Entries of
// Neighbors are used only if their address is one the sender may relay
// (no loopback or LAN addresses from outside), their UDP port is above 1024
// and NetRestrict allows them. Pings and Pongs carry the record sequence
// number (EIP-868); a higher one makes the table fetch the new record.
// Pongs tell the LocalNode how others see its endpoint.
//
// Work done for packets whose sender has proven nothing is bounded per
// source IP (see the limits in ratelimit.go), and every queue and list has
// a limit.
//
// # The table
//
// 17 buckets of 16 entries cover log distances 241 to 256, with everything
// closer in the first; each has a replacement list of 10. A /24 may hold 2
// entries of a bucket and 10 of the table, except on LANs. New entries are
// pinged soon (the fast list, which speeds up when many arrive at once),
// proven ones every few seconds at random (the slow list); a failed check
// divides the entry's score by three and removes it at zero. A refresh (a
// lookup for the own ID and three more) runs at start and every 15 to 30
// minutes; when the table has grown since the last one, the next ones come
// after 10s, 20s, 40s, ... Its extra lookups go towards entries of buckets
// that are not full, else to random targets.
// The table starts from up to 30 nodes of the node database that answered
// in the last five days, plus the bootnodes, and stores nodes (with their
// records) once they have passed a check.
//
// Where this differs from go-ethereum: nodes that answer a request count as
// live at once; the growing refresh, the lookups towards non-full buckets
// and the faster fast list fill a young table in a minute or two instead of
// half an hour; bonding waits for the remote's Ping rather than sleeping
// 500ms; lookups drop nodes that did not answer from their result
// (discv4.md "Recursive Lookup").
package discover

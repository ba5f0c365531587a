// Package discover implements node discovery: the Kademlia table shared by
// the discovery protocols, Node Discovery Protocol v4 (devp2p discv4.md,
// EIP-8, EIP-868) and v5.1 (devp2p discv5/discv5-wire.md,
// discv5-theory.md) on top of it. ListenV4 and ListenV5 run one protocol on
// a socket; ListenShared runs both on one socket, as go-ethereum does. Each
// listener has its own table.
//
// # Layers
//
// The wire formats are packages v4wire and v5wire, pure codecs (v5wire
// also holds the session keys, in a SessionCache its owner passes in). The
// table (table*.go) knows nodes, distances, liveness and IP limits but no
// packets: it reaches the network through the transport interface (ping,
// requestENR, lookups), which UDPv4 and UDPv5 implement.
// Lookups (lookup.go) are protocol-independent too: they take a query
// function, FindNode for v4, FINDNODE by distances for v5.
//
// The socket is the narrow UDPConn interface, so the same code runs over
// *net.UDPConn and over the in-memory network of package memudp (tests and
// simulations, inside testing/synctest). Datagrams that are not discv4
// (bad hash, too short) go to Config.Unhandled, for a discv5 listener that
// shares the socket: ListenShared wires that up, giving UDPv5 a UDPConn
// that reads from the channel and writes to the socket.
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
// A UDPv5 runs readLoop, which only reads datagrams, and dispatchLoop, which
// owns the v5wire codec with its sessions and challenges, the rate limiters
// and every request in flight, with one timer for the earliest response
// deadline; requests and TALKREQ handlers post closures to it. TALKREQ
// handlers run on goroutines of their own, at most 64 at once.
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
// # discv5
//
// Packets travel in sessions keyed by node ID and UDP endpoint, so a node
// that changes address makes a new handshake. A packet that does not
// decrypt is answered with WHOAREYOU; while that challenge is pending, the
// same challenge is sent again. When a request of ours meets WHOAREYOU it is
// sent again in a handshake packet, once: a second WHOAREYOU fails it
// (ErrTooManyChallenges). Our record goes into the handshake when the
// challenge's enr-seq is older than ours. One request is in flight per node,
// up to 32 more queue behind it; each waits 700ms for its answer (restarted
// by the handshake and by each NODES packet). Request IDs are 8 random
// bytes; longer ones from the wire fail decoding.
//
// FINDNODE is served for the first three distinct distances of a request
// (0 is our own record; the rest are ignored), with at most 16 live table
// entries the requester may relay, split into NODES packets. Answers to our
// FINDNODE are read up to the announced total, capped at 5 packets and 48
// records; a record is kept only if it verifies, lies at a requested
// distance from the responder, is no duplicate, has a UDP port above 1024,
// an address the responder may relay and one NetRestrict allows. Lookups
// ask each node for the target's log distance from it and its two
// neighbours. TALKREQ goes to the handler registered for its protocol;
// others get an empty TALKRESP. A node that completes a handshake from the
// endpoint its record names enters the table.
//
// Against floods: datagrams are rate-limited per source IP before
// decoding, as for discv4; WHOAREYOUs per IP (10/s, burst 20) and in total
// (500/s, burst 1000), so that packets from spoofed IDs and addresses
// neither make us send one packet for each nor fill the challenge cache
// (1024 entries, as the session cache); handshake packets per IP (10/s,
// burst 20) before their ECDH and signature check. The price of the total
// limit is that a flood from many spoofed sources delays new handshakes
// while it lasts. Records verified once are remembered by hash (4096),
// since lookups hear of the same nodes from many responders.
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

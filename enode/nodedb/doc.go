// Package nodedb is the node database of discovery: what this process has
// learned about other nodes, kept across restarts.
//
// It stores, per remote node ID, the latest node record (the one with the
// highest sequence number, enr.md), and per node ID and IP address the time
// of the last PING received and PONG received (the endpoint proof of
// discv4.md "Endpoint Proof") and the counts of failed FINDNODE requests for
// discv4 and discv5 separately. It also keeps the sequence number of this
// node's own record (enode.SeqStore), so a restart never republishes an old
// number. Discovery seeds its table from it with QuerySeeds; endpoints that
// have not answered a ping for NodeExpiration are dropped by Expire, which
// the expirer goroutine runs every hour once StartExpirer is called.
//
// # Storage
//
// The database is a single bbolt file (go.etcd.io/bbolt), or an in-memory
// skip list when opened with an empty path. bbolt rather than pebble or
// leveldb: it is one file, pure Go and a small dependency, and it is a
// copy-on-write B+tree whose commits are atomic, so a killed process leaves
// the file as of its last commit: it cannot be corrupted and needs no
// recovery step. Its weakness is write cost (every commit rewrites the
// touched pages and fsyncs), and discovery's write volume is small enough to
// absorb that once writes are batched. An LSM tree such as pebble would
// bring a directory of files, compactions and a much larger dependency for
// throughput this workload does not need.
//
// Writes are batched. A busy node records pings and pongs from hundreds of
// nodes a second, and a transaction with an fsync for each would not keep
// up. So writes go to an in-memory overlay that every read consults first
// (a caller always reads its own writes), and a single writer goroutine
// commits the overlay in one transaction when the oldest write is 10ms old
// (WithCommitDelay) or thousands of entries wait. A crash loses at most the
// last uncommitted batch, never the file's consistency. Flush waits for
// durability where it matters: StoreLocalSeq uses it, since a forgotten
// local sequence number could be reused for a different record.
//
// Values read from the file are bounds-checked and records are verified
// again on the way out (bbolt pages carry no checksums); a value that does
// not decode reads as absent. Verified nodes are cached while their stored
// value stays the same, so only the first read of a record pays for the
// signature check.
//
// # Concurrency
//
// A DB is safe for concurrent use. Writes to the store happen on the writer
// goroutine only (in memory, under the store's lock); the expirer goroutine
// hands its runs to the writer, so an expiry sees every write made before
// it. Close stops the expirer, commits what is pending and closes the file.
package nodedb

package discover

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Stats are the counters of a listener since it started, for monitoring.
type Stats struct {
	TableNodes int               // entries in the table's buckets (replacement lists not counted)
	PacketsIn  map[string]uint64 // by packet name, e.g. "PING/v4", "FINDNODE/v5", "WHOAREYOU/v5", "HANDSHAKE/v5"
	PacketsOut map[string]uint64
	// BytesIn and BytesOut count datagram payloads read and written.
	BytesIn, BytesOut uint64
	// Dropped counts datagrams, and for discv5 also records of NODES
	// answers, that were not used: undecodable, rate-limited, restricted,
	// unsolicited, invalid.
	Dropped uint64
}

// statsCounter collects Stats. The byte and drop counters are atomic; the
// maps, keyed by the few packet names, are guarded by the mutex.
type statsCounter struct {
	bytesIn, bytesOut, dropped atomic.Uint64
	mu                         sync.Mutex
	pktIn, pktOut              map[string]uint64
}

func (s *statsCounter) init() {
	s.pktIn = make(map[string]uint64)
	s.pktOut = make(map[string]uint64)
}

// read counts a datagram of n bytes read.
func (s *statsCounter) read(n int) { s.bytesIn.Add(uint64(n)) }

func (s *statsCounter) drop() { s.dropped.Add(1) }

// countIn counts a received packet by name.
func (s *statsCounter) countIn(name string) {
	s.mu.Lock()
	s.pktIn[name]++
	s.mu.Unlock()
}

// out counts a packet sent by name, of n bytes (0 for a message carried
// inside another packet).
func (s *statsCounter) out(name string, n int) {
	s.bytesOut.Add(uint64(n))
	s.mu.Lock()
	s.pktOut[name]++
	s.mu.Unlock()
}

func (s *statsCounter) snapshot(tableNodes int) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		TableNodes: tableNodes,
		PacketsIn:  maps.Clone(s.pktIn),
		PacketsOut: maps.Clone(s.pktOut),
		BytesIn:    s.bytesIn.Load(),
		BytesOut:   s.bytesOut.Load(),
		Dropped:    s.dropped.Load(),
	}
}

package gossip

// DefaultSeenCapacity is how many message IDs a node remembers to drop
// duplicates. A message that comes back after its ID was evicted is
// delivered and forwarded again, so the capacity must exceed the number of
// messages the mesh carries during the time a message takes to flood it;
// 16384 IDs (512 KiB) cover a thousand messages a second for many seconds.
const DefaultSeenCapacity = 16384

// seenSet remembers the most recently added IDs, at most cap of them; the
// oldest is forgotten first. Seen messages are not refreshed on a hit: what
// matters is how long ago a message first passed, not how often it echoes.
// It is not safe for concurrent use.
type seenSet struct {
	ids  map[ID]struct{}
	ring []ID // insertion order; next is the slot to overwrite when full
	next int
}

func newSeenSet(capacity int) *seenSet {
	if capacity <= 0 {
		capacity = DefaultSeenCapacity
	}
	return &seenSet{ids: make(map[ID]struct{}, capacity), ring: make([]ID, 0, capacity)}
}

// add records id and reports whether it was new.
func (s *seenSet) add(id ID) bool {
	if _, ok := s.ids[id]; ok {
		return false
	}
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, id)
	} else {
		delete(s.ids, s.ring[s.next])
		s.ring[s.next] = id
		s.next = (s.next + 1) % len(s.ring)
	}
	s.ids[id] = struct{}{}
	return true
}

func (s *seenSet) contains(id ID) bool {
	_, ok := s.ids[id]
	return ok
}

func (s *seenSet) len() int { return len(s.ids) }

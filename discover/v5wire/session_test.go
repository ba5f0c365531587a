package v5wire

import (
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

func TestSessionCacheLRU(t *testing.T) {
	sc := NewSessionCache(2, nil)
	ids := []enode.ID{{1}, {2}, {3}}
	s := []*Session{{}, {}, {}}
	sc.StoreSession(ids[0], "a", s[0])
	sc.StoreSession(ids[1], "a", s[1])
	if sc.Session(ids[0], "a") != s[0] { // 0 is now the most recent
		t.Fatal("session 0 missing")
	}
	sc.StoreSession(ids[2], "a", s[2]) // evicts 1
	if sc.Session(ids[1], "a") != nil {
		t.Error("least recently used session not evicted")
	}
	if sc.Session(ids[0], "a") != s[0] || sc.Session(ids[2], "a") != s[2] {
		t.Error("recent sessions evicted")
	}
	if sc.Session(ids[0], "b") != nil {
		t.Error("session found under another endpoint")
	}
	// Replacing keeps the count.
	sc.StoreSession(ids[0], "a", s[1])
	if sc.Session(ids[0], "a") != s[1] {
		t.Error("session not replaced")
	}
	if n, _ := sc.Len(); n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
	sc.DeleteSession(ids[0], "a")
	sc.DeleteSession(ids[0], "a")
	if n, _ := sc.Len(); n != 1 || sc.Session(ids[0], "a") != nil {
		t.Errorf("after delete: %d sessions", n)
	}
}

func TestSessionCacheChallenges(t *testing.T) {
	now := time.Unix(1000, 0)
	sc := NewSessionCache(2, func() time.Time { return now })
	w1, w2, w3 := &Whoareyou{}, &Whoareyou{}, &Whoareyou{}
	sc.StoreChallenge(enode.ID{1}, "a", w1)
	now = now.Add(HandshakeTimeout / 2)
	sc.StoreChallenge(enode.ID{2}, "a", w2)
	if sc.Challenge(enode.ID{1}, "a") != w1 || sc.Challenge(enode.ID{2}, "a") != w2 {
		t.Fatal("challenges missing")
	}
	now = now.Add(HandshakeTimeout / 2) // w1 expires now, w2 later
	if sc.Challenge(enode.ID{1}, "a") != nil {
		t.Error("expired challenge returned")
	}
	if sc.Challenge(enode.ID{2}, "a") != w2 {
		t.Error("live challenge missing")
	}
	if _, n := sc.Len(); n != 1 {
		t.Errorf("%d challenges held, want 1 (expired one dropped)", n)
	}
	// The limit holds under a flood.
	for i := range 10 {
		sc.StoreChallenge(enode.ID{byte(10 + i)}, "a", w3)
	}
	if _, n := sc.Len(); n != 2 {
		t.Errorf("%d challenges held, want 2", n)
	}
	sc.DeleteChallenge(enode.ID{19}, "a")
	if sc.Challenge(enode.ID{19}, "a") != nil || sc.Challenge(enode.ID{18}, "a") != w3 {
		t.Error("delete removed the wrong challenge")
	}
}

func TestLRURingReuse(t *testing.T) {
	l := newLRU[int, int](3)
	for i := range 100 {
		l.put(i%7, i)
		if i%3 == 0 {
			l.remove((i + 1) % 7)
		}
		if v, ok := l.get(i % 7); !ok || v != i {
			t.Fatalf("step %d: get = %d, %v", i, v, ok)
		}
		if l.len() > 3 {
			t.Fatalf("step %d: %d entries", i, l.len())
		}
	}
	// The ring and the map agree.
	n := 0
	for e := l.root.next; e != &l.root; e = e.next {
		if l.items[e.key] != e {
			t.Fatalf("ring entry %d not in map", e.key)
		}
		n++
	}
	if n != l.len() {
		t.Fatalf("ring has %d entries, map %d", n, l.len())
	}
}

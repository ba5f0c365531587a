package dnsdisc

import "testing"

func TestLRU(t *testing.T) {
	c := newLRU[string, int](3)
	c.add("a", 1)
	c.add("b", 2)
	c.add("c", 3)
	c.get("a")    // a is now the most recent
	c.add("d", 4) // evicts b
	if _, ok := c.get("b"); ok {
		t.Fatal("least recently used key kept")
	}
	for k, want := range map[string]int{"a": 1, "c": 3, "d": 4} {
		if v, ok := c.get(k); !ok || v != want {
			t.Fatalf("get(%s) = %d, %v", k, v, ok)
		}
	}
	c.add("a", 10) // update in place
	if v, _ := c.get("a"); v != 10 || c.len() != 3 {
		t.Fatalf("update: %d, len %d", v, c.len())
	}
	if z := newLRU[string, int](0); func() bool { z.add("x", 1); return z.len() != 0 }() {
		t.Fatal("zero-size cache stored an entry")
	}
}

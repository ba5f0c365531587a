package enode

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func randomID(rng *rand.Rand) (id ID) {
	for i := range id {
		id[i] = byte(rng.Uint32())
	}
	return id
}

func TestParseID(t *testing.T) {
	const h = "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7"
	id, err := ParseID(h)
	if err != nil || id.String() != h {
		t.Fatalf("ParseID = %v, %v", id, err)
	}
	if id2, err := ParseID("0x" + strings.ToUpper(h)); err != nil || id2 != id {
		t.Fatalf("ParseID(0x, upper) = %v, %v", id2, err)
	}
	if id.TerminalString() != h[:16] {
		t.Errorf("TerminalString %s", id.TerminalString())
	}
	if id.GoString() != `enode.HexID("`+h+`")` {
		t.Errorf("GoString %s", id.GoString())
	}
	txt, _ := id.MarshalText()
	var back ID
	if err := back.UnmarshalText(txt); err != nil || back != id {
		t.Errorf("text round trip: %v", err)
	}
	for _, bad := range []string{"", h[:62], h + "00", "zz" + h[2:], "0x"} {
		if _, err := ParseID(bad); !errors.Is(err, ErrInvalidID) {
			t.Errorf("ParseID(%q): %v, want ErrInvalidID", bad, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("HexID of invalid input did not panic")
		}
	}()
	HexID("xyz")
}

func xorBig(a, b ID) *big.Int {
	var x ID
	for i := range a {
		x[i] = a[i] ^ b[i]
	}
	return new(big.Int).SetBytes(x[:])
}

func TestLogDist(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		a := randomID(rng)
		b := a
		// Vary how many leading bits are shared.
		n := rng.IntN(257)
		if n > 0 {
			b = RandomID(a, n)
		}
		d := LogDist(a, b)
		if want := xorBig(a, b).BitLen(); d != want {
			t.Fatalf("LogDist = %d, want %d", d, want)
		}
		if d != n {
			t.Fatalf("LogDist(a, RandomID(a, %d)) = %d", n, d)
		}
		if LogDist(b, a) != d {
			t.Fatal("LogDist not symmetric")
		}
	}
	var zero ID
	if LogDist(zero, zero) != 0 {
		t.Error("LogDist(x, x) != 0")
	}
	var top ID
	top[0] = 0x80
	if LogDist(zero, top) != 256 {
		t.Error("LogDist with differing top bit != 256")
	}
	var low ID
	low[31] = 1
	if LogDist(zero, low) != 1 {
		t.Error("LogDist with differing low bit != 1")
	}
}

func TestDistCmp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		target, a, b := randomID(rng), randomID(rng), randomID(rng)
		if rng.IntN(4) == 0 {
			// Share a long prefix so later words decide.
			b = RandomID(a, rng.IntN(64)+1)
		}
		want := xorBig(target, a).Cmp(xorBig(target, b))
		if got := DistCmp(target, a, b); got != want {
			t.Fatalf("DistCmp = %d, want %d", got, want)
		}
		if DistCmp(target, b, a) != -want {
			t.Fatal("DistCmp not antisymmetric")
		}
		if DistCmp(target, a, a) != 0 {
			t.Fatal("DistCmp(t, a, a) != 0")
		}
	}
}

func TestRandomID(t *testing.T) {
	var a ID
	if RandomID(a, 0) != a {
		t.Error("RandomID(a, 0) != a")
	}
	// The bits after the differing one vary.
	seen := map[ID]bool{}
	for range 20 {
		seen[RandomID(a, 256)] = true
	}
	if len(seen) < 19 {
		t.Errorf("RandomID(a, 256) produced only %d distinct IDs in 20", len(seen))
	}
	for _, n := range []int{-1, 257} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RandomID(a, %d) did not panic", n)
				}
			}()
			RandomID(a, n)
		}()
	}
}

package nat

import (
	"testing"
	"time"
)

// RFC 6887 section 8.5's rules for telling that a server lost its state.
func TestEpochTracker(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	for _, tc := range []struct {
		name   string
		epochs []uint32
		at     []time.Duration
		lost   []bool
	}{
		{"steady", []uint32{1000, 1060, 1660}, []time.Duration{0, time.Minute, 11 * time.Minute}, []bool{false, false, false}},
		{"reboot", []uint32{1000, 5}, []time.Duration{0, time.Minute}, []bool{false, true}},
		{"one second back is jitter", []uint32{1000, 999}, []time.Duration{0, 0}, []bool{false, false}},
		{"two seconds back", []uint32{1000, 998}, []time.Duration{0, 0}, []bool{false, true}},
		{"epoch stood still", []uint32{1000, 1000}, []time.Duration{0, time.Minute}, []bool{false, true}},
		{"epoch raced ahead", []uint32{1000, 2000}, []time.Duration{0, 10 * time.Second}, []bool{false, true}},
		{"clock skew within 1/16", []uint32{1000, 1000 + 570}, []time.Duration{0, 10 * time.Minute}, []bool{false, false}},
		{"after reboot, steady again", []uint32{1000, 5, 65}, []time.Duration{0, time.Minute, 2 * time.Minute}, []bool{false, true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e epochTracker
			for i, ep := range tc.epochs {
				if got := e.observe(ep, t0.Add(tc.at[i])); got != tc.lost[i] {
					t.Fatalf("observation %d (epoch %d at %v): lost=%v, want %v", i, ep, tc.at[i], got, tc.lost[i])
				}
			}
		})
	}
}

package leakcheck

import (
	"strings"
	"testing"
)

func parkedUntilClosed(c chan struct{}) { <-c }

func TestLeakedReportsRunningGoroutines(t *testing.T) {
	release := make(chan struct{})
	go parkedUntilClosed(release)
	if got := Leaked(); !strings.Contains(got, "parkedUntilClosed") {
		t.Fatalf("a goroutine parked in this module was not reported; got %q", got)
	}
	close(release)
	if got := Leaked(); got != "" {
		t.Fatalf("after it returned, still reported:\n%s", got)
	}
}

func TestLeakedExtraMarkers(t *testing.T) {
	if got := Leaked("no-such-library"); got != "" {
		t.Fatalf("nothing should be running, got:\n%s", got)
	}
}

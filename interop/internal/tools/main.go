package tools

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests of a package, removes the binary Trellis built, and
// then fails the run if a goroutine whose stack mentions any of the given
// code paths (package import paths, or parts of them) is still running:
// every node and listener must be closed by its test's cleanup. Goroutines
// that are on their way out get up to grace to finish; go-ethereum's Stop,
// for one, leaves connections in setup to end "soon-ish".
func Main(m *testing.M, grace time.Duration, code ...string) {
	status := m.Run()
	Cleanup()
	if status == 0 {
		if leaked := leakedGoroutines(grace, code); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s\n", leaked)
			status = 1
		}
	}
	os.Exit(status)
}

func leakedGoroutines(grace time.Duration, code []string) string {
	deadline := time.Now().Add(grace)
	for {
		buf := make([]byte, 8<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "tools.leakedGoroutines") || strings.Contains(g, "testing.(*M)") {
				continue
			}
			for _, c := range code {
				if strings.Contains(g, c) {
					leaked = append(leaked, g)
					break
				}
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(20 * time.Millisecond) // polling for goroutines to exit; there is no event for it
	}
}

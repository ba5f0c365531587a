// Package leakcheck fails a test binary whose tests leave goroutines behind
// (STYLE.md: "a goroutine-leak check in TestMain of every package that
// starts goroutines"). Use it as the package's TestMain:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Module marks the goroutines checked by default: those running code of
// this module.
const Module = "github.com/trellis-p2p/trellis/"

// Main runs the tests and, when they pass, fails the binary if a goroutine
// whose stack mentions Module or one of extra (such as a library's package
// path) is still running. It does not return.
func Main(m *testing.M, extra ...string) {
	code := m.Run()
	if code == 0 {
		if leaked := Leaked(extra...); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// Leaked returns the stacks of goroutines still running code of this module
// (or matching extra). Goroutines on their way out get about two seconds to
// finish first.
func Leaked(extra ...string) string {
	markers := append([]string{Module}, extra...)
	var leaked strings.Builder
	for range 100 {
		leaked.Reset()
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if matches(g, markers) && !strings.Contains(g, "leakcheck.Leaked") && !strings.Contains(g, "testing.(*M)") {
				leaked.WriteString(g)
				leaked.WriteString("\n\n")
			}
		}
		if leaked.Len() == 0 {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
	return leaked.String()
}

func matches(stack string, markers []string) bool {
	for _, m := range markers {
		if strings.Contains(stack, m) {
			return true
		}
	}
	return false
}

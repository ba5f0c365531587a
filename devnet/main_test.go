package devnet

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines returns the stacks of goroutines still running code of
// this module, after giving exiting ones a moment.
func leakedGoroutines() string {
	var leaked string
	for range 100 {
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		leaked = ""
		for _, g := range strings.Split(string(buf), "\n\n") {
			if !strings.Contains(g, "github.com/trellis-p2p/trellis/") ||
				strings.Contains(g, "leakedGoroutines") || strings.Contains(g, "testing.(*M)") {
				continue
			}
			leaked += g + "\n\n"
		}
		if leaked == "" {
			return ""
		}
		time.Sleep(10 * time.Millisecond) // exiting goroutines need real time to finish
	}
	return leaked
}

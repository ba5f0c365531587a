package natbed

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
	// The children end with their process; the parent must not leave
	// readers of their output behind.
	if code == 0 && os.Getenv(envRole) == "" {
		if leaked := leakedGoroutines(); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func leakedGoroutines() string {
	var leaked string
	for range 100 {
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		leaked = ""
		for _, g := range strings.Split(string(buf), "\n\n") {
			if !strings.Contains(g, "github.com/trellis-p2p/trellis/") && !strings.Contains(g, "os/exec.") {
				continue
			}
			if strings.Contains(g, "leakedGoroutines") || strings.Contains(g, "testing.(*M)") {
				continue
			}
			leaked += g + "\n\n"
		}
		if leaked == "" {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
	return leaked
}

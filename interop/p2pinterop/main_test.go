package p2pinterop

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/interop/internal/tools"
)

func TestMain(m *testing.M) {
	code := m.Run()
	tools.Cleanup()
	if code == 0 {
		if leaked := leakedGoroutines(); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines returns the stacks of goroutines still running code of
// Trellis or go-ethereum once the tests are done. go-ethereum's Stop leaves
// connections in setup to finish "soon-ish", so exiting goroutines get up to
// five seconds.
func leakedGoroutines() string {
	var leaked string
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 8<<20)
		buf = buf[:runtime.Stack(buf, true)]
		leaked = ""
		for _, g := range strings.Split(string(buf), "\n\n") {
			if !strings.Contains(g, "github.com/trellis-p2p/trellis") && !strings.Contains(g, "github.com/ethereum/go-ethereum") {
				continue
			}
			if strings.Contains(g, "leakedGoroutines") || strings.Contains(g, "testing.(*M)") {
				continue
			}
			leaked += g + "\n\n"
		}
		if leaked == "" || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond) // polling for goroutines to exit; there is no event for it
	}
}

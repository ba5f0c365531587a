package discv5interop

import (
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/interop/internal/tools"
)

// TestMain fails the run if a Trellis discovery goroutine outlives the
// tests: every listener is closed by its test's cleanup.
func TestMain(m *testing.M) { tools.Main(m, time.Second, "trellis/discover.") }

package p2pinterop

import (
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/interop/internal/tools"
)

// TestMain fails the run if a goroutine running Trellis or go-ethereum code
// outlives the tests. go-ethereum's Stop leaves connections in setup to
// finish "soon-ish", so exiting goroutines get up to five seconds.
func TestMain(m *testing.M) {
	tools.Main(m, 5*time.Second, "github.com/trellis-p2p/trellis", "github.com/ethereum/go-ethereum")
}

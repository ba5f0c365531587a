package nat

import (
	"testing"

	"github.com/trellis-p2p/trellis/internal/leakcheck"
)

// Besides our own, goroutines of the UPnP library and of HTTP connections it
// keeps alive must be gone.
func TestMain(m *testing.M) { leakcheck.Main(m, "goupnp", "net/http.(*persistConn)") }

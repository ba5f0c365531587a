package gossip

import (
	"testing"

	"github.com/trellis-p2p/trellis/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

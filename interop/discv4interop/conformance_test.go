package discv4interop

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/interop/internal/tools"
)

// TestConformance runs go-ethereum's discv4 conformance suite against
// "trellis discv4 listen" and requires every test to pass.
func TestConformance(t *testing.T) {
	devp2p := tools.Devp2p(t)
	trellis := tools.Trellis(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	listener := exec.CommandContext(ctx, trellis, "discv4", "listen", "--addr", "127.0.0.1:0")
	stdout, err := listener.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	listener.Stderr = &stderr
	if err := listener.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		listener.Process.Signal(os.Interrupt)
		listener.Wait()
		if stderr.Len() > 0 {
			t.Logf("listener stderr:\n%s", stderr.String())
		}
	}()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("listener printed nothing: %v", lines.Err())
	}
	url := lines.Text()
	if !lines.Scan() {
		t.Fatalf("listener printed no record: %v", lines.Err())
	}
	t.Logf("listener: %s\n          %s", url, lines.Text())

	suite := exec.CommandContext(ctx, devp2p, "discv4", "test",
		"--remote", url, "--listen1", "127.0.0.1", "--listen2", "127.0.0.2")
	out, err := suite.CombinedOutput()
	t.Logf("devp2p discv4 test:\n%s", out)
	if err != nil {
		t.Fatalf("devp2p discv4 test failed: %v", err)
	}
	if !strings.Contains(string(out), "15/15 tests passed.") {
		t.Fatal("want 15/15 tests passed")
	}
}

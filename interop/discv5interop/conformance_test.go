package discv5interop

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

// suiteTests is the number of tests in go-ethereum v1.17.10's discv5 suite
// (cmd/devp2p/internal/v5test, Suite.AllTests).
const suiteTests = "10/10 tests passed."

// TestConformance runs go-ethereum's discv5 conformance suite against
// "trellis discv5 listen" and requires every test to pass.
func TestConformance(t *testing.T) {
	runSuite(t, []string{"discv5", "listen"}, 1)
}

// TestConformanceShared runs the suite against "trellis discovery listen",
// where discv5 gets the datagrams discv4 does not take from a shared socket.
func TestConformanceShared(t *testing.T) {
	runSuite(t, []string{"discovery", "listen"}, 2)
}

// runSuite starts the listener command, whose record is the last of the
// lines it prints first, and runs the suite against it.
func runSuite(t *testing.T, command []string, lines int) {
	devp2p := tools.Devp2p(t)
	trellis := tools.Trellis(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	listener := exec.CommandContext(ctx, trellis, append(command, "--addr", "127.0.0.1:0")...)
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
	scan := bufio.NewScanner(stdout)
	var printed []string
	for len(printed) < lines {
		if !scan.Scan() {
			t.Fatalf("listener printed %q, want %d lines: %v", printed, lines, scan.Err())
		}
		printed = append(printed, scan.Text())
	}
	record := printed[lines-1]
	if !strings.HasPrefix(record, "enr:") {
		t.Fatalf("listener printed %q, want its record last", printed)
	}
	t.Logf("listener: %s", strings.Join(printed, "\n          "))

	suite := exec.CommandContext(ctx, devp2p, "discv5", "test",
		"--listen1", "127.0.0.1", "--listen2", "127.0.0.2", record)
	out, err := suite.CombinedOutput()
	t.Logf("devp2p discv5 test:\n%s", out)
	if err != nil {
		t.Fatalf("devp2p discv5 test failed: %v", err)
	}
	if !strings.Contains(string(out), suiteTests) {
		t.Fatalf("want %q", suiteTests)
	}
}

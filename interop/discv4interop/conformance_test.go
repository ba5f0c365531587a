package discv4interop

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// devp2pVersion is the go-ethereum release whose conformance suite CI runs:
// go install github.com/ethereum/go-ethereum/cmd/devp2p@v1.17.10
const devp2pVersion = "v1.17.10"

// findDevp2p returns the devp2p binary from PATH or GOPATH/bin.
func findDevp2p(t *testing.T) string {
	if p, err := exec.LookPath("devp2p"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "devp2p")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("devp2p not found in PATH or GOPATH/bin; install it with: go install github.com/ethereum/go-ethereum/cmd/devp2p@%s", devp2pVersion)
	return ""
}

// buildTrellis builds cmd/trellis into a temporary directory, in the main
// module (two directories up), as users build it.
func buildTrellis(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "trellis")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/trellis")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building trellis: %v\n%s", err, out)
	}
	return bin
}

// TestConformance runs go-ethereum's discv4 conformance suite against
// "trellis discv4 listen" and requires every test to pass.
func TestConformance(t *testing.T) {
	devp2p := findDevp2p(t)
	trellis := buildTrellis(t)

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

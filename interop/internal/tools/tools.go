// Package tools finds and builds the programs the interop tests run as
// separate processes: the trellis command, built from this checkout, and
// go-ethereum's devp2p tool, which carries the discv4/discv5 conformance
// suites and the DNS tree tools.
package tools

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Devp2pVersion is the go-ethereum release whose devp2p tool the tests use:
//
//	go install github.com/ethereum/go-ethereum/cmd/devp2p@v1.17.10
const Devp2pVersion = "v1.17.10"

// RequireDevp2pEnv, when set to 1 (scripts/test.sh sets it after installing
// the tool), turns a missing devp2p binary into a test failure.
const RequireDevp2pEnv = "TRELLIS_REQUIRE_DEVP2P"

// Devp2p returns the path of go-ethereum's devp2p binary, from PATH or
// GOPATH/bin. Without it the test is skipped, or fails when
// RequireDevp2pEnv is set.
func Devp2p(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("devp2p"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "devp2p")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := "devp2p not found in PATH or GOPATH/bin; install it with: go install github.com/ethereum/go-ethereum/cmd/devp2p@" + Devp2pVersion
	if os.Getenv(RequireDevp2pEnv) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

var build struct {
	once sync.Once
	dir  string
	bin  string
	out  []byte
	err  error
}

// Trellis builds cmd/trellis once per test process and returns the binary's
// path. It builds in the main module (found through interop's replace
// directive), as users build it, so the main module's own go.sum applies.
func Trellis(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/trellis-p2p/trellis").Output()
		if err != nil {
			build.err = err
			return
		}
		if build.dir, build.err = os.MkdirTemp("", "trellis-bin-"); build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "trellis")
		cmd := exec.Command("go", "build", "-o", build.bin, "./cmd/trellis")
		cmd.Dir = strings.TrimSpace(string(root))
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("building trellis: %v\n%s", build.err, build.out)
	}
	return build.bin
}

// Cleanup removes the binary built by Trellis. Call it from TestMain after
// the tests have run.
func Cleanup() {
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
}

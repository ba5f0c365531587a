// Package dnsbed runs a real DNS server (dnsmasq, through
// scripts/dnsbed/dnsbed.sh) on a loopback address for tests of DNS
// discovery. Tests skip when the machine cannot run it (not root, dnsmasq
// missing) unless DNSBED_REQUIRED=1, which turns the skip into a failure so
// that CI notices a missing package.
package dnsbed

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// skipStatus is the script's exit status for "cannot run here".
const skipStatus = 77

// Script returns the path of dnsbed.sh in the source tree.
func Script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "dnsbed", "dnsbed.sh")
}

// Start serves records (DNS name to TXT text, as dnsdisc.Tree.ToTXT
// returns) and the raw dnsmasq configuration lines extra, and returns the
// server's "ip:port". The server stops when the test ends.
func Start(t testing.TB, records map[string]string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	var tsv bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(records)) {
		text := records[name]
		if strings.ContainsAny(name, "\t\n") || strings.ContainsAny(text, "\n") {
			t.Fatalf("dnsbed: record %q cannot be served (tab or newline)", name)
		}
		fmt.Fprintf(&tsv, "%s\t%s\n", name, text)
	}
	if err := os.WriteFile(filepath.Join(dir, "records.tsv"), tsv.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if len(extra) > 0 {
		if err := os.WriteFile(filepath.Join(dir, "extra.conf"), []byte(strings.Join(extra, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := run("start", dir)
	if err != nil {
		skipOrFail(t, err)
	}
	t.Cleanup(func() {
		if _, err := run("stop", dir); err != nil {
			t.Errorf("dnsbed stop: %v", err)
		}
	})
	addr := strings.TrimSpace(out)
	t.Logf("dnsbed: dnsmasq serving %d records on %s (log: %s)", len(records), addr, filepath.Join(dir, "dnsmasq.log"))
	return addr
}

// Check skips (or fails, with DNSBED_REQUIRED=1) the test if no server can
// be started here.
func Check(t testing.TB) {
	t.Helper()
	if _, err := run("check"); err != nil {
		skipOrFail(t, err)
	}
}

// Available reports why no server can be started here, nil if one can. With
// DNSBED_REQUIRED=1 it fails the test instead of returning an error, for
// tests that carry on without the server.
func Available(t testing.TB) error {
	t.Helper()
	_, err := run("check")
	if err != nil && os.Getenv("DNSBED_REQUIRED") == "1" {
		t.Fatalf("dnsbed: %v", err)
	}
	return err
}

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == skipStatus && os.Getenv("DNSBED_REQUIRED") != "1" {
		t.Skipf("no DNS testbed here: %v", err)
	}
	t.Fatalf("dnsbed: %v", err)
}

func run(args ...string) (string, error) {
	cmd := exec.Command(Script(), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

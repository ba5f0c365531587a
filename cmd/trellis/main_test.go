package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// trellis runs the command line in-process and returns its exit status and output.
func trellis(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestDispatch(t *testing.T) {
	code, out, _ := trellis(t)
	if code != 0 || !strings.Contains(out, "key generate") {
		t.Fatalf("no-argument help: code %d, output %q", code, out)
	}
	code, _, errOut := trellis(t, "no-such-command")
	if code != 2 || !strings.Contains(errOut, `unknown command "no-such-command"`) {
		t.Fatalf("unknown command: code %d, stderr %q", code, errOut)
	}
	code, out, errOut = trellis(t, "key", "inspect", "--help")
	if code != 0 || !strings.Contains(out, "-tcp") || !strings.Contains(out, "(default 30303)") {
		t.Fatalf("--help should list flags with defaults: code %d, output %q", code, out)
	}
	if strings.Count(out, "Usage:") != 1 || errOut != "" {
		t.Fatalf("--help should print the usage once, to stdout: stdout %q stderr %q", out, errOut)
	}
	code, _, errOut = trellis(t, "key", "inspect", "--no-such-flag", "x")
	if code != 2 || !strings.Contains(errOut, "flag provided but not defined") || !strings.Contains(errOut, "--help") {
		t.Fatalf("unknown flag: code %d stderr %q", code, errOut)
	}
	code, _, errOut = trellis(t, "key", "inspect")
	if code != 2 || !strings.Contains(errOut, "--help") {
		t.Fatalf("missing argument should be a usage error: code %d, stderr %q", code, errOut)
	}
}

func TestInterleavedFlags(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "nodekey")
	if code, _, errOut := trellis(t, "key", "generate", key); code != 0 {
		t.Fatalf("key generate: %d %s", code, errOut)
	}
	// Flags after the positional argument work as well as before it.
	_, before, _ := trellis(t, "key", "inspect", "--tcp", "4000", key)
	_, after, _ := trellis(t, "key", "inspect", key, "--tcp", "4000")
	if before != after || !strings.Contains(before, ":4000") {
		t.Fatalf("flag placement changed the result:\n%s\n%s", before, after)
	}
}

func TestKeyGenerateInspect(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "nodekey")
	code, out, _ := trellis(t, "key", "generate", key)
	if code != 0 {
		t.Fatalf("key generate failed: %d", code)
	}
	id := strings.TrimSpace(strings.TrimPrefix(out, "Node ID:"))
	data, err := os.ReadFile(key)
	if err != nil || len(data) != 64 {
		t.Fatalf("key file should hold 64 hex characters, got %q (%v)", data, err)
	}
	code, out, _ = trellis(t, "key", "inspect", "--ip", "10.0.0.1", "--udp", "30301", key)
	if code != 0 || !strings.Contains(out, "Node ID: "+id) || !strings.Contains(out, "@10.0.0.1:30303?discport=30301") {
		t.Fatalf("key inspect: code %d output %q", code, out)
	}
	// A second generate must not silently replace the identity.
	if code, _, errOut := trellis(t, "key", "generate", key); code != 1 || !strings.Contains(errOut, "--force") {
		t.Fatalf("overwriting without --force: code %d stderr %q", code, errOut)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if code, _, errOut := trellis(t, "key", "inspect", bad); code != 1 || !strings.Contains(errOut, "64 hex characters") {
		t.Fatalf("unreadable key: code %d stderr %q", code, errOut)
	}
}

// The EIP-778 example record.
const exampleENR = "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8"

func TestENRDecode(t *testing.T) {
	code, out, _ := trellis(t, "enr", "decode", "--json", exampleENR)
	if code != 0 {
		t.Fatalf("enr decode failed: %d", code)
	}
	var s enrSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if !s.Valid || s.NodeID != "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7" ||
		s.Seq != 1 || s.IP != "127.0.0.1" || s.UDP != 30303 || s.Pairs["id"] != `"v4"` {
		t.Fatalf("wrong summary: %+v", s)
	}
	code, out, _ = trellis(t, "enr", "decode", exampleENR)
	if code != 0 || !strings.Contains(out, "Signature: valid") {
		t.Fatalf("text output: %d %q", code, out)
	}
	// A flipped signature byte must be reported, not hidden.
	tampered := exampleENR[:20] + "A" + exampleENR[21:]
	if tampered == exampleENR {
		tampered = exampleENR[:20] + "B" + exampleENR[21:]
	}
	code, out, _ = trellis(t, "enr", "decode", tampered)
	if code != 0 || !strings.Contains(out, "INVALID") {
		t.Fatalf("tampered record: %d %q", code, out)
	}
	if code, _, errOut := trellis(t, "enr", "decode", "enr:!!!"); code != 1 || !strings.Contains(errOut, "invalid record") {
		t.Fatalf("malformed record: %d %q", code, errOut)
	}
}

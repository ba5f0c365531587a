package crypto

import (
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const testKeyFileHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestParseNodeKey mirrors go-ethereum's LoadECDSA acceptance rules, case by
// case, so key files move freely between the two.
func TestParseNodeKey(t *testing.T) {
	k := testKeyFileHex
	tests := []struct {
		name, input string
		want        error // nil: accepted
	}{
		{"bare", k, nil},
		{"LF", k + "\n", nil},
		{"CRLF", k + "\r\n", nil},
		{"CR", k + "\r", nil},
		{"LF LF", k + "\n\n", nil},
		{"LF CR", k + "\n\r", nil},
		{"upper case", strings.ToUpper(k), nil},

		{"empty", "", ErrInvalidKeyFile},
		{"63 chars", k[:63], ErrInvalidKeyFile},
		{"63 chars LF", k[:63] + "\n", ErrInvalidKeyFile},
		{"space inside", k[:10] + " " + k[11:], ErrInvalidKeyFile},
		{"leading space", " " + k, ErrInvalidKeyFile},
		{"leading LF", "\n" + k, ErrInvalidKeyFile},
		{"NUL inside", k[:20] + "\x00" + k[21:], ErrInvalidKeyFile},
		{"bad hex", k[:63] + "X", ErrInvalidKeyFile},
		{"0x prefix", "0x" + k[:62], ErrInvalidKeyFile},
		{"0x prefix full", "0x" + k, ErrInvalidKeyFile},
		{"65 chars", k + "0", ErrInvalidKeyFile},
		{"trailing X", k + "X", ErrInvalidKeyFile},
		{"trailing space", k + " ", ErrInvalidKeyFile},
		{"trailing tab", k + "\t", ErrInvalidKeyFile},
		{"three newlines", k + "\n\n\n", ErrInvalidKeyFile},
		{"CRLF CRLF", k + "\r\n\r\n", ErrInvalidKeyFile},
		{"LF then X", k + "\nX", ErrInvalidKeyFile},
		{"LF LF X", k + "\n\nX", ErrInvalidKeyFile},
		{"two keys", k + "\n" + k, ErrInvalidKeyFile},
		{"zero key", strings.Repeat("0", 64), ErrInvalidPrivateKey},
		{"key = N", hexN, ErrInvalidPrivateKey},
		{"key > N", strings.Repeat("f", 64), ErrInvalidPrivateKey},
	}
	for _, tt := range tests {
		key, err := ParseNodeKey([]byte(tt.input))
		switch {
		case tt.want == nil && err != nil:
			t.Errorf("%s: unexpected error %v", tt.name, err)
		case tt.want == nil && !strings.EqualFold(hex.EncodeToString(FromPrivateKey(key)), k):
			t.Errorf("%s: key %x", tt.name, FromPrivateKey(key))
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestSaveLoadNodeKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nodekey")
	k := mustKey(t)
	if err := SaveNodeKey(path, k); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != testPrivHex {
		t.Fatalf("file holds %q, want %q (no newline)", data, testPrivHex)
	}
	if runtime.GOOS != "windows" {
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
		}
	}
	got, err := LoadNodeKey(path)
	if err != nil || !got.Key.Equals(&k.Key) {
		t.Fatalf("LoadNodeKey = %v, %v", got, err)
	}

	// Overwriting replaces the key and leaves no temporary files behind.
	k2, _ := GenerateKeyFrom(testRand(9))
	if err := SaveNodeKey(path, k2); err != nil {
		t.Fatal(err)
	}
	if got, _ := LoadNodeKey(path); !got.Key.Equals(&k2.Key) {
		t.Fatal("overwrite did not take")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after save, want 1", len(entries))
	}
}

func TestSaveNodeKeyErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "nodekey")
	if err := SaveNodeKey(missing, mustKey(t)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
	// A directory in the way: rename fails and the temp file is cleaned up.
	dir := t.TempDir()
	target := filepath.Join(dir, "nodekey")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SaveNodeKey(target, mustKey(t)); err == nil {
		t.Fatal("saving over a non-empty directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary file left behind: %d entries", len(entries))
	}
}

func TestLoadNodeKeyErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadNodeKey(filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("absent file: err = %v", err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(testKeyFileHex+strings.Repeat("\n", 1<<20)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadNodeKey(big); !errors.Is(err, ErrInvalidKeyFile) || !strings.Contains(err.Error(), big) {
		t.Fatalf("oversized file: err = %v", err)
	}
	crlf := filepath.Join(dir, "crlf")
	if err := os.WriteFile(crlf, []byte(testPrivHex+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadNodeKey(crlf); err != nil || !k.Key.Equals(&mustKey(t).Key) {
		t.Fatalf("CRLF file: %v, %v", k, err)
	}
}

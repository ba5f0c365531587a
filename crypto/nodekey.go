package crypto

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Node key files use go-ethereum's `nodekey` format: the private key as 64 hex
// characters with no 0x prefix and, as geth writes them, no newline.
const nodeKeyHexLength = 2 * PrivateKeyLength

// maxKeyFileTrailer is how many trailing '\n' / '\r' bytes a key file may
// carry. go-ethereum's LoadECDSA accepts up to two (so "\n", "\r\n", and also
// "\n\n", "\r", ...) and rejects a third; matching it keeps key files portable
// in both directions.
const maxKeyFileTrailer = 2

// LoadNodeKey reads a node key file written by SaveNodeKey or by go-ethereum.
func LoadNodeKey(path string) (*PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("crypto: loading node key: %w", err)
	}
	defer f.Close()
	// Every verdict ParseNodeKey can reach depends only on this many leading
	// bytes, so a huge or endless file (a FIFO, /dev/zero) is never read whole.
	var buf [nodeKeyHexLength + maxKeyFileTrailer + 1]byte
	defer clear(buf[:])
	n, err := io.ReadFull(f, buf[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("crypto: loading node key: %w", err)
	}
	k, err := ParseNodeKey(buf[:n])
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return k, nil
}

// ParseNodeKey decodes the contents of a node key file. It accepts exactly
// what go-ethereum's LoadECDSA accepts: 64 hex characters followed by at most
// two bytes each '\n' or '\r'.
func ParseNodeKey(data []byte) (*PrivateKey, error) {
	// The key ends at the first byte below '!' (space or a control
	// character), as in go-ethereum; a short key is reported as such even if
	// other characters follow.
	n := 0
	for n < len(data) && n < nodeKeyHexLength && data[n] >= '!' {
		n++
	}
	if n < nodeKeyHexLength {
		return nil, fmt.Errorf("%w: too short, want %d hex characters", ErrInvalidKeyFile, nodeKeyHexLength)
	}
	trailer := data[nodeKeyHexLength:]
	for i, c := range trailer {
		if c != '\n' && c != '\r' {
			return nil, fmt.Errorf("%w: invalid character %q after key", ErrInvalidKeyFile, c)
		}
		if i >= maxKeyFileTrailer {
			return nil, fmt.Errorf("%w: too long, want %d hex characters", ErrInvalidKeyFile, nodeKeyHexLength)
		}
	}
	var b [PrivateKeyLength]byte
	defer clear(b[:])
	if _, err := hex.Decode(b[:], data[:nodeKeyHexLength]); err != nil {
		var ib hex.InvalidByteError
		if errors.As(err, &ib) {
			return nil, fmt.Errorf("%w: invalid hex character %q", ErrInvalidKeyFile, byte(ib))
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidKeyFile, err)
	}
	return ToPrivateKey(b[:])
}

// SaveNodeKey writes k to path in the node key format with mode 0600. The
// file is written under a temporary name in the same directory, synced, and
// renamed over path, so a crash leaves either the old file or the complete
// new one, never a truncated key.
func SaveNodeKey(path string, k *PrivateKey) error {
	kb := FromPrivateKey(k)
	defer clear(kb)
	var buf [nodeKeyHexLength]byte
	defer clear(buf[:])
	hex.Encode(buf[:], kb)

	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("crypto: saving node key: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("crypto: saving node key: %w", err)
	}
	// os.CreateTemp happens to create files 0600; say so explicitly rather
	// than rely on it.
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.Write(buf[:]); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("crypto: saving node key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("crypto: saving node key: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable. It is best effort: some platforms
// (Windows) cannot open or sync directories, and the rename itself already
// happened atomically.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}

//go:build !unix

package node

import (
	"errors"
	"os"
	"path/filepath"
)

// lockDir creates <dir>/LOCK exclusively. Without flock, a crashed node
// leaves the file behind and it must be deleted by hand.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, &datadirError{dir}
	}
	return f, err
}

func unlockDir(f *os.File) error {
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

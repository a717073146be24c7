package vfs

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
)

// AtomicFile is a file written under a temporary name in the directory of its path and
// published whole: readers find nothing or the complete file at the path, never a part of
// it, and a crash leaves at most the temporary file behind. Close publishes it in four
// steps: fsync the temporary file, close it, rename it to the path, fsync the directory.
type AtomicFile struct {
	fs   FS
	path string
	tmp  string
	f    File
	err  error
	done bool
}

// CreateAtomic starts the file at path, writing it under tmp, a name in the same directory
// (a file of that name is replaced). The directory must exist.
func CreateAtomic(fsys FS, path, tmp string) (*AtomicFile, error) {
	if filepath.Dir(tmp) != filepath.Dir(path) {
		return nil, fmt.Errorf("create %s: temporary name %s is in another directory", path, tmp)
	}
	f, err := fsys.Create(tmp)
	if err != nil {
		return nil, err
	}
	return &AtomicFile{fs: fsys, path: path, tmp: tmp, f: f}, nil
}

// TempName returns a temporary name for path that no other writer picks: the path's
// name, hidden behind a dot, with ".tmp-" and random digits after it, in the same
// directory.
func TempName(path string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+hex.EncodeToString(b[:]))
}

// Path returns where the file is published.
func (a *AtomicFile) Path() string { return a.path }

// Write writes p to the temporary file; after a failure it keeps returning the first
// error.
func (a *AtomicFile) Write(p []byte) (int, error) {
	if a.err != nil {
		return 0, a.err
	}
	n, err := a.f.Write(p)
	a.err = err
	return n, err
}

// Close publishes the file, durably. After a failed write, sync, close or rename it
// removes the temporary file and returns the first error, and the path is as it was. When
// only the final fsync of the directory fails, the file is at its path but may not
// survive a crash; the file is durable at its path when Close returns nil.
func (a *AtomicFile) Close() error {
	if a.done {
		return a.err
	}
	a.done = true
	if a.err == nil {
		a.err = a.f.Sync()
	}
	if err := a.f.Close(); a.err == nil {
		a.err = err
	}
	if a.err == nil {
		a.err = a.fs.Rename(a.tmp, a.path)
	}
	if a.err != nil {
		_ = a.fs.Remove(a.tmp) // it may be gone already; the error that matters is a.err
		return a.err
	}
	a.err = a.fs.SyncDir(filepath.Dir(a.path))
	return a.err
}

// Abort drops the file: the temporary file is removed and nothing appears at the path.
// After Close it does nothing.
func (a *AtomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	_ = a.f.Close()        // the file is removed either way
	_ = a.fs.Remove(a.tmp) // nothing is published whether or not this succeeds
}

// WriteAtomic publishes data as the file at path, written under tmp, as CreateAtomic and
// Close do: once it returns nil the file is whole and durable at path.
func WriteAtomic(fsys FS, path, tmp string, data []byte) error {
	a, err := CreateAtomic(fsys, path, tmp)
	if err != nil {
		return err
	}
	if _, err := a.Write(data); err != nil {
		a.Abort()
		return err
	}
	return a.Close()
}

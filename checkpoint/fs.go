package checkpoint

import (
	"io"
	"io/fs"
	"os"
)

// FS is the filesystem a Store writes through: the few operations the commit protocol
// needs and nothing else, so that a fault-injecting wrapper (package errorfs) can stand in
// for the disk in tests and another backend can stand in for a local directory later.
// Names are slash- or OS-separated paths as path/filepath builds them.
type FS interface {
	// Create creates name for writing, truncating it if it exists. Nothing written is
	// durable until the file's Sync returns, and the file's name is not durable until its
	// directory's SyncDir returns.
	Create(name string) (WriteFile, error)
	// Open opens name for reading.
	Open(name string) (io.ReadCloser, error)
	// Stat describes name; a missing name gives an error satisfying
	// errors.Is(err, fs.ErrNotExist).
	Stat(name string) (fs.FileInfo, error)
	// Rename replaces newname with oldname atomically: a reader sees one or the other,
	// never neither. The change is durable once the directories involved are synced.
	Rename(oldname, newname string) error
	// Remove removes the file or empty directory name.
	Remove(name string) error
	// RemoveAll removes name and everything below it; a missing name is not an error.
	RemoveAll(name string) error
	// MkdirAll creates the directory dir and any parents it lacks.
	MkdirAll(dir string, perm fs.FileMode) error
	// List returns the names of the entries of dir, in no particular order.
	List(dir string) ([]string, error)
	// SyncDir makes the entries of dir durable: files created, renamed or removed in it
	// survive a crash once SyncDir returns.
	SyncDir(dir string) error
}

// WriteFile is a file open for writing.
type WriteFile interface {
	io.Writer
	// Sync makes what was written durable. A Store syncs a file on the descriptor that
	// wrote it, before Close: on Linux an error of background writeback is reported
	// reliably only there.
	Sync() error
	io.Closer
}

// OSFS is the operating system's filesystem.
type OSFS struct{}

var _ FS = OSFS{}

// Create implements FS.
func (OSFS) Create(name string) (WriteFile, error) {
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
}

// Open implements FS.
func (OSFS) Open(name string) (io.ReadCloser, error) { return os.Open(name) }

// Stat implements FS.
func (OSFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// Rename implements FS.
func (OSFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

// Remove implements FS.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// RemoveAll implements FS.
func (OSFS) RemoveAll(name string) error { return os.RemoveAll(name) }

// MkdirAll implements FS.
func (OSFS) MkdirAll(dir string, perm fs.FileMode) error { return os.MkdirAll(dir, perm) }

// List implements FS.
func (OSFS) List(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return names, err
}

// SyncDir implements FS.
func (OSFS) SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

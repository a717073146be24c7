// Package vfs is the filesystem every writer of millrace goes through: the checkpoint
// store, the file sinks' staging and publishing, and the creation of output files. It
// holds the few operations those writers need (FS), the operating system's filesystem
// (OSFS), and the one way to publish a file whole (AtomicFile: a temporary name, fsync,
// rename, fsync of the directory). Package errorfs wraps an FS to fail chosen operations,
// so that crash tests inject disk faults into any writer.
//
// Durability is explicit: nothing written is durable until the file's Sync returns, and a
// name created, renamed or removed in a directory is not durable until SyncDir of that
// directory returns.
package vfs

import (
	"io"
	"io/fs"
	"os"
)

// FS is a filesystem that writers create, publish and remove files through. Names are
// slash- or OS-separated paths as path/filepath builds them.
type FS interface {
	// Create creates name for writing, truncating it if it exists.
	Create(name string) (File, error)
	// Open opens name for reading.
	Open(name string) (io.ReadCloser, error)
	// Stat describes name; a missing name gives an error satisfying
	// errors.Is(err, fs.ErrNotExist).
	Stat(name string) (fs.FileInfo, error)
	// Rename replaces newname with oldname atomically: a reader sees one or the other,
	// never neither. The change is durable once the directories involved are synced.
	Rename(oldname, newname string) error
	// Link gives the file oldname the second name newname, failing with an error
	// satisfying errors.Is(err, fs.ErrExist) when newname exists: of two writers linking
	// to one name, exactly one succeeds. The new name is durable once its directory is
	// synced.
	Link(oldname, newname string) error
	// Remove removes the file or empty directory name.
	Remove(name string) error
	// RemoveAll removes name and everything below it; a missing name is not an error.
	RemoveAll(name string) error
	// MkdirAll creates the directory dir and any parents it lacks.
	MkdirAll(dir string, perm fs.FileMode) error
	// ReadDir returns the entries of dir sorted by name.
	ReadDir(dir string) ([]fs.DirEntry, error)
	// SyncDir makes the entries of dir durable: files created, renamed or removed in it
	// survive a crash once SyncDir returns.
	SyncDir(dir string) error
}

// File is a file open for writing.
type File interface {
	io.Writer
	// Sync makes what was written durable. Writers sync a file on the descriptor that
	// wrote it, before Close: on Linux an error of background writeback is reported
	// reliably only there.
	Sync() error
	io.Closer
}

// OSFS is the operating system's filesystem.
type OSFS struct{}

var _ FS = OSFS{}

// Create implements FS; the file is readable by everyone (0644 before the umask).
func (OSFS) Create(name string) (File, error) {
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
}

// Open implements FS.
func (OSFS) Open(name string) (io.ReadCloser, error) { return os.Open(name) }

// Stat implements FS.
func (OSFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// Rename implements FS.
func (OSFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

// Link implements FS.
func (OSFS) Link(oldname, newname string) error { return os.Link(oldname, newname) }

// Remove implements FS.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// RemoveAll implements FS.
func (OSFS) RemoveAll(name string) error { return os.RemoveAll(name) }

// MkdirAll implements FS.
func (OSFS) MkdirAll(dir string, perm fs.FileMode) error { return os.MkdirAll(dir, perm) }

// ReadDir implements FS.
func (OSFS) ReadDir(dir string) ([]fs.DirEntry, error) { return os.ReadDir(dir) }

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

package checkpoint

import "millrace/vfs"

// FS is the filesystem a Store writes through: vfs.FS, so that a fault-injecting wrapper
// (package vfs/errorfs) can stand in for the disk in tests and another backend can stand
// in for a local directory later.
type FS = vfs.FS

// OSFS is the operating system's filesystem, vfs.OSFS.
type OSFS = vfs.OSFS

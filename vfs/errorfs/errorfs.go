// Package errorfs wraps a vfs.FS to fail chosen operations, for tests of what a writer (a
// checkpoint store, a file sink, an output file) does when the disk fails: the Nth write,
// sync, rename or directory sync, or every operation from some point on, as a full disk or
// a revoked permission does.
//
// It is a package of its own, not a helper inside vfs, so that the product's packages
// carry no test machinery and so that any package's tests can wrap the FS they give a
// writer in the same way.
//
// A test typically runs an operation once with an FS that injects nothing to learn its
// sequence of operations (Ops), then once per index i with OnIndex(i, match) or
// FromIndex(i, match), checking that every failure is reported and harmless.
package errorfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"

	"millrace/vfs"
)

// OpKind is a kind of filesystem operation.
type OpKind uint8

// The operations FS can fail. Write, Sync and Close are of files that Create returned;
// Read and ReadClose of files that Open returned.
const (
	OpCreate OpKind = iota
	OpWrite
	OpSync
	OpClose
	OpRename
	OpLink
	OpRemove
	OpRemoveAll
	OpMkdirAll
	OpSyncDir
	OpOpen
	OpRead
	OpReadClose
	OpStat
	OpReadDir
)

var kindNames = [...]string{
	OpCreate: "create", OpWrite: "write", OpSync: "sync", OpClose: "close", OpRename: "rename",
	OpLink: "link", OpRemove: "remove", OpRemoveAll: "remove-all", OpMkdirAll: "mkdir-all", OpSyncDir: "sync-dir",
	OpOpen: "open", OpRead: "read", OpReadClose: "close-read", OpStat: "stat", OpReadDir: "readdir",
}

func (k OpKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// Mutates reports whether operations of kind k change the filesystem (or make a change
// durable), as opposed to only reading it.
func (k OpKind) Mutates() bool { return k <= OpSyncDir }

// Op is one filesystem operation.
type Op struct {
	Kind OpKind
	// Path is the file or directory operated on; for a rename or a link, the old name.
	Path string
	// To is the new name of a rename or a link.
	To string
}

func (op Op) String() string {
	if op.Kind == OpRename || op.Kind == OpLink {
		return fmt.Sprintf("%s %s %s", op.Kind, op.Path, op.To)
	}
	return op.Kind.String() + " " + op.Path
}

// ErrInjected is the error an injector returns unless told otherwise.
var ErrInjected = errors.New("errorfs: injected error")

// Error is what FS returns for an operation it failed: the operation and the injector's
// error. It matches ErrInjected (with errors.Is) whatever that error is, and the
// injector's error too, so a test can inject syscall.ENOSPC and check for it.
type Error struct {
	Op  Op
	Err error
}

func (e *Error) Error() string        { return e.Op.String() + ": " + e.Err.Error() }
func (e *Error) Unwrap() error        { return e.Err }
func (e *Error) Is(target error) bool { return target == ErrInjected }

// Injector decides which operations fail.
type Injector interface {
	// MaybeError is called before every operation; a non-nil error fails it, and the
	// operation is not performed.
	MaybeError(op Op) error
}

// InjectorFunc is a function that is an Injector.
type InjectorFunc func(Op) error

// MaybeError implements Injector.
func (f InjectorFunc) MaybeError(op Op) error { return f(op) }

// Mutating matches the operations that change the filesystem: the ones whose failure a
// writer must survive.
func Mutating(op Op) bool { return op.Kind.Mutates() }

// Kinds matches operations of the given kinds.
func Kinds(kinds ...OpKind) func(Op) bool {
	return func(op Op) bool { return slices.Contains(kinds, op.Kind) }
}

// Nth fails the operation at index N among those Match matches (counting from 0) and,
// if Sticky, every matching operation after it. It is safe for concurrent use.
type Nth struct {
	n      int
	match  func(Op) bool
	sticky bool
	err    error

	mu    sync.Mutex
	seen  int
	fired []Op
}

// OnIndex fails the matching operation at index n, and no other. A nil match matches
// Mutating operations.
func OnIndex(n int, match func(Op) bool) *Nth {
	if match == nil {
		match = Mutating
	}
	return &Nth{n: n, match: match, err: ErrInjected}
}

// FromIndex fails the matching operation at index n and every matching one after it: a
// disk that filled up, or a permission taken away. A nil match matches Mutating
// operations.
func FromIndex(n int, match func(Op) bool) *Nth {
	nth := OnIndex(n, match)
	nth.sticky = true
	return nth
}

// WithError makes the failures return err (wrapped in an *Error) instead of ErrInjected.
func (n *Nth) WithError(err error) *Nth {
	n.err = err
	return n
}

// MaybeError implements Injector.
func (n *Nth) MaybeError(op Op) error {
	if !n.match(op) {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	i := n.seen
	n.seen++
	if i == n.n || n.sticky && i > n.n {
		n.fired = append(n.fired, op)
		return n.err
	}
	return nil
}

// Fired returns the operations it failed, in order; the first is the one at index N.
func (n *Nth) Fired() []Op {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.fired)
}

// FS is a vfs.FS that consults an Injector before every operation and records the
// operations it was asked for. It is safe for concurrent use if the FS it wraps is.
type FS struct {
	fs vfs.FS

	mu  sync.Mutex
	inj Injector
	ops []Op
}

var _ vfs.FS = (*FS)(nil)

// Wrap returns an FS that performs operations on fsys unless inj fails them. A nil inj
// fails nothing.
func Wrap(fsys vfs.FS, inj Injector) *FS { return &FS{fs: fsys, inj: inj} }

// SetInjector replaces the injector; nil fails nothing.
func (f *FS) SetInjector(inj Injector) {
	f.mu.Lock()
	f.inj = inj
	f.mu.Unlock()
}

// Ops returns every operation asked for since Wrap or the last ResetOps, failed or not,
// in order.
func (f *FS) Ops() []Op {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ops)
}

// ResetOps forgets the operations recorded so far.
func (f *FS) ResetOps() {
	f.mu.Lock()
	f.ops = nil
	f.mu.Unlock()
}

// check records op and returns the error the injector chose for it, as an *Error.
func (f *FS) check(op Op) error {
	f.mu.Lock()
	f.ops = append(f.ops, op)
	inj := f.inj
	f.mu.Unlock()
	if inj == nil {
		return nil
	}
	if err := inj.MaybeError(op); err != nil {
		return &Error{Op: op, Err: err}
	}
	return nil
}

// Create implements vfs.FS.
func (f *FS) Create(name string) (vfs.File, error) {
	if err := f.check(Op{Kind: OpCreate, Path: name}); err != nil {
		return nil, err
	}
	w, err := f.fs.Create(name)
	if err != nil {
		return nil, err
	}
	return &writeFile{fs: f, name: name, f: w}, nil
}

// Open implements vfs.FS.
func (f *FS) Open(name string) (io.ReadCloser, error) {
	if err := f.check(Op{Kind: OpOpen, Path: name}); err != nil {
		return nil, err
	}
	r, err := f.fs.Open(name)
	if err != nil {
		return nil, err
	}
	return &readFile{fs: f, name: name, r: r}, nil
}

// Stat implements vfs.FS.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	if err := f.check(Op{Kind: OpStat, Path: name}); err != nil {
		return nil, err
	}
	return f.fs.Stat(name)
}

// Rename implements vfs.FS.
func (f *FS) Rename(oldname, newname string) error {
	if err := f.check(Op{Kind: OpRename, Path: oldname, To: newname}); err != nil {
		return err
	}
	return f.fs.Rename(oldname, newname)
}

// Link implements vfs.FS.
func (f *FS) Link(oldname, newname string) error {
	if err := f.check(Op{Kind: OpLink, Path: oldname, To: newname}); err != nil {
		return err
	}
	return f.fs.Link(oldname, newname)
}

// Remove implements vfs.FS.
func (f *FS) Remove(name string) error {
	if err := f.check(Op{Kind: OpRemove, Path: name}); err != nil {
		return err
	}
	return f.fs.Remove(name)
}

// RemoveAll implements vfs.FS.
func (f *FS) RemoveAll(name string) error {
	if err := f.check(Op{Kind: OpRemoveAll, Path: name}); err != nil {
		return err
	}
	return f.fs.RemoveAll(name)
}

// MkdirAll implements vfs.FS.
func (f *FS) MkdirAll(dir string, perm fs.FileMode) error {
	if err := f.check(Op{Kind: OpMkdirAll, Path: dir}); err != nil {
		return err
	}
	return f.fs.MkdirAll(dir, perm)
}

// ReadDir implements vfs.FS.
func (f *FS) ReadDir(dir string) ([]fs.DirEntry, error) {
	if err := f.check(Op{Kind: OpReadDir, Path: dir}); err != nil {
		return nil, err
	}
	return f.fs.ReadDir(dir)
}

// SyncDir implements vfs.FS.
func (f *FS) SyncDir(dir string) error {
	if err := f.check(Op{Kind: OpSyncDir, Path: dir}); err != nil {
		return err
	}
	return f.fs.SyncDir(dir)
}

type writeFile struct {
	fs   *FS
	name string
	f    vfs.File
}

func (w *writeFile) Write(b []byte) (int, error) {
	if err := w.fs.check(Op{Kind: OpWrite, Path: w.name}); err != nil {
		return 0, err
	}
	return w.f.Write(b)
}

func (w *writeFile) Sync() error {
	if err := w.fs.check(Op{Kind: OpSync, Path: w.name}); err != nil {
		return err
	}
	return w.f.Sync()
}

// Close closes the file underneath even when it fails, as a real close does: the
// descriptor is gone either way.
func (w *writeFile) Close() error {
	err := w.fs.check(Op{Kind: OpClose, Path: w.name})
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

type readFile struct {
	fs   *FS
	name string
	r    io.ReadCloser
}

func (r *readFile) Read(b []byte) (int, error) {
	if err := r.fs.check(Op{Kind: OpRead, Path: r.name}); err != nil {
		return 0, err
	}
	return r.r.Read(b)
}

func (r *readFile) Close() error {
	err := r.fs.check(Op{Kind: OpReadClose, Path: r.name})
	if cerr := r.r.Close(); err == nil {
		err = cerr
	}
	return err
}

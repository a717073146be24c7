package checkpoint_test

import (
	"bytes"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"millrace/vfs"
)

// memFS is an in-memory vfs.FS that knows what is durable, to test what survives a
// crash. A file's bytes are durable as of its last Sync; a directory's entries (files
// created, renamed or removed in it) as of its last SyncDir. crash throws away everything
// else, as a power cut does on a filesystem that keeps no promise it was not asked for.
type memFS struct {
	mu   sync.Mutex
	root *memNode
}

type memNode struct {
	dir     bool
	entries map[string]*memNode // a directory's entries now
	durable map[string]*memNode // and as of its last SyncDir
	data    []byte              // a file's bytes now
	synced  []byte              // and as of its last Sync
}

var _ vfs.FS = (*memFS)(nil)

func newMemFS() *memFS { return &memFS{root: newMemDir()} }

func newMemDir() *memNode {
	return &memNode{dir: true, entries: map[string]*memNode{}, durable: map[string]*memNode{}}
}

// crash leaves only what was durable.
func (m *memFS) crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[*memNode]bool{}
	var walk func(n *memNode)
	walk = func(n *memNode) {
		if seen[n] {
			return
		}
		seen[n] = true
		if !n.dir {
			n.data = bytes.Clone(n.synced)
			return
		}
		n.entries = maps.Clone(n.durable)
		for _, c := range n.entries {
			walk(c)
		}
	}
	walk(m.root)
}

func splitPath(name string) []string {
	name = strings.Trim(filepath.ToSlash(filepath.Clean(name)), "/")
	if name == "" || name == "." {
		return nil
	}
	return strings.Split(name, "/")
}

// lookup returns the directory holding name, name's last element and its node (nil if
// it does not exist). The root has no parent.
func (m *memFS) lookup(op, name string) (parent *memNode, base string, n *memNode, err error) {
	parts := splitPath(name)
	if len(parts) == 0 {
		return nil, "", m.root, nil
	}
	dir := m.root
	for _, p := range parts[:len(parts)-1] {
		next := dir.entries[p]
		if next == nil {
			return nil, "", nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		if !next.dir {
			return nil, "", nil, &fs.PathError{Op: op, Path: name, Err: syscall.ENOTDIR}
		}
		dir = next
	}
	base = parts[len(parts)-1]
	return dir, base, dir.entries[base], nil
}

func (m *memFS) Create(name string) (vfs.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	parent, base, n, err := m.lookup("create", name)
	switch {
	case err != nil:
		return nil, err
	case parent == nil:
		return nil, &fs.PathError{Op: "create", Path: name, Err: syscall.EISDIR}
	case n == nil:
		n = &memNode{}
		parent.entries[base] = n
	case n.dir:
		return nil, &fs.PathError{Op: "create", Path: name, Err: syscall.EISDIR}
	default:
		n.data = nil
	}
	return &memFile{fs: m, n: n}, nil
}

type memFile struct {
	fs *memFS
	n  *memNode
}

func (f *memFile) Write(b []byte) (int, error) {
	f.fs.mu.Lock()
	f.n.data = append(f.n.data, b...)
	f.fs.mu.Unlock()
	return len(b), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	f.n.synced = bytes.Clone(f.n.data)
	f.fs.mu.Unlock()
	return nil
}

func (f *memFile) Close() error { return nil }

func (m *memFS) Open(name string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _, n, err := m.lookup("open", name)
	switch {
	case err != nil:
		return nil, err
	case n == nil:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case n.dir:
		return nil, &fs.PathError{Op: "read", Path: name, Err: syscall.EISDIR}
	}
	return io.NopCloser(bytes.NewReader(bytes.Clone(n.data))), nil
}

func (m *memFS) Stat(name string) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, base, n, err := m.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return memInfo{name: base, size: int64(len(n.data)), dir: n.dir}, nil
}

func (m *memFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	oparent, obase, n, err := m.lookup("rename", oldname)
	if err == nil && n == nil {
		err = &fs.PathError{Op: "rename", Path: oldname, Err: fs.ErrNotExist}
	}
	if err != nil {
		return err
	}
	np, nbase, old, err := m.lookup("rename", newname)
	if err != nil {
		return err
	}
	if oparent == nil || np == nil {
		return &fs.PathError{Op: "rename", Path: oldname, Err: syscall.EBUSY}
	}
	if old != nil && old != n {
		switch {
		case old.dir && !n.dir:
			return &fs.PathError{Op: "rename", Path: newname, Err: syscall.EISDIR}
		case !old.dir && n.dir:
			return &fs.PathError{Op: "rename", Path: newname, Err: syscall.ENOTDIR}
		case old.dir && len(old.entries) > 0:
			return &fs.PathError{Op: "rename", Path: newname, Err: syscall.ENOTEMPTY}
		}
	}
	delete(oparent.entries, obase)
	np.entries[nbase] = n
	return nil
}

func (m *memFS) Link(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _, n, err := m.lookup("link", oldname)
	switch {
	case err != nil:
		return err
	case n == nil:
		return &fs.PathError{Op: "link", Path: oldname, Err: fs.ErrNotExist}
	case n.dir:
		return &fs.PathError{Op: "link", Path: oldname, Err: syscall.EPERM}
	}
	np, nbase, old, err := m.lookup("link", newname)
	switch {
	case err != nil:
		return err
	case old != nil || np == nil:
		return &fs.PathError{Op: "link", Path: newname, Err: fs.ErrExist}
	}
	np.entries[nbase] = n
	return nil
}

func (m *memFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	parent, base, n, err := m.lookup("remove", name)
	switch {
	case err != nil:
		return err
	case n == nil:
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	case parent == nil:
		return &fs.PathError{Op: "remove", Path: name, Err: syscall.EBUSY}
	case n.dir && len(n.entries) > 0:
		return &fs.PathError{Op: "remove", Path: name, Err: syscall.ENOTEMPTY}
	}
	delete(parent.entries, base)
	return nil
}

func (m *memFS) RemoveAll(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	parent, base, n, err := m.lookup("removeall", name)
	if err != nil || n == nil {
		return nil
	}
	if parent == nil {
		m.root.entries = map[string]*memNode{}
		return nil
	}
	delete(parent.entries, base)
	return nil
}

func (m *memFS) MkdirAll(dir string, _ fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.root
	for _, p := range splitPath(dir) {
		next := n.entries[p]
		if next == nil {
			next = newMemDir()
			n.entries[p] = next
		} else if !next.dir {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		n = next
	}
	return nil
}

func (m *memFS) ReadDir(dir string) ([]fs.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _, n, err := m.lookup("open", dir)
	if err == nil && n == nil {
		err = &fs.PathError{Op: "open", Path: dir, Err: fs.ErrNotExist}
	}
	if err != nil {
		return nil, err
	}
	if !n.dir {
		return nil, &fs.PathError{Op: "readdirent", Path: dir, Err: syscall.ENOTDIR}
	}
	var entries []fs.DirEntry
	for _, name := range slices.Sorted(maps.Keys(n.entries)) {
		c := n.entries[name]
		entries = append(entries, fs.FileInfoToDirEntry(memInfo{name: name, size: int64(len(c.data)), dir: c.dir}))
	}
	return entries, nil
}

func (m *memFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _, n, err := m.lookup("sync", dir)
	if err == nil && (n == nil || !n.dir) {
		err = &fs.PathError{Op: "sync", Path: dir, Err: fs.ErrNotExist}
	}
	if err != nil {
		return err
	}
	n.durable = maps.Clone(n.entries)
	return nil
}

type memInfo struct {
	name string
	size int64
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }

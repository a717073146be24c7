package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"millrace/vfs"
)

// dirStore keeps each object as a file below root, the key being its path relative to
// root. Put publishes a file whole through a temporary file in the same directory
// (fsync, rename, fsync of the directory); Create links the temporary file to the key's
// name, which fails when the name exists, so a racing creator loses with ErrExists.
// Directories are created as keys need them and stay when their objects are deleted.
type dirStore struct {
	root string // absolute and clean
	fs   vfs.FS
}

// openDir opens the directory dir (absolute or relative to the working directory) as a
// store, creating it if it is missing.
func openDir(dir string) (*dirStore, error) {
	if dir == "" {
		return nil, errors.New("objstore: open file://: no directory given")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("objstore: open %s: %w", dir, err)
	}
	return newDirStore(root, vfs.OSFS{})
}

// newDirStore opens the directory root through fsys, creating it if it is missing.
func newDirStore(root string, fsys vfs.FS) (*dirStore, error) {
	s := &dirStore{root: root, fs: fsys}
	if err := fsys.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("objstore: open %s: %w", s, err)
	}
	if fi, err := fsys.Stat(root); err != nil {
		return nil, fmt.Errorf("objstore: open %s: %w", s, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("objstore: open %s: not a directory", s)
	}
	return s, nil
}

// String implements Store.
func (s *dirStore) String() string { return "file://" + filepath.ToSlash(s.root) }

// Close implements Store; a directory store holds nothing open between operations.
func (s *dirStore) Close() error { return nil }

func (s *dirStore) fail(op, key string, err error) error {
	return &opError{store: s.String(), op: op, key: key, err: err}
}

// path returns the file of key after checking the key.
func (s *dirStore) path(key string) (string, error) {
	if err := checkKey(key, true); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Put implements Store.
func (s *dirStore) Put(ctx context.Context, key string, data []byte) error {
	if err := s.put(ctx, key, data); err != nil {
		return s.fail("put", key, err)
	}
	return nil
}

func (s *dirStore) put(ctx context.Context, key string, data []byte) error {
	path, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.mkdirs(filepath.Dir(path)); err != nil {
		return err
	}
	return vfs.WriteAtomic(s.fs, path, vfs.TempName(path), data)
}

// Create implements Store.
func (s *dirStore) Create(ctx context.Context, key string, data []byte) error {
	if err := s.create(ctx, key, data); err != nil {
		return s.fail("create", key, err)
	}
	return nil
}

func (s *dirStore) create(ctx context.Context, key string, data []byte) error {
	path, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := s.mkdirs(dir); err != nil {
		return err
	}
	tmp := vfs.TempName(path)
	f, err := s.fs.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.fs.Link(tmp, path)
		if errors.Is(err, fs.ErrExist) {
			err = ErrExists
		}
	}
	// The temporary name goes whether or not the link was made; a leftover one is a
	// hidden file that List skips, so failing to remove it fails nothing.
	_ = s.fs.Remove(tmp)
	if err != nil {
		return err
	}
	return s.fs.SyncDir(dir)
}

// mkdirs creates dir and the parents it lacks below the root, and makes their names
// durable.
func (s *dirStore) mkdirs(dir string) error {
	var missing []string
	for d := dir; d != s.root && len(d) > len(s.root); d = filepath.Dir(d) {
		_, err := s.fs.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
	}
	if len(missing) == 0 {
		return nil
	}
	if err := s.fs.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range slices.Backward(missing) {
		if err := s.fs.SyncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// Get implements Store.
func (s *dirStore) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.get(ctx, key, 0, -1)
	if err != nil {
		return nil, s.fail("get", key, err)
	}
	return b, nil
}

// GetRange implements Store.
func (s *dirStore) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if off < 0 || n <= 0 {
		return nil, s.fail("get", key, fmt.Errorf("bad range: offset %d, length %d", off, n))
	}
	b, err := s.get(ctx, key, off, n)
	if err != nil {
		return nil, s.fail("get", key, fmt.Errorf("range %d+%d: %w", off, n, err))
	}
	return b, nil
}

// get reads n bytes from off, or everything from off when n < 0.
func (s *dirStore) get(ctx context.Context, key string, off, n int64) ([]byte, error) {
	path, err := s.path(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fi, err := s.fs.Stat(path)
	if err != nil {
		return nil, notFound(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, ErrNotFound // a directory holding other keys is no object
	}
	size := fi.Size() - off
	if size <= 0 {
		return []byte{}, nil
	}
	if n >= 0 && n < size {
		size = n
	}
	r, err := s.fs.Open(path)
	if err != nil {
		return nil, notFound(err)
	}
	defer func() { _ = r.Close() }() // a file read to the end has nothing left to report
	if off > 0 {
		if err := skip(r, off); err != nil {
			return nil, err
		}
	}
	buf := make([]byte, size)
	got, err := io.ReadFull(r, buf)
	switch {
	case n < 0 && err == nil:
		// Read on to the end: the file may have been replaced by a longer one since Stat.
		rest, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		return append(buf, rest...), nil
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return buf[:got], nil // replaced by a shorter file since Stat
	case err != nil:
		return nil, err
	}
	return buf, nil
}

// skip moves r off bytes on: by seeking when r is a file that can, else by reading.
func skip(r io.Reader, off int64) error {
	if sk, ok := r.(io.Seeker); ok {
		_, err := sk.Seek(off, io.SeekStart)
		return err
	}
	_, err := io.CopyN(io.Discard, r, off)
	if errors.Is(err, io.EOF) {
		return nil // the file is shorter than off: the read after finds nothing
	}
	return err
}

// notFound turns the errors of a missing file (or of a parent that is a file) into
// ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return ErrNotFound
	}
	return err
}

// List implements Store.
func (s *dirStore) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := checkPrefix(prefix, true); err != nil {
		return nil, s.fail("list", prefix, err)
	}
	// Walk from the deepest directory that the prefix names whole.
	base := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		base = prefix[:i+1]
	}
	var objs []Object
	if err := s.walk(ctx, base, prefix, &objs); err != nil {
		return nil, s.fail("list", prefix, err)
	}
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	return objs, nil
}

// ListDir implements Store: it reads one directory.
func (s *dirStore) ListDir(ctx context.Context, prefix string) ([]string, []Object, error) {
	if err := checkDirPrefix(prefix, true); err != nil {
		return nil, nil, s.fail("list", prefix, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, s.fail("list", prefix, err)
	}
	entries, err := s.fs.ReadDir(filepath.Join(s.root, filepath.FromSlash(prefix)))
	if err != nil {
		if notFound(err) == ErrNotFound {
			return nil, nil, nil // nothing has this prefix
		}
		return nil, nil, s.fail("list", prefix, err)
	}
	var dirs []string
	var objs []Object
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."):
			// a file being written, or left by a write that failed
		case e.IsDir():
			dirs = append(dirs, prefix+name+"/")
		case e.Type().IsRegular():
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted since ReadDir
			}
			if err != nil {
				return nil, nil, s.fail("list", prefix, err)
			}
			objs = append(objs, Object{Key: prefix + name, Size: fi.Size()})
		}
	}
	// ReadDir sorts by name; keys sort so too, as every name here gets the same prefix and
	// dirs the same trailing slash, except that "a/" sorts after "a-b/": sort to be sure.
	slices.Sort(dirs)
	return dirs, objs, nil
}

// walk appends the objects below the directory of dirKey ("" or ending with a slash)
// whose keys begin with prefix.
func (s *dirStore) walk(ctx context.Context, dirKey, prefix string, objs *[]Object) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := s.fs.ReadDir(filepath.Join(s.root, filepath.FromSlash(dirKey)))
	if err != nil {
		if notFound(err) == ErrNotFound {
			return nil // nothing has this prefix, or the directory went with a concurrent delete
		}
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // a file being written, or left by a write that failed
		}
		key := dirKey + name
		switch {
		case e.IsDir():
			sub := key + "/"
			if strings.HasPrefix(sub, prefix) || strings.HasPrefix(prefix, sub) {
				if err := s.walk(ctx, sub, prefix, objs); err != nil {
					return err
				}
			}
		case e.Type().IsRegular() && strings.HasPrefix(key, prefix):
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted since ReadDir
			}
			if err != nil {
				return err
			}
			*objs = append(*objs, Object{Key: key, Size: fi.Size()})
		}
	}
	return nil
}

// Delete implements Store. It syncs each directory it removed files from once, after
// removing them.
func (s *dirStore) Delete(ctx context.Context, keys ...string) error {
	dirs := map[string]string{} // directory -> the first key removed from it
	for _, key := range keys {
		path, err := s.path(key)
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			err = s.fs.Remove(path)
			switch {
			case err == nil:
				if _, ok := dirs[filepath.Dir(path)]; !ok {
					dirs[filepath.Dir(path)] = key
				}
			case notFound(err) == ErrNotFound || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST):
				err = nil // no object has this key (a directory holding other keys is none)
			}
		}
		if err != nil {
			return s.fail("delete", key, err)
		}
	}
	for _, dir := range slices.Sorted(maps.Keys(dirs)) {
		if err := s.fs.SyncDir(dir); err != nil {
			return s.fail("delete", dirs[dir], err)
		}
	}
	return nil
}

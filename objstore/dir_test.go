package objstore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"millrace/vfs"
	"millrace/vfs/errorfs"
)

// hidden returns the names below dir that begin with a dot: files left by writes.
func hidden(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") {
			names = append(names, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// A write that fails at any step of the filesystem leaves the object as it was or, when
// only the last directory sync failed, as written; never a part of it, and no file
// behind but, at worst, a hidden temporary one that List does not show.
func TestDirFaults(t *testing.T) {
	for _, c := range []struct {
		name, key string
		old       string // "" when the key has no object before
		write     func(ctx context.Context, s Store, key string) error
	}{
		{"put over an object", "a/b/k", "old", func(ctx context.Context, s Store, key string) error { return s.Put(ctx, key, []byte("new")) }},
		{"put into new directories", "x/y/z/k", "", func(ctx context.Context, s Store, key string) error { return s.Put(ctx, key, []byte("new")) }},
		{"create", "c/k", "", func(ctx context.Context, s Store, key string) error { return s.Create(ctx, key, []byte("new")) }},
		{"delete", "d/k", "old", func(ctx context.Context, s Store, key string) error { return s.Delete(ctx, key) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			setup := func(inj errorfs.Injector) (string, Store, *dirStore, *errorfs.FS) {
				dir := t.TempDir()
				plain, err := newDirStore(dir, vfs.OSFS{})
				if err != nil {
					t.Fatal(err)
				}
				if err := plain.Put(ctx, "other/k", []byte("other")); err != nil {
					t.Fatal(err)
				}
				if c.old != "" {
					if err := plain.Put(ctx, c.key, []byte(c.old)); err != nil {
						t.Fatal(err)
					}
				}
				fsys := errorfs.Wrap(vfs.OSFS{}, nil)
				s, err := newDirStore(dir, fsys)
				if err != nil {
					t.Fatal(err)
				}
				fsys.ResetOps()
				fsys.SetInjector(inj)
				return dir, plain, s, fsys
			}
			_, _, clean, cleanFS := setup(nil)
			if err := c.write(ctx, clean, c.key); err != nil {
				t.Fatal(err)
			}
			var mutating []errorfs.Op
			for _, op := range cleanFS.Ops() {
				if op.Kind.Mutates() {
					mutating = append(mutating, op)
				}
			}
			if len(mutating) < 2 {
				t.Fatalf("the write did only %v", mutating)
			}
			for i := range mutating {
				inj := errorfs.OnIndex(i, nil)
				dir, plain, s, _ := setup(inj)
				err := c.write(ctx, s, c.key)
				fired := inj.Fired()
				if len(fired) != 1 {
					t.Fatalf("fault %d: fired %v", i, fired)
				}
				op := fired[0]
				switch {
				case err == nil && op.Kind != errorfs.OpRemove:
					t.Fatalf("fault %d (%s): the write reported success", i, op)
				case err != nil && !errors.Is(err, errorfs.ErrInjected):
					t.Fatalf("fault %d (%s): %v", i, op, err)
				case err != nil && !strings.HasPrefix(err.Error(), "objstore file://"+dir+": ") || err != nil && !strings.Contains(err.Error(), " "+c.key+": "):
					t.Fatalf("fault %d (%s): the error %q does not name the store and the key", i, op, err)
				}
				got, gerr := plain.Get(ctx, c.key)
				state := string(got)
				if errors.Is(gerr, ErrNotFound) {
					state = ""
				} else if gerr != nil {
					t.Fatal(gerr)
				}
				want := []string{c.old}
				if op.Kind == errorfs.OpSyncDir || err == nil {
					want = append(want, "new") // published, perhaps not durably
					if c.name == "delete" {
						want = []string{"", c.old}
					}
				}
				if !slices.Contains(want, state) {
					t.Fatalf("fault %d (%s): the object holds %q, want one of %q", i, op, state, want)
				}
				objs, lerr := plain.List(ctx, "")
				if lerr != nil {
					t.Fatal(lerr)
				}
				if state == "" && len(objs) != 1 || state != "" && len(objs) != 2 {
					t.Fatalf("fault %d (%s): listed %v with the object %q", i, op, objs, state)
				}
				if h := hidden(t, dir); len(h) > 0 && op.Kind != errorfs.OpRemove {
					t.Fatalf("fault %d (%s): left %v", i, op, h)
				}
			}
		})
	}
}

func TestDirLayout(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	t.Chdir(dir)
	s, err := Open(ctx, "objects", Options{})
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "objects")
	if s.String() != "file://"+root {
		t.Fatalf("store at %s, want file://%s", s, root)
	}
	for _, url := range []string{"file://objects", "file://" + root, root} {
		if o, err := Open(ctx, url, Options{}); err != nil || o.String() != s.String() {
			t.Fatalf("open %s: %v, %v", url, o, err)
		}
	}
	if err := s.Put(ctx, "state/velocity/017/000000000123", []byte("snapshot")); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "state/velocity/017/000000000124", []byte("next")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "state", "velocity", "017", "000000000123"))
	if err != nil || string(b) != "snapshot" {
		t.Fatalf("the object's file holds %q, %v", b, err)
	}
	entries, err := os.ReadDir(filepath.Join(root, "state", "velocity", "017"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("the key group's directory holds %v", entries)
	}
	// A directory that holds keys is no object: reading it finds nothing, deleting it
	// deletes nothing.
	if _, err := s.Get(ctx, "state/velocity"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get of a directory: %v", err)
	}
	if err := s.Delete(ctx, "state/velocity"); err != nil {
		t.Fatal(err)
	}
	if objs, err := s.List(ctx, "state/"); err != nil || len(objs) != 2 {
		t.Fatalf("after deleting a directory's name: %v, %v", objs, err)
	}
	// Names beginning with a dot are the files being written.
	if err := s.Put(ctx, "state/.k", nil); !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), "dot") {
		t.Fatalf("put of a dot name: %v", err)
	}
}

func TestOpenDirRefuses(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{file, "file://" + file, "file://" + file + "/below"} {
		if _, err := Open(t.Context(), url, Options{}); err == nil || !strings.Contains(err.Error(), "objstore: open file://"+file) {
			t.Errorf("open %s: %v", url, err)
		}
	}
	if _, err := Open(t.Context(), "file://", Options{}); err == nil || !strings.Contains(err.Error(), "no directory given") {
		t.Errorf("open file://: %v", err)
	}
}

package errorfs_test

import (
	"errors"
	"io"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"millrace/vfs"
	"millrace/vfs/errorfs"
)

// writeFiles creates, writes, syncs and closes three files in dir, then syncs dir, and
// returns the first error.
func writeFiles(fsys vfs.FS, dir string) error {
	for _, name := range []string{"a", "b", "c"} {
		f, err := fsys.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if _, err := f.Write([]byte(name)); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return fsys.SyncDir(dir)
}

func TestOnIndex(t *testing.T) {
	dir := t.TempDir()
	inj := errorfs.OnIndex(1, errorfs.Kinds(errorfs.OpSync))
	fsys := errorfs.Wrap(vfs.OSFS{}, inj)
	err := writeFiles(fsys, dir)
	want := errorfs.Op{Kind: errorfs.OpSync, Path: filepath.Join(dir, "b")}
	var e *errorfs.Error
	if !errors.As(err, &e) || e.Op != want || !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("got %v, want an injected error on %v", err, want)
	}
	if got := err.Error(); got != "sync "+want.Path+": errorfs: injected error" {
		t.Errorf("message %q", got)
	}
	if got := inj.Fired(); !slices.Equal(got, []errorfs.Op{want}) {
		t.Errorf("Fired = %v", got)
	}
	// Once only: the same calls go through now.
	if err := writeFiles(fsys, dir); err != nil {
		t.Fatal(err)
	}
	r, err := fsys.Open(filepath.Join(dir, "c"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "c" {
		t.Fatalf("read back %q, %v", b, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFromIndex(t *testing.T) {
	dir := t.TempDir()
	inj := errorfs.FromIndex(4, nil).WithError(syscall.ENOSPC)
	fsys := errorfs.Wrap(vfs.OSFS{}, inj)
	err := writeFiles(fsys, dir) // create, write, sync, close of a; create of b fails
	if !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("got %v, want ENOSPC", err)
	}
	for range 3 {
		if err := fsys.SyncDir(dir); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("a later mutating operation: %v", err)
		}
	}
	if _, err := fsys.ReadDir(dir); err != nil {
		t.Fatalf("reading is not matched by the default: %v", err)
	}
	if n := len(inj.Fired()); n != 4 {
		t.Errorf("fired %d times, want 4", n)
	}
	fsys.SetInjector(nil)
	if err := writeFiles(fsys, dir); err != nil {
		t.Fatal(err)
	}
}

func TestOps(t *testing.T) {
	dir := t.TempDir()
	fsys := errorfs.Wrap(vfs.OSFS{}, nil)
	if err := writeFiles(fsys, dir); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Rename(filepath.Join(dir, "a"), filepath.Join(dir, "d")); err != nil {
		t.Fatal(err)
	}
	ops := fsys.Ops()
	if len(ops) != 14 {
		t.Fatalf("recorded %d operations: %v", len(ops), ops)
	}
	if got, want := ops[13].String(), "rename "+filepath.Join(dir, "a")+" "+filepath.Join(dir, "d"); got != want {
		t.Errorf("last op %q, want %q", got, want)
	}
	var kinds []errorfs.OpKind
	for _, op := range ops[:5] {
		kinds = append(kinds, op.Kind)
	}
	if want := []errorfs.OpKind{errorfs.OpCreate, errorfs.OpWrite, errorfs.OpSync, errorfs.OpClose, errorfs.OpCreate}; !slices.Equal(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	fsys.ResetOps()
	if len(fsys.Ops()) != 0 {
		t.Error("ResetOps kept operations")
	}
}

func TestKinds(t *testing.T) {
	for k := errorfs.OpCreate; k <= errorfs.OpReadDir; k++ {
		if k.String() == "" || k.String()[0] == 'O' {
			t.Errorf("OpKind %d has no name", k)
		}
	}
	mutates := map[errorfs.OpKind]bool{errorfs.OpCreate: true, errorfs.OpWrite: true, errorfs.OpSync: true, errorfs.OpClose: true,
		errorfs.OpRename: true, errorfs.OpLink: true, errorfs.OpRemove: true, errorfs.OpRemoveAll: true, errorfs.OpMkdirAll: true, errorfs.OpSyncDir: true}
	for k := errorfs.OpCreate; k <= errorfs.OpReadDir; k++ {
		if k.Mutates() != mutates[k] {
			t.Errorf("%s.Mutates() = %v", k, k.Mutates())
		}
	}
}

package vfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"millrace/vfs"
	"millrace/vfs/errorfs"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteAtomicPublishesWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	fsys := errorfs.Wrap(vfs.OSFS{}, nil)
	if err := vfs.WriteAtomic(fsys, path, filepath.Join(dir, ".out.tmp"), []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "one\n" {
		t.Fatalf("read back %q, %v", b, err)
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"out.jsonl"}) {
		t.Fatalf("the directory holds %q", got)
	}
	var kinds []errorfs.OpKind
	for _, op := range fsys.Ops() {
		kinds = append(kinds, op.Kind)
	}
	want := []errorfs.OpKind{errorfs.OpCreate, errorfs.OpWrite, errorfs.OpSync, errorfs.OpClose, errorfs.OpRename, errorfs.OpSyncDir}
	if !slices.Equal(kinds, want) {
		t.Fatalf("operations %v, want %v", kinds, want)
	}
}

// A fault at any step before the rename leaves the file that was there, and no temporary
// file; a fault of the final directory sync leaves the new file in place and says so.
func TestWriteAtomicFaults(t *testing.T) {
	for i, kind := range []errorfs.OpKind{errorfs.OpCreate, errorfs.OpWrite, errorfs.OpSync, errorfs.OpClose, errorfs.OpRename, errorfs.OpSyncDir} {
		dir := t.TempDir()
		path := filepath.Join(dir, "out.jsonl")
		if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		inj := errorfs.OnIndex(i, nil)
		err := vfs.WriteAtomic(errorfs.Wrap(vfs.OSFS{}, inj), path, vfs.TempName(path), []byte("new\n"))
		if !errors.Is(err, errorfs.ErrInjected) {
			t.Fatalf("%s fails: WriteAtomic returned %v", kind, err)
		}
		if fired := inj.Fired(); len(fired) != 1 || fired[0].Kind != kind {
			t.Fatalf("failed %v, want a %s", fired, kind)
		}
		want := "old\n"
		if kind == errorfs.OpSyncDir {
			want = "new\n"
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != want {
			t.Errorf("%s fails: the path holds %q, %v; want %q", kind, b, err, want)
		}
		if got := entries(t, dir); !slices.Equal(got, []string{"out.jsonl"}) {
			t.Errorf("%s fails: the directory holds %q", kind, got)
		}
	}
}

func TestAbortPublishesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	a, err := vfs.CreateAtomic(vfs.OSFS{}, path, vfs.TempName(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("half")); err != nil {
		t.Fatal(err)
	}
	a.Abort()
	if err := a.Close(); err != nil {
		t.Fatalf("Close after Abort: %v", err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("the directory holds %q after Abort", got)
	}
	if _, err := vfs.CreateAtomic(vfs.OSFS{}, path, filepath.Join(t.TempDir(), "x")); err == nil {
		t.Error("a temporary name in another directory was accepted")
	}
}

func TestTempNamesDiffer(t *testing.T) {
	path := filepath.Join("out", "velocity.parquet")
	a, b := vfs.TempName(path), vfs.TempName(path)
	if a == b || filepath.Dir(a) != "out" || !strings.HasPrefix(filepath.Base(a), ".velocity.parquet.tmp-") {
		t.Fatalf("TempName gave %q and %q", a, b)
	}
}

package vfs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"millrace/vfs"
	"millrace/vfs/errorfs"
)

// Link publishes a second name for a file and refuses a name that exists, leaving that
// file as it was: the way a writer creates a name only if nobody has it.
func TestLinkRefusesExistingName(t *testing.T) {
	dir := t.TempDir()
	fsys := errorfs.Wrap(vfs.OSFS{}, nil)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(a, []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("second"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := filepath.Join(dir, "c")
	if err := fsys.Link(a, c); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(c); err != nil || string(got) != "first" {
		t.Fatalf("read the new name back: %q, %v", got, err)
	}
	if err := fsys.Link(b, c); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("linking to an existing name: %v, want an error matching fs.ErrExist", err)
	}
	if got, err := os.ReadFile(c); err != nil || string(got) != "first" {
		t.Fatalf("the refused link changed the file: %q, %v", got, err)
	}
	ops := fsys.Ops()
	if len(ops) != 2 || ops[1].String() != "link "+b+" "+c {
		t.Fatalf("recorded %v", ops)
	}
}

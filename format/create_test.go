package format_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"millrace/format"
	"millrace/vfs"
	"millrace/vfs/errorfs"
)

// writeFile writes a compressed file through fsys and returns the first error.
func writeFile(fsys vfs.FS, path string) error {
	f, err := format.CreateFileFS(fsys, path)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(strings.Repeat(`{"tx_id":"t1"}`+"\n", 1000))); err != nil {
		f.Abort()
		return err
	}
	return f.Close()
}

// Each disk operation of writing a file fails in turn: the error names the file, and the
// path holds nothing and no temporary file stays, unless only the final directory sync
// failed, which leaves the whole file in place.
func TestCreateFileFaults(t *testing.T) {
	learn := errorfs.Wrap(vfs.OSFS{}, nil)
	if err := writeFile(learn, filepath.Join(t.TempDir(), "out", "tx.jsonl.gz")); err != nil {
		t.Fatal(err)
	}
	var points []errorfs.Op
	for _, op := range learn.Ops() {
		if errorfs.Mutating(op) {
			points = append(points, op)
		}
	}
	if len(points) < 6 {
		t.Fatalf("writing a file performs only %v", points)
	}
	for i := range points {
		dir := t.TempDir()
		path := filepath.Join(dir, "out", "tx.jsonl.gz")
		inj := errorfs.OnIndex(i, nil)
		err := writeFile(errorfs.Wrap(vfs.OSFS{}, inj), path)
		fired := inj.Fired()
		if len(fired) != 1 || !errors.Is(err, errorfs.ErrInjected) || !strings.Contains(err.Error(), path) {
			t.Fatalf("point %d (%v): %v", i, fired, err)
		}
		entries, rerr := os.ReadDir(filepath.Dir(path))
		if rerr != nil && fired[0].Kind != errorfs.OpMkdirAll {
			t.Fatal(rerr)
		}
		switch {
		case fired[0].Kind == errorfs.OpSyncDir:
			if len(entries) != 1 || entries[0].Name() != "tx.jsonl.gz" {
				t.Errorf("point %d (%v): the directory holds %v, want the file alone", i, fired[0], entries)
			}
		case len(entries) != 0:
			t.Errorf("point %d (%v): the directory holds %v, want nothing", i, fired[0], entries)
		}
	}
}

package reload

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// upper is a loader that refuses empty files.
func upper(data []byte) (string, error) {
	if len(data) == 0 {
		return "", errors.New("empty")
	}
	return strings.ToUpper(string(data)), nil
}

func TestPollAndSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := &Status{Path: path, What: "words"}
	f, err := Open(path, st, true, upper)
	if err != nil {
		t.Fatal(err)
	}
	if f.Value() != "ONE" || f.Version() != Version([]byte("one")) || st.Version() != f.Version() {
		t.Fatalf("value %q version %s", f.Value(), f.Version())
	}
	if f.Poll() {
		t.Fatal("an unchanged file reloaded")
	}
	one := f.Snapshot()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if f.Poll() || f.Value() != "ONE" || st.Failures() != 1 {
		t.Fatalf("a missing file: value %q, failures %d", f.Value(), st.Failures())
	}
	if err := os.WriteFile(path, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !f.Poll() || f.Value() != "TWO" || st.Reloads() != 1 || st.LastError() != "" {
		t.Fatalf("after a change: value %q, reloads %d, error %q", f.Value(), st.Reloads(), st.LastError())
	}
	if err := f.Restore(one); err != nil || f.Value() != "ONE" {
		t.Fatalf("restore: %v, value %q", err, f.Value())
	}
	if !f.Poll() || f.Value() != "TWO" {
		t.Fatalf("the first poll after a restore does not read the file again: %q", f.Value())
	}
	bad := bytes.Clone(one)
	bad[len(bad)-6] ^= 1
	if err := f.Restore(bad); !errors.Is(err, ErrState) {
		t.Fatalf("a damaged snapshot: %v", err)
	}
	other, err := Open(path, &Status{Path: path, What: "other"}, true, upper)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Restore(one); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "it is a snapshot of words, not of other") {
		t.Fatalf("another kind's snapshot: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none"), st, true, upper); err == nil {
		t.Fatal("opened a missing file")
	}
}

package spill

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// scan returns the chunks of window end as "kg:value".
func scan(t *testing.T, s *Store, end int64) []string {
	t.Helper()
	var out []string
	if err := s.Scan(end, func(kg int, v []byte) error {
		out = append(out, fmt.Sprintf("%d:%s", kg, v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStoreKeepsWindowsApartInKeyGroupOrder(t *testing.T) {
	parent := t.TempDir()
	s, err := Open(parent, "velocity-0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(s.Dir()) != parent {
		t.Fatalf("store in %s, want a directory under %s", s.Dir(), parent)
	}
	first := []Chunk{{End: 60_000, KeyGroup: 7, Value: []byte("a")}, {End: -60_000, KeyGroup: 0, Value: []byte("old")},
		{End: 60_000, KeyGroup: 2, Value: []byte("b")}, {End: 120_000, KeyGroup: 2, Value: []byte("next")}}
	if err := s.Write(first); err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]Chunk{{End: 60_000, KeyGroup: 2, Value: []byte("c")}, {End: 60_000, KeyGroup: MaxKeyGroup, Value: []byte("z")}}); err != nil {
		t.Fatal(err)
	}
	if got, want := scan(t, s, 60_000), []string{"2:b", "2:c", "7:a", "65535:z"}; !slices.Equal(got, want) {
		t.Fatalf("window 60000 reads %v, want %v", got, want)
	}
	if got := scan(t, s, -60_000); !slices.Equal(got, []string{"0:old"}) {
		t.Fatalf("window -60000 reads %v", got)
	}
	if got := s.Bytes(); got != 1+3+1+4+1+1 {
		t.Fatalf("Bytes = %d, want 11", got)
	}
	ends := s.Ends()
	slices.Sort(ends)
	if !slices.Equal(ends, []int64{-60_000, 60_000, 120_000}) {
		t.Fatalf("Ends = %v", ends)
	}
	if err := s.Delete(60_000); err != nil {
		t.Fatal(err)
	}
	if got := scan(t, s, 60_000); len(got) != 0 || s.Has(60_000) {
		t.Fatalf("window 60000 reads %v after Delete", got)
	}
	if got := scan(t, s, 120_000); !slices.Equal(got, []string{"2:next"}) || s.Bytes() != 7 {
		t.Fatalf("Delete took another window: %v, %d bytes left", got, s.Bytes())
	}
	if err := s.Write([]Chunk{{End: 1, KeyGroup: MaxKeyGroup + 1}}); err == nil {
		t.Fatal("a key group past MaxKeyGroup was written")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir()); !os.IsNotExist(err) {
		t.Fatalf("after Close %s is still there: %v", s.Dir(), err)
	}
}

func TestStoreStopsAtTheCallersError(t *testing.T) {
	s, err := Open(t.TempDir(), "w", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	if err := s.Write([]Chunk{{End: 5, KeyGroup: 1, Value: []byte("x")}, {End: 5, KeyGroup: 2, Value: []byte("y")}}); err != nil {
		t.Fatal(err)
	}
	calls := 0
	err = s.Scan(5, func(int, []byte) error { calls++; return fmt.Errorf("bad chunk") })
	if err == nil || calls != 1 {
		t.Fatalf("Scan went on after an error: %v after %d calls", err, calls)
	}
}

func TestStoreInTheTempDirectory(t *testing.T) {
	s, err := Open("", "w", nil)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(s.Dir()) != filepath.Clean(os.TempDir()) {
		t.Fatalf("store in %s, want it under %s", s.Dir(), os.TempDir())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir()); !os.IsNotExist(err) {
		t.Fatalf("after Close %s is still there: %v", s.Dir(), err)
	}
}

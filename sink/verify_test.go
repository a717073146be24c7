package sink

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/op"
)

// damages are what may happen to a pre-committed file between its checkpoint and its
// publishing.
var damages = []struct {
	name string
	do   func(t *testing.T, path string)
	says string // what the error says about the file
}{
	{"truncated", func(t *testing.T, path string) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
	}, "bytes, "},
	{"bytes flipped", func(t *testing.T, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/3] ^= 0x08
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}, "has CRC-32C"},
	{"missing", func(t *testing.T, path string) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}, "is missing"},
}

// decodeState returns the state Snapshot wrote.
func decodeState(t *testing.T, state []byte) fileState {
	t.Helper()
	var st fileState
	if err := json.Unmarshal(state, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// pendingOf returns the first file of state pre-committed by checkpoint id.
func pendingOf(t *testing.T, state []byte, id uint64) pendingFile {
	t.Helper()
	for _, p := range decodeState(t, state).Pending {
		if p.Checkpoint == id {
			return p
		}
	}
	t.Fatalf("no file of checkpoint %d in the state %s", id, state)
	return pendingFile{}
}

// checkDamaged checks that err reports the damaged file at path, whose checkpoint recorded
// sum.
func checkDamaged(t *testing.T, what string, err error, path string, sum *fileSum, says string) {
	t.Helper()
	var d *DamagedError
	if !errors.Is(err, ErrDamaged) || !errors.As(err, &d) {
		t.Fatalf("%s: %v, want ErrDamaged", what, err)
	}
	if d.Path != path || d.WantSize != sum.Size || d.WantCRC32C != sum.CRC32C {
		t.Errorf("%s: %+v, want the file %s and what its checkpoint recorded, %+v", what, d, path, sum)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), says) || !strings.Contains(err.Error(), fmt.Sprint(sum.Size)) {
		t.Errorf("%s: %q does not name the file, its expected size and %q", what, err, says)
	}
}

// Checkpoint 2's pre-committed file is damaged before its commit ran: Restore from it
// publishes nothing and says which file; the resume from checkpoint 1 instead writes what
// an uninterrupted run writes.
func TestRestoreRefusesADamagedPreCommit(t *testing.T) {
	recs := batchesOf(t, 900, 100)
	forEachCase(t, func(t *testing.T, c ckptCase) {
		want := reference(t, c, recs)
		for _, d := range damages {
			dir := t.TempDir()
			s, st1, st2 := crashAfterTwo(t, c, dir, recs)
			// A file of checkpoint 2 is damaged.
			p := pendingOf(t, st2, 2)
			path := filepath.Join(s.root(), filepath.FromSlash(p.Path))
			d.do(t, path)
			visible, hidden := tree(t, dir)

			r, err := NewFile(s.schema, c.opts(dir))
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Open(op.Context{Node: "out", Parallelism: 1, Checkpointing: true}); err != nil {
				t.Fatal(err)
			}
			checkDamaged(t, d.name+": verify checkpoint 2", r.Verify(st2), path, p.Sum, d.says)
			if err := r.Verify(st1); err != nil {
				t.Fatalf("%s: verify checkpoint 1: %v", d.name, err)
			}
			what := d.name + ": restore from checkpoint 2"
			checkDamaged(t, what, r.Restore(st2), path, p.Sum, d.says)
			afterV, afterH := tree(t, dir)
			sameTree(t, what, afterV, visible)
			if !reflect.DeepEqual(afterH, hidden) {
				t.Errorf("%s: hidden files %v, were %v: nothing may be published or removed", what, afterH, hidden)
			}

			runFrom(t, start(t, c.opts(dir), 0, 1, st1), recs, 3)
			what = d.name + ": resumed from checkpoint 1 instead"
			treeIs(t, what, dir, want)
			noLeftovers(t, what, dir)
		}
	})
}

// A file damaged between its pre-commit and the commit of its checkpoint is not published
// by the commit either.
func TestCommitRefusesADamagedPreCommit(t *testing.T) {
	recs := batchesOf(t, 600, 100)
	forEachCase(t, func(t *testing.T, c ckptCase) {
		for _, d := range damages {
			dir := t.TempDir()
			s := start(t, c.opts(dir), 0, 1, nil)
			process(t, s, recs[:3]...)
			id := uint64(1)
			if c.single {
				// A single file is published by the final commit only.
				process(t, s, recs[3:]...)
				if err := s.Finish(nil); err != nil {
					t.Fatal(err)
				}
				id = op.FinalCheckpoint
			}
			st := snapshot(t, s, id)
			p := pendingOf(t, st, id)
			path := filepath.Join(s.root(), filepath.FromSlash(p.Path))
			d.do(t, path)
			what := fmt.Sprintf("%s: commit %s", d.name, checkpointLabel(id))
			checkDamaged(t, what, s.Commit(id), path, p.Sum, d.says)
			if visible, _ := tree(t, dir); len(visible) != 0 {
				t.Errorf("%s: published %d files", what, len(visible))
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// The state records each pre-committed file's size and CRC-32C; a state without them, as
// builds before them wrote, is restored and published unchecked, as those builds did.
func TestStateWithoutSumsIsPublishedUnchecked(t *testing.T) {
	recs := batchesOf(t, 900, 100)
	forEachCase(t, func(t *testing.T, c ckptCase) {
		want := reference(t, c, recs)
		dir := t.TempDir()
		s, _, state := crashAfterTwo(t, c, dir, recs)
		st2 := decodeState(t, state)
		for i, p := range st2.Pending {
			fi, err := os.Stat(filepath.Join(s.root(), filepath.FromSlash(p.Path)))
			if err != nil {
				t.Fatal(err)
			}
			if p.Sum == nil || p.Sum.Size != fi.Size() {
				t.Fatalf("pending[%d] records %+v for a file of %d bytes", i, p.Sum, fi.Size())
			}
			st2.Pending[i].Sum = nil
		}
		old, err := json.Marshal(st2)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(old), `"sum"`) {
			t.Fatalf("the state still records sums: %s", old)
		}
		runFrom(t, start(t, c.opts(dir), 0, 1, old), recs, 6)
		treeIs(t, "resumed from a state without sums", dir, want)
		noLeftovers(t, "resumed from a state without sums", dir)
	})
}

// crashAfterTwo runs the sink c in dir over recs, taking checkpoint 1 after the third
// batch and committing it, and checkpoint 2 after the sixth, and stops after the seventh,
// as a crash before the commit of checkpoint 2 does. It returns the sink as the crash
// leaves it and the states of the two checkpoints.
func crashAfterTwo(t *testing.T, c ckptCase, dir string, recs []arrow.RecordBatch) (s *File, st1, st2 []byte) {
	t.Helper()
	s = start(t, c.opts(dir), 0, 1, nil)
	process(t, s, recs[:3]...)
	st1 = snapshot(t, s, 1)
	commit(t, s, 1)
	process(t, s, recs[3:6]...)
	st2 = snapshot(t, s, 2)
	process(t, s, recs[6])
	return s, st1, st2
}

// forEachCase runs test, in parallel, for every sink of ckptCases.
func forEachCase(t *testing.T, test func(t *testing.T, c ckptCase)) {
	t.Parallel()
	for _, c := range ckptCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			test(t, c)
		})
	}
}

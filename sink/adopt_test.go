package sink

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
	"millrace/op"
	"millrace/schema"
	"millrace/vfs"
	"millrace/vfs/errorfs"
)

// prefixed is the options of a part-file sink, partitioned by channel, of the run prefix.
func prefixed(dir, prefix string) FileOptions {
	return FileOptions{Path: dir, Kind: format.Parquet, PartitionBy: []Partitioner{byChannel()}, RollRows: 100,
		Write: testWrite, Prefix: prefix}
}

// oneRun is what one subtask writing recs makes alone, with checkpoints: its rows, sorted.
func oneRun(t *testing.T, recs ...arrow.RecordBatch) []string {
	t.Helper()
	dir := t.TempDir()
	runFrom(t, start(t, prefixed(dir, ""), 0, 1, nil), recs, 0)
	got := rows(t, dir)
	slices.Sort(got)
	return got
}

// sameRows checks that the rows published under dir are want, each once.
func sameRows(t *testing.T, what, dir string, want []string) {
	t.Helper()
	got := rows(t, dir)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: %d rows published, want %d: a file was lost, overwritten or published twice", what, len(got), len(want))
	}
}

// Two runs with subtask 0 each, of two processes, write one directory at once: the
// prefix keeps their names apart, in every partition directory, and Published lists both.
func TestPrefixedRunsShareADirectory(t *testing.T) {
	t.Parallel()
	recs := batchesOf(t, 2000, 250)
	dir := t.TempDir()
	a, b := start(t, prefixed(dir, "w1-0a1b"), 0, 1, nil), start(t, prefixed(dir, "w2-0a1b"), 0, 1, nil)
	for i := range 4 {
		process(t, a, recs[2*i])
		process(t, b, recs[2*i+1])
		id := uint64(i + 1)
		snapshot(t, a, id)
		snapshot(t, b, id)
		commit(t, a, id)
		commit(t, b, id)
	}
	finish(t, a)
	finish(t, b)
	sameRows(t, "two runs", dir, oneRun(t, recs...))
	noLeftovers(t, "two runs", dir)
	visible, _ := tree(t, dir)
	name := regexp.MustCompile(`^channel=[a-z]+/part-w[12]-0a1b-000-[0-9]{5}\.parquet$`)
	runs := map[string]int{}
	for p := range visible {
		if !name.MatchString(p) {
			t.Errorf("published %s, not a part file of a prefixed run", p)
		}
		runs[strings.Split(filepath.Base(p), "-")[1]]++
	}
	if runs["w1"] == 0 || runs["w2"] == 0 {
		t.Errorf("files by run %v, want files of both", runs)
	}
	listed, err := Published(prefixed(dir, ""), schema.Transaction())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, p := range listed {
		n += p.Rows
	}
	if len(listed) != len(visible) || n != 2000 {
		t.Errorf("Published lists %d files of %d rows, want the %d files of 2000 rows", len(listed), n, len(visible))
	}
}

// A run resuming from the state of an attempt that crashed publishes what the state
// pre-committed and removes the crashed attempt's other hidden files, but never the files
// of a run writing beside it, nor does a fresh run.
func TestRestoreSweepsOnlyTheRunsItTakesOver(t *testing.T) {
	t.Parallel()
	recs := batchesOf(t, 3000, 250) // 12 batches
	dir := t.TempDir()
	crashed := start(t, prefixed(dir, "w1-aaaa"), 0, 1, nil)
	process(t, crashed, recs[0], recs[1])
	state := snapshot(t, crashed, 1) // committed by the transaction; its Commit never ran
	process(t, crashed, recs[2], recs[3])
	snapshot(t, crashed, 2) // pre-committed, never committed
	process(t, crashed, recs[4])

	live := start(t, prefixed(dir, "w2-bbbb"), 0, 1, nil)
	process(t, live, recs[5], recs[6])
	snapshot(t, live, 1)
	process(t, live, recs[7]) // writing, and pre-committed by checkpoint 1: all hidden
	_, before := tree(t, dir)
	mine := func(hidden []string, prefix string) []string {
		var out []string
		for _, h := range hidden {
			if strings.HasPrefix(filepath.Base(h), ".part-"+prefix+"-") {
				out = append(out, h)
			}
		}
		return out
	}
	if len(mine(before, "w1-aaaa")) == 0 || len(mine(before, "w2-bbbb")) == 0 {
		t.Fatalf("hidden files before the restore: %v", before)
	}

	fresh := start(t, prefixed(dir, "w3-cccc"), 0, 1, nil)
	process(t, fresh, recs[8]) // a fresh run sweeps its own prefix only
	resumed := start(t, prefixed(dir, "w1-dddd"), 0, 1, state)
	_, after := tree(t, dir)
	if left := mine(after, "w1-aaaa"); len(left) > 0 {
		t.Errorf("the crashed attempt's hidden files stayed: %v", left)
	}
	if got, want := mine(after, "w2-bbbb"), mine(before, "w2-bbbb"); !slices.Equal(got, want) {
		t.Fatalf("the live run's hidden files were %v, and are %v after another restored", want, got)
	}
	process(t, resumed, recs[2], recs[3], recs[4])
	finish(t, resumed)
	process(t, live, recs[9])
	snapshot(t, live, 2)
	commit(t, live, 2)
	finish(t, live)
	process(t, fresh, recs[10], recs[11])
	finish(t, fresh)
	sameRows(t, "three runs", dir, oneRun(t, recs...))
	noLeftovers(t, "three runs", dir)
}

// A state that two runs take over (two workers each restoring some of the key groups a
// dead one committed), at the same time, is published once, whole, and neither run
// removes a file the other is to publish; merged with the copies and with another run's
// state, as a worker merges the copies its key groups carry.
func TestStateTakenOverTwicePublishesOnce(t *testing.T) {
	t.Parallel()
	recs := batchesOf(t, 3000, 250) // 12 batches
	for _, merged := range []bool{false, true} {
		dir := t.TempDir()
		dead := start(t, prefixed(dir, "w1-aaaa"), 0, 1, nil)
		process(t, dead, recs[0], recs[1])
		snapshot(t, dead, 1)
		commit(t, dead, 1)
		process(t, dead, recs[2], recs[3])
		last := snapshot(t, dead, 2) // committed; the worker dies before Commit
		process(t, dead, recs[4])

		other := start(t, prefixed(dir, "w2-bbbb"), 1, 2, nil)
		process(t, other, recs[5])
		otherState := snapshot(t, other, 7) // committed; that worker died as well
		process(t, other, recs[6])

		states := [][]byte{last, last}
		if merged {
			f, err := NewFile(schema.Transaction(), prefixed(dir, ""))
			if err != nil {
				t.Fatal(err)
			}
			copies, err := f.Merge([][]byte{last, nil, last})
			if err != nil {
				t.Fatal(err)
			}
			if string(copies) != string(last) {
				t.Fatalf("copies of one state merged into %s, want the state %s", copies, last)
			}
			both, err := f.Merge([][]byte{last, otherState, last})
			if err != nil {
				t.Fatal(err)
			}
			var st fileState
			if err := json.Unmarshal(both, &st); err != nil {
				t.Fatal(err)
			}
			if st.Prefix != "w1-aaaa" || !slices.Equal(st.Adopt, []owner{{Prefix: "w2-bbbb", Subtask: 1}}) {
				t.Fatalf("merged state %s: want run w1-aaaa's, adopting w2-bbbb's subtask 1", both)
			}
			states = [][]byte{both, last}
		}
		runs := []*File{start(t, prefixed(dir, "w3-cccc"), 0, 1, nil), start(t, prefixed(dir, "w4-dddd"), 0, 1, nil)}
		var wg sync.WaitGroup
		errs := make([]error, len(runs))
		for i, r := range runs {
			wg.Go(func() { errs[i] = r.Restore(states[i]) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("merged %v: run %d restores: %v", merged, i, err)
			}
		}
		process(t, runs[0], recs[4], recs[7], recs[8])
		process(t, runs[1], recs[9], recs[10], recs[11])
		if merged {
			process(t, runs[0], recs[6]) // after otherState: written again
		} else {
			// Nobody takes the other run's state over: its rows are written again.
			if err := other.Close(); err != nil {
				t.Fatal(err)
			}
			process(t, runs[1], recs[5], recs[6])
		}
		finish(t, runs[0])
		finish(t, runs[1])
		sameRows(t, "taken over twice", dir, oneRun(t, recs...))
		if merged {
			noLeftovers(t, "taken over twice", dir)
		}
	}
}

// A run's prefix must keep part file names unambiguous, and a single file takes none, nor
// another run's state.
func TestPrefixRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		opts FileOptions
		want string
	}{
		{FileOptions{Path: dir, Kind: format.JSONL, Dir: true, Prefix: "host.example-1"}, "only letters, digits, dashes and underscores"},
		{FileOptions{Path: filepath.Join(dir, "out.jsonl"), Prefix: "w1-aaaa"}, "takes no prefix"},
	} {
		if _, err := NewFile(schema.Transaction(), tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("prefix %q of %s: got %v, want %q", tc.opts.Prefix, tc.opts.Path, err, tc.want)
		}
	}
	single := FileOptions{Path: filepath.Join(dir, "out.jsonl")}
	state, _ := json.Marshal(fileState{Version: stateVersion, Prefix: "w1-aaaa", Checkpoint: 3})
	s, err := NewFile(schema.Transaction(), single)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(op.Context{Node: "out", Parallelism: 1, Checkpointing: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Restore(state); err == nil || !strings.Contains(err.Error(), "written by one run") {
		t.Errorf("a single file restored from another run's state: %v", err)
	}
}

// A run with a prefix of its own has no leftovers to look for: it reads no directory
// before it writes, however large the tree of partitions already there.
func TestFreshPrefixedRunReadsNoDirectory(t *testing.T) {
	t.Parallel()
	recs := batchesOf(t, 1000, 250)
	dir := t.TempDir()
	runFrom(t, start(t, prefixed(dir, "w1-aaaa"), 0, 1, nil), recs, 0)
	fsys := errorfs.Wrap(vfs.OSFS{}, nil)
	opts := prefixed(dir, "w2-bbbb")
	opts.FS = fsys
	s := start(t, opts, 0, 1, nil)
	fsys.ResetOps()
	process(t, s, recs...)
	snapshot(t, s, 1)
	for _, op := range fsys.Ops() {
		if op.Kind == errorfs.OpReadDir {
			t.Fatalf("a fresh run with a prefix read a directory: %s", op)
		}
	}
	commit(t, s, 1)
	finish(t, s)
	sameRows(t, "two runs", dir, oneRun(t, append(recs, recs...)...))
}

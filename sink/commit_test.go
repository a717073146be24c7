package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
	"millrace/op"
	"millrace/schema"
	"millrace/vfs"
	"millrace/vfs/errorfs"
)

// ckptCase is a file sink under test; its options are made for a fresh directory.
type ckptCase struct {
	name   string
	single bool
	opts   func(dir string) FileOptions
}

func byChannel() Partitioner {
	return Partitioner{Name: "channel", Eval: func(rec arrow.RecordBatch) (arrow.Array, error) {
		c := rec.Column(schema.Channel)
		c.Retain()
		return c, nil
	}}
}

// testWrite cuts Parquet files into several row groups, and compresses them with snappy,
// which costs the race detector less than zstd.
var testWrite = format.WriteOptions{RowGroupRows: 400, Compression: format.Snappy}

func ckptCases() []ckptCase {
	var cases []ckptCase
	for _, name := range []string{"large.jsonl", "large.jsonl.gz", "large.csv", "large.parquet"} {
		cases = append(cases, ckptCase{name: name, single: true, opts: func(dir string) FileOptions {
			return FileOptions{Path: filepath.Join(dir, name), Write: testWrite}
		}})
	}
	for _, kind := range []format.Kind{format.JSONL, format.CSV, format.Parquet} {
		cases = append(cases, ckptCase{name: string(kind) + " parts", opts: func(dir string) FileOptions {
			// Partitions of about 60 rows a batch roll every other batch, between checkpoints.
			return FileOptions{Path: dir, Kind: kind, PartitionBy: []Partitioner{byChannel()}, RollRows: 100, Write: testWrite}
		}})
	}
	return cases
}

// every is how many batches apart the checkpoints are.
const every = 3

// start opens a sink subtask in a run with checkpoints, resuming from state unless it is nil.
func start(t testing.TB, opts FileOptions, sub, parallelism int, state []byte) *File {
	t.Helper()
	s, err := NewFile(schema.Transaction(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(op.Context{Node: "out", Subtask: sub, Parallelism: parallelism, Checkpointing: true}); err != nil {
		t.Fatal(err)
	}
	if state != nil {
		if err := s.Restore(state); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func process(t testing.TB, s *File, recs ...arrow.RecordBatch) {
	t.Helper()
	for _, r := range recs {
		r.Retain()
		if err := s.Process(0, r, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func snapshot(t testing.TB, s *File, id uint64) []byte {
	t.Helper()
	st, err := s.Snapshot(id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func commit(t testing.TB, s *File, id uint64) {
	t.Helper()
	if err := s.Commit(id); err != nil {
		t.Fatal(err)
	}
}

// finish ends a run as the engine does: Finish, the final snapshot, its commit, Close.
func finish(t *testing.T, s *File) {
	t.Helper()
	if err := s.Finish(nil); err != nil {
		t.Fatal(err)
	}
	snapshot(t, s, op.FinalCheckpoint)
	commit(t, s, op.FinalCheckpoint)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// runFrom feeds recs[from:] to s, taking checkpoint k after batch k*every (but not after
// the last batch) and committing each one a checkpoint late, then finishes.
func runFrom(t *testing.T, s *File, recs []arrow.RecordBatch, from int) {
	t.Helper()
	for i := from; i < len(recs); i++ {
		process(t, s, recs[i])
		if n := i + 1; n%every == 0 && n < len(recs) {
			id := uint64(n / every)
			snapshot(t, s, id)
			if id > 1 {
				commit(t, s, id-1)
			}
		}
	}
	finish(t, s)
}

// tree reads every file under dir: the visible ones by path (relative, slash-separated)
// with their contents, and the paths of the hidden ones (in a directory or under a name
// starting with a dot) but the markers that claim a sink's path, which stay by design.
func tree(t *testing.T, dir string) (visible map[string][]byte, hidden []string) {
	t.Helper()
	visible = map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, ".") || strings.Contains(rel, "/.") {
			if strings.HasSuffix(rel, ".millrace") {
				return nil
			}
			hidden = append(hidden, rel)
			return nil
		}
		b, err := os.ReadFile(p)
		visible[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return visible, hidden
}

// rows reads the visible files under dir back with the format readers and returns their
// rows as JSON lines, file by file in name order.
func rows(t *testing.T, dir string) []string {
	t.Helper()
	visible, _ := tree(t, dir)
	names := make([]string, 0, len(visible))
	for n := range visible {
		names = append(names, n)
	}
	slices.Sort(names)
	enc, err := format.NewRowEncoder(format.JSONL, schema.Transaction())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		r, err := format.Open(filepath.Join(dir, filepath.FromSlash(n)), "", schema.Transaction(), format.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, dead, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil || len(dead) > 0 {
				t.Fatalf("%s: %v %v", n, err, dead)
			}
			for i := range int(rec.NumRows()) {
				out = append(out, string(enc.AppendRow(nil, rec, i)))
			}
			rec.Release()
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// treeIs checks that the visible files under dir are want.
func treeIs(t *testing.T, what, dir string, want map[string][]byte) {
	t.Helper()
	visible, _ := tree(t, dir)
	sameTree(t, what, visible, want)
}

func sameTree(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	for n, b := range want {
		g, ok := got[n]
		switch {
		case !ok:
			t.Errorf("%s: %s is missing", what, n)
		case !bytes.Equal(g, b):
			t.Errorf("%s: %s differs (%d bytes, want %d)", what, n, len(g), len(b))
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			t.Errorf("%s: %s should not be there", what, n)
		}
	}
}

func noLeftovers(t *testing.T, what, dir string) {
	t.Helper()
	if _, hidden := tree(t, dir); len(hidden) > 0 {
		t.Errorf("%s: left behind %v", what, hidden)
	}
}

// reference is the output of an uninterrupted run with checkpoints.
func reference(t *testing.T, c ckptCase, recs []arrow.RecordBatch) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	runFrom(t, start(t, c.opts(dir), 0, 1, nil), recs, 0)
	noLeftovers(t, "uninterrupted", dir)
	visible, _ := tree(t, dir)
	return visible
}

func TestCheckpointedRunWritesTheSameRows(t *testing.T) {
	t.Parallel()
	recs := batchesOf(t, 3000, 250)
	for _, c := range ckptCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			plain := t.TempDir()
			s, err := NewFile(schema.Transaction(), c.opts(plain))
			if err != nil {
				t.Fatal(err)
			}
			if err := feed(t, s, recs, 1); err != nil {
				t.Fatal(err)
			}
			ckpt := t.TempDir()
			runFrom(t, start(t, c.opts(ckpt), 0, 1, nil), recs, 0)
			noLeftovers(t, "with checkpoints", ckpt)
			want, got := rows(t, plain), rows(t, ckpt)
			if len(got) != 3000 {
				t.Fatalf("%d rows, want 3000", len(got))
			}
			if c.single {
				// The same batches reach the same encoder: the same file, byte for byte.
				a, _ := tree(t, plain)
				b, _ := tree(t, ckpt)
				sameTree(t, "single file", b, a)
			} else {
				slices.Sort(want)
				slices.Sort(got)
			}
			if !slices.Equal(got, want) {
				t.Fatal("the rows differ from a run without checkpoints")
			}
		})
	}
}

func TestRecoveryWritesEveryRowOnce(t *testing.T) {
	t.Parallel()
	recs := batchesOf(t, 3000, 250)
	for _, c := range ckptCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := reference(t, c, recs)
			for _, closed := range []bool{false, true} {
				for _, from := range []int{1, 2} {
					// A run takes checkpoint 1 and commits it, takes checkpoint 2, writes on and
					// crashes; the next one resumes from checkpoint `from`.
					dir := t.TempDir()
					s := start(t, c.opts(dir), 0, 1, nil)
					process(t, s, recs[:3]...)
					st1 := snapshot(t, s, 1)
					commit(t, s, 1)
					committed, _ := tree(t, dir)
					process(t, s, recs[3:6]...)
					st2 := snapshot(t, s, 2)
					process(t, s, recs[6:8]...)
					if closed {
						if err := s.Close(); err != nil {
							t.Fatal(err)
						}
					}
					visible, hidden := tree(t, dir)
					sameTree(t, "after the crash", visible, committed)
					if !slices.ContainsFunc(hidden, func(h string) bool { return strings.HasSuffix(h, ".ckpt-2") }) ||
						!slices.ContainsFunc(hidden, func(h string) bool { return strings.HasSuffix(h, ".writing") }) != closed {
						t.Fatalf("after the crash, closed %v: hidden files %v", closed, hidden)
					}

					state, next := st1, 3
					if from == 2 {
						state, next = st2, 6
					}
					r := start(t, c.opts(dir), 0, 1, state)
					what := fmt.Sprintf("resumed from checkpoint %d, closed %v", from, closed)
					// Restore publishes the part files, keeps the chunks of a single file, and
					// removes the rest.
					var st fileState
					if err := json.Unmarshal(state, &st); err != nil {
						t.Fatal(err)
					}
					var keep []string
					for _, p := range st.Pending {
						if c.single {
							keep = append(keep, p.Path)
						}
					}
					_, hidden = tree(t, dir)
					slices.Sort(keep)
					slices.Sort(hidden)
					if !slices.Equal(hidden, keep) {
						t.Fatalf("%s: hidden files %v, want %v", what, hidden, keep)
					}
					runFrom(t, r, recs, next)
					treeIs(t, what, dir, want)
					noLeftovers(t, what, dir)
				}
			}
		})
	}
}

func TestRecoveryAfterCommitIsIdempotent(t *testing.T) {
	t.Parallel()
	recs := batchesOf(t, 3000, 250)
	for _, c := range ckptCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := reference(t, c, recs)
			dir := t.TempDir()
			s := start(t, c.opts(dir), 0, 1, nil)
			process(t, s, recs[:3]...)
			snapshot(t, s, 1)
			process(t, s, recs[3:6]...)
			st2 := snapshot(t, s, 2)
			commit(t, s, 2) // the crash comes after the commit
			runFrom(t, start(t, c.opts(dir), 0, 1, st2), recs, 6)
			treeIs(t, "resumed after a commit", dir, want)
			noLeftovers(t, "resumed after a commit", dir)
		})
	}
}

func TestReadersNeverSeeUncommittedRows(t *testing.T) {
	t.Parallel()
	recs := batchesOf(t, 2250, 250)
	for _, c := range ckptCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := start(t, c.opts(dir), 0, 1, nil)
			seen := func() int {
				visible, _ := tree(t, dir)
				return len(visible)
			}
			process(t, s, recs[:3]...)
			if err := s.OnWatermark(op.MaxWatermark, nil); err != nil {
				t.Fatal(err)
			}
			snapshot(t, s, 1)
			if n := seen(); n != 0 {
				t.Fatalf("%d files visible before any commit", n)
			}
			commit(t, s, 1)
			atOne := seen()
			if c.single != (atOne == 0) {
				t.Fatalf("%d files visible after commit 1", atOne)
			}
			process(t, s, recs[3:6]...)
			snapshot(t, s, 2)
			if n := seen(); n != atOne {
				t.Fatalf("%d files visible after snapshot 2, %d before", n, atOne)
			}
			commit(t, s, 2)
			process(t, s, recs[6:]...)
			if err := s.Finish(nil); err != nil {
				t.Fatal(err)
			}
			atTwo := seen()
			snapshot(t, s, op.FinalCheckpoint)
			if n := seen(); n != atTwo {
				t.Fatalf("%d files visible after the final snapshot, %d before", n, atTwo)
			}
			commit(t, s, op.FinalCheckpoint)
			if got := rows(t, dir); len(got) != 2250 {
				t.Fatalf("%d rows after the final commit", len(got))
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			noLeftovers(t, "finished", dir)
		})
	}
}

// durable is the newest checkpoint of a run whose snapshot succeeded: what a resume
// restores from (nil state: none, start afresh) and the batch it goes on from.
type durable struct {
	state []byte
	next  int
	final bool
}

// runUntilFault runs s over recs as runFrom does, but committing each checkpoint as soon as
// it is taken, and stops at the first error, as a process that crashes there does. It
// returns the newest checkpoint taken and the error.
func runUntilFault(s *File, recs []arrow.RecordBatch) (durable, error) {
	var last durable
	for i, r := range recs {
		r.Retain()
		if err := s.Process(0, r, nil); err != nil {
			return last, err
		}
		if n := i + 1; n%every == 0 && n < len(recs) {
			id := uint64(n / every)
			st, err := s.Snapshot(id)
			if err != nil {
				return last, err
			}
			last = durable{state: st, next: n}
			if err := s.Commit(id); err != nil {
				return last, err
			}
		}
	}
	if err := s.Finish(nil); err != nil {
		return last, err
	}
	st, err := s.Snapshot(op.FinalCheckpoint)
	if err != nil {
		return last, err
	}
	last = durable{state: st, next: len(recs), final: true}
	return last, s.Commit(op.FinalCheckpoint)
}

// TestCrashAtEveryDiskOperation fails, in turn, every operation by which a sink changes the
// disk in a run with checkpoints (each create, write, sync, close, rename, removal and
// directory sync, while writing, pre-committing and publishing), and every one after it,
// as a full disk does. The run stops at the failure, as the engine stops it; the next run
// resumes from the newest checkpoint taken and must publish what an uninterrupted run
// publishes, byte for byte, and leave nothing behind.
func TestCrashAtEveryDiskOperation(t *testing.T) {
	recs := batchesOf(t, 900, 100) // checkpoints 1 and 2, then the final one
	forEachCase(t, func(t *testing.T, c ckptCase) {
		// The sinks run the same operations whatever their format, and each point costs a
		// run's fsyncs on the disk: one parts sink and the single files take every point,
		// the other parts sinks every fifth; under -short only the Parquet ones run, at
		// every fifth point.
		if testing.Short() && !strings.HasSuffix(c.name, "parquet") && c.name != "parquet parts" {
			t.Skip("the Parquet sinks cover the same operations under -short")
		}
		want := reference(t, c, recs)
		learn := errorfs.Wrap(vfs.OSFS{}, nil)
		opts := c.opts(t.TempDir())
		opts.FS = learn
		if _, err := runUntilFault(start(t, opts, 0, 1, nil), recs); err != nil {
			t.Fatal(err)
		}
		kinds := map[errorfs.OpKind]int{}
		points := 0
		for _, op := range learn.Ops() {
			if op.Kind.Mutates() {
				kinds[op.Kind]++
				points++
			}
		}
		for _, k := range []errorfs.OpKind{errorfs.OpCreate, errorfs.OpWrite, errorfs.OpSync, errorfs.OpClose, errorfs.OpRename, errorfs.OpSyncDir} {
			if kinds[k] == 0 {
				t.Fatalf("the run performs no %s: %v", k, kinds)
			}
		}
		stride := 1
		if testing.Short() || !c.single && c.name != "parquet parts" {
			stride = 5
		}
		for i := 0; i < points; i += stride {
			dir := t.TempDir()
			inj := errorfs.FromIndex(i, nil).WithError(syscall.ENOSPC)
			opts := c.opts(dir)
			opts.FS = errorfs.Wrap(vfs.OSFS{}, inj)
			last, err := runUntilFault(start(t, opts, 0, 1, nil), recs)
			fired := inj.Fired()
			if len(fired) == 0 {
				t.Fatalf("point %d of %d: nothing failed", i, points)
			}
			what := fmt.Sprintf("disk full at point %d of %d (%v)", i, points, fired[0])
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("%s: the run returned %v", what, err)
			}
			if last.state != nil {
				v, err := NewFile(schema.Transaction(), c.opts(dir))
				if err != nil {
					t.Fatal(err)
				}
				if err := v.Verify(last.state); err != nil {
					t.Fatalf("%s: the newest checkpoint does not verify: %v", what, err)
				}
			}
			r := start(t, c.opts(dir), 0, 1, last.state)
			if last.final {
				finish(t, r) // nothing comes after a final checkpoint
			} else {
				runFrom(t, r, recs, last.next)
			}
			treeIs(t, what, dir, want)
			noLeftovers(t, what, dir)
		}
		t.Logf("%d injection points: %v", points, kinds)
	})
}

// A run stopped gracefully finishes and commits its final checkpoint; the run resumed from
// it goes on writing, and the output holds every row once.
func TestStoppedRunResumes(t *testing.T) {
	t.Parallel()
	recs := batchesOf(t, 3000, 250)
	for _, c := range ckptCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			refDir := t.TempDir()
			runFrom(t, start(t, c.opts(refDir), 0, 1, nil), recs, 0)
			want := rows(t, refDir)
			dir := t.TempDir()
			s := start(t, c.opts(dir), 0, 1, nil)
			process(t, s, recs[:3]...)
			snapshot(t, s, 1)
			commit(t, s, 1)
			process(t, s, recs[3:5]...)
			if err := s.Finish(nil); err != nil {
				t.Fatal(err)
			}
			final := snapshot(t, s, op.FinalCheckpoint)
			commit(t, s, op.FinalCheckpoint)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if n := len(rows(t, dir)); n != 1250 {
				t.Fatalf("%d rows published by the stopped run", n)
			}
			runFrom(t, start(t, c.opts(dir), 0, 1, final), recs, 5)
			got := rows(t, dir)
			if !c.single {
				slices.Sort(got)
				slices.Sort(want)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("resumed after a stop: %d rows, want %d, or they differ", len(got), len(want))
			}
			if c.single && !strings.HasSuffix(c.name, ".parquet") {
				a, _ := tree(t, refDir)
				b, _ := tree(t, dir)
				sameTree(t, "resumed after a stop", b, a)
			}
			noLeftovers(t, "resumed after a stop", dir)
		})
	}
}

// Subtasks share the partition directories; one restoring leaves the other's files alone.
func TestRestoreKeepsOtherSubtasksFiles(t *testing.T) {
	t.Parallel()
	recs := batchesOf(t, 1500, 250)
	dir := t.TempDir()
	opts := func() FileOptions {
		return FileOptions{Path: dir, Kind: format.Parquet, PartitionBy: []Partitioner{byChannel()}}
	}
	a := start(t, opts(), 0, 2, nil)
	b := start(t, opts(), 1, 2, nil)
	process(t, a, recs[0])
	process(t, b, recs[1])
	stA := snapshot(t, a, 1)
	snapshot(t, b, 1)
	process(t, a, recs[2])
	process(t, b, recs[3]) // b's writing files stay; a crashes and resumes
	a = start(t, opts(), 0, 2, stA)
	process(t, a, recs[2], recs[4])
	finish(t, a)
	process(t, b, recs[5])
	finish(t, b)
	if n := len(rows(t, dir)); n != 1500 {
		t.Fatalf("%d rows, want 1500", n)
	}
	noLeftovers(t, "two subtasks", dir)
}

// A run that does not resume removes what an earlier run of the subtask left.
func TestFreshRunRemovesLeftovers(t *testing.T) {
	t.Parallel()
	recs := batchesOf(t, 3000, 250)
	for _, c := range ckptCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := reference(t, c, recs)
			dir := t.TempDir()
			s := start(t, c.opts(dir), 0, 1, nil)
			process(t, s, recs[:3]...)
			snapshot(t, s, 1)
			process(t, s, recs[3:7]...) // crashes; the next run starts afresh
			r := start(t, c.opts(dir), 0, 1, nil)
			process(t, r, recs[0])
			if _, hidden := tree(t, dir); slices.ContainsFunc(hidden, func(h string) bool { return !strings.HasSuffix(h, ".writing") }) {
				t.Fatalf("after the first batch of a fresh run: hidden files %v", hidden)
			}
			runFrom(t, r, recs, 1)
			treeIs(t, "fresh run", dir, want)
			noLeftovers(t, "fresh run", dir)
		})
	}
}

func TestRestoreRefusesAForeignState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := FileOptions{Path: dir, Kind: format.JSONL, Dir: true}
	s := start(t, opts, 1, 2, nil)
	good := snapshot(t, s, 1)
	var st fileState
	if err := json.Unmarshal(good, &st); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*fileState)
		want string
	}{
		{"other subtask", func(s *fileState) { s.Subtask = 0 }, "subtask 0 given to subtask 1"},
		{"version", func(s *fileState) { s.Version = 9 }, "state version 9"},
		{"outside", func(s *fileState) {
			s.Pending = []pendingFile{{Checkpoint: 1, Path: "../x", Final: "x"}}
		}, "not a path inside"},
	} {
		e := st
		tc.edit(&e)
		b, _ := json.Marshal(e)
		r, _ := NewFile(schema.Transaction(), opts)
		if err := r.Open(op.Context{Node: "out", Subtask: 1, Parallelism: 2, Checkpointing: true}); err != nil {
			t.Fatal(err)
		}
		if err := r.Restore(b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

// A single file does not roll: rolling it would replace the rows written so far.
func TestSingleFileDoesNotRoll(t *testing.T) {
	t.Parallel()
	recs := batches(t, 5000)
	path := filepath.Join(t.TempDir(), "out.jsonl")
	s, _ := NewFile(schema.Transaction(), FileOptions{Path: path, RollRows: 1000})
	if err := feed(t, s, recs, 1); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, path); n != 5000 {
		t.Fatalf("%d rows, want 5000", n)
	}
}

// A single file exists after a finished run even when no row arrived, with checkpoints as
// without.
func TestEmptyInputStillWritesTheFileWithCheckpoints(t *testing.T) {
	t.Parallel()
	for _, c := range ckptCases() {
		if !c.single {
			continue
		}
		plain, ckpt := t.TempDir(), t.TempDir()
		s, _ := NewFile(schema.Transaction(), c.opts(plain))
		if err := feed(t, s, nil, 1); err != nil {
			t.Fatal(err)
		}
		r := start(t, c.opts(ckpt), 0, 1, nil)
		snapshot(t, r, 1)
		commit(t, r, 1)
		finish(t, r)
		a, _ := tree(t, plain)
		b, _ := tree(t, ckpt)
		if len(a) != 1 {
			t.Fatalf("%s: %d files without checkpoints", c.name, len(a))
		}
		sameTree(t, c.name, b, a)
		noLeftovers(t, c.name, ckpt)
	}
}

// rescaled restores fresh subtasks from the states a rescale of states to n makes.
func rescaled(t *testing.T, opts FileOptions, states [][]byte, n int) []*File {
	t.Helper()
	f, err := NewFile(schema.Transaction(), opts)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := f.Rescale(states, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	subs := make([]*File, n)
	for s := range subs {
		subs[s] = start(t, opts, s, n, moved[s])
	}
	return subs
}

// A part-file sink rescaled from a checkpoint whose commit never ran, 3 subtasks to 2 and
// then to 4: the removed subtask's pre-committed files are published and its unfinished
// ones removed, and the subtasks that come back never reuse a file name.
func TestRescaledSinkPublishesEveryRowOnce(t *testing.T) {
	t.Parallel()
	recs := batchesOf(t, 3000, 250) // 12 batches
	dir := t.TempDir()
	opts := FileOptions{Path: dir, Kind: format.Parquet, PartitionBy: []Partitioner{byChannel()}}
	subs := []*File{start(t, opts, 0, 3, nil), start(t, opts, 1, 3, nil), start(t, opts, 2, 3, nil)}
	states := make([][]byte, len(subs))
	for i, s := range subs {
		process(t, s, recs[i])
		states[i] = snapshot(t, s, 1)
		process(t, s, recs[3+i]) // after the checkpoint: crashes before its commit
	}
	subs = rescaled(t, opts, states, 2)
	if _, hidden := tree(t, dir); slices.ContainsFunc(hidden, func(h string) bool { return strings.HasPrefix(filepath.Base(h), ".part-002-") }) {
		t.Fatalf("the removed subtask's hidden files stayed: %v", hidden)
	}
	states = states[:2]
	for i, s := range subs { // the batches after checkpoint 1 again
		process(t, s, recs[3+i], recs[5+i])
		states[i] = snapshot(t, s, 2)
		commit(t, s, 2)
	}
	process(t, subs[0], recs[7])
	states[0] = snapshot(t, subs[0], 3)
	commit(t, subs[0], 3)
	states[1] = snapshot(t, subs[1], 3)
	commit(t, subs[1], 3)
	subs = rescaled(t, opts, states, 4)
	for i, s := range subs {
		process(t, s, recs[8+i])
		finish(t, s)
	}
	refDir := t.TempDir()
	runFrom(t, start(t, FileOptions{Path: refDir, Kind: format.Parquet, Dir: true}, 0, 1, nil), recs, 0)
	got, want := rows(t, dir), rows(t, refDir)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%d rows published, want the %d rows of one subtask: a file was lost, overwritten or published twice", len(got), len(want))
	}
	noLeftovers(t, "rescaled", dir)
}

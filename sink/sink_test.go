package sink

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/gen"
	"millrace/op"
	"millrace/schema"
)

func batches(t *testing.T, rows int64) []arrow.RecordBatch {
	t.Helper()
	return batchesOf(t, rows, 1000)
}

// batchesOf generates rows transactions in batches of size rows.
func batchesOf(t testing.TB, rows int64, size int) []arrow.RecordBatch {
	t.Helper()
	cfg := gen.DefaultConfig()
	cfg.Rows = rows
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []arrow.RecordBatch
	for {
		rec, err := g.Next(context.Background(), memory.DefaultAllocator, size)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

// feed runs the sink over the batches as the engine would.
func feed(t *testing.T, s op.Operator, recs []arrow.RecordBatch, parallelism int) error {
	t.Helper()
	if err := s.Open(op.Context{Node: "out", Parallelism: parallelism}); err != nil {
		return err
	}
	for _, r := range recs {
		r.Retain()
		if err := s.Process(0, r, nil); err != nil {
			return err
		}
	}
	if err := s.OnWatermark(op.MaxWatermark, nil); err != nil {
		return err
	}
	if err := s.Finish(nil); err != nil {
		return err
	}
	return s.Close()
}

func countRows(t *testing.T, pattern string) int64 {
	t.Helper()
	r, err := format.OpenAll(pattern, "", schema.Transaction(), format.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var n int64
	for {
		rec, dead, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil || len(dead) > 0 {
			t.Fatalf("%v %v", err, dead)
		}
		n += rec.NumRows()
		rec.Release()
	}
}

func TestFileSinkWritesOneFile(t *testing.T) {
	recs := batches(t, 5000)
	for _, name := range []string{"out.jsonl", "out.csv", "out.parquet"} {
		path := filepath.Join(t.TempDir(), name)
		s, err := NewFile(schema.Transaction(), FileOptions{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		if err := feed(t, s, recs, 1); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, path); n != 5000 {
			t.Fatalf("%s: %d rows", name, n)
		}
	}
	s, _ := NewFile(schema.Transaction(), FileOptions{Path: "x.jsonl"})
	if err := s.Open(op.Context{Node: "lake", Parallelism: 2}); err == nil || !strings.Contains(err.Error(), "one subtask") {
		t.Fatalf("got %v", err)
	}
}

func TestFileSinkPartitionsAndRolls(t *testing.T) {
	recs := batches(t, 20_000)
	dir := filepath.Join(t.TempDir(), "lake")
	byChannel := Partitioner{Name: "channel", Eval: func(rec arrow.RecordBatch) (arrow.Array, error) {
		c := rec.Column(schema.Channel)
		c.Retain()
		return c, nil
	}}
	s, err := NewFile(schema.Transaction(), FileOptions{Path: dir, Kind: format.Parquet, PartitionBy: []Partitioner{byChannel}, RollRows: 3000})
	if err != nil {
		t.Fatal(err)
	}
	if err := feed(t, s, recs, 2); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, dir); n != 20_000 {
		t.Fatalf("%d rows in the lake", n)
	}
	for _, ch := range schema.Channels {
		files, _ := filepath.Glob(filepath.Join(dir, "channel="+ch, "part-000-*.parquet"))
		if len(files) == 0 {
			t.Fatalf("no files for channel %s", ch)
		}
		var rows int64
		for _, f := range files {
			rows = countRows(t, f)
			if rows >= 3000+1000 {
				t.Fatalf("%s holds %d rows, more than RollRows", f, rows)
			}
		}
	}
}

func TestFileSinkRollsOnTime(t *testing.T) {
	recs := batches(t, 1000)
	dir := t.TempDir()
	now := time.Unix(0, 0)
	s, _ := NewFile(schema.Transaction(), FileOptions{Path: dir, Dir: true, Kind: format.JSONL, Now: func() time.Time { return now }})
	if err := s.Open(op.Context{Node: "out", Parallelism: 1}); err != nil {
		t.Fatal(err)
	}
	recs[0].Retain()
	if err := s.Process(0, recs[0], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.OnWatermark(1, nil); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl")); len(files) != 0 {
		t.Fatalf("published too early: %v", files)
	}
	now = now.Add(time.Minute)
	if err := s.OnWatermark(2, nil); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl")); len(files) != 1 {
		t.Fatalf("not published after a minute: %v", files)
	}
}

func TestFailedRunPublishesNothing(t *testing.T) {
	recs := batches(t, 1000)
	path := filepath.Join(t.TempDir(), "out.parquet")
	s, _ := NewFile(schema.Transaction(), FileOptions{Path: path})
	if err := s.Open(op.Context{Node: "out", Parallelism: 1}); err != nil {
		t.Fatal(err)
	}
	recs[0].Retain()
	if err := s.Process(0, recs[0], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // no Finish: the run failed
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 || entries[0].Name() != ".out.parquet.millrace" {
		t.Fatalf("left behind: %v, want only the marker that claims the path", entries)
	}
}

func TestEmptyInputStillWritesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	s, _ := NewFile(schema.Transaction(), FileOptions{Path: path})
	if err := feed(t, s, nil, 1); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != 0 {
		t.Fatalf("%v %v", st, err)
	}
}

func TestWriterSink(t *testing.T) {
	recs := batches(t, 100)
	var buf bytes.Buffer
	s, err := NewWriter(&buf, format.JSONL, schema.Transaction())
	if err != nil {
		t.Fatal(err)
	}
	if err := feed(t, s, recs, 1); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 100 {
		t.Fatalf("%d lines", n)
	}
}

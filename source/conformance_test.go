package source_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"millrace/format"
	"millrace/gen"
	"millrace/schema"
	"millrace/source"
	"millrace/source/sourcetest"
)

// TestFileSourceConforms runs the conformance suite on the file source over every text
// format, compressed and not, with corrupt records (dead letters), on JSONL files split by
// byte ranges and on Parquet files split by row groups.
func TestFileSourceConforms(t *testing.T) {
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.CorruptRate, cfg.Accounts, cfg.Merchants = 3000, 0.03, 1000, 200
	for _, c := range []struct {
		files      []string
		opts       format.WriteOptions
		corrupt    bool
		splitBytes int64
	}{
		{files: []string{"a.jsonl", "b.jsonl"}, corrupt: true},
		{files: []string{"split.jsonl", "b.jsonl"}, corrupt: true, splitBytes: 100 << 10},
		{files: []string{"a.jsonl.gz"}, corrupt: true},
		{files: []string{"a.csv", "b.csv.zst"}, corrupt: true},
		{files: []string{"a.parquet", "b.parquet"}, opts: format.WriteOptions{RowGroupRows: 700}},
	} {
		t.Run(c.files[0], func(t *testing.T) {
			sub := filepath.Join(dir, c.files[0]+".d")
			w := cfg
			if !c.corrupt {
				w.CorruptRate = 0
			}
			for i, name := range c.files {
				w.Seed = int64(i + 1)
				writeFile(t, filepath.Join(sub, name), w, c.opts)
			}
			sourcetest.Run(t, sourcetest.Subject{
				New: func(t *testing.T) source.Source {
					var options []source.FileOption
					if c.splitBytes > 0 {
						options = append(options, source.WithSplitBytes(c.splitBytes))
					}
					s, err := source.NewFile(sub, "", schema.Transaction(), format.ReadOptions{BatchRows: 256}, options...)
					if err != nil {
						t.Fatal(err)
					}
					if c.splitBytes > 0 && s.Partitions() < 6 {
						t.Fatalf("%d partitions, want each file split by byte ranges", s.Partitions())
					}
					return s
				},
				Records: int64(len(c.files)) * cfg.Rows,
			})
		})
	}
}

// TestGeneratorSourceConforms runs the conformance suite on the generator: bounded by rows,
// and paced, where Read waits for rows to come due.
func TestGeneratorSourceConforms(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Partitions, cfg.Accounts, cfg.Merchants = 20_000, 3, 1000, 200
	newGenerator := func(cfg gen.Config) func(t *testing.T) source.Source {
		return func(t *testing.T) source.Source {
			s, err := source.NewGenerator(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Run("bounded", func(t *testing.T) {
		sourcetest.Run(t, sourcetest.Subject{New: newGenerator(cfg), Records: cfg.Rows})
	})
	t.Run("paced", func(t *testing.T) {
		paced := cfg
		paced.Rows, paced.Speed, paced.Rate = 3000, 1e6, 1000     // event time runs far ahead of the clock
		paced.Start = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // else each stream starts at the clock
		sourcetest.Run(t, sourcetest.Subject{New: newGenerator(paced), Records: paced.Rows, Waits: true})
	})
}

func writeFile(t *testing.T, path string, cfg gen.Config, opts format.WriteOptions) {
	t.Helper()
	f, err := format.CreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kind, _, _ := format.Detect(path)
	if _, err := gen.Write(context.Background(), cfg, f, kind, opts, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStreamSourceConforms runs the conformance suite on a stream source over JSONL and CSV
// text with corrupt records, as standard input brings them.
func TestStreamSourceConforms(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows = 3000
	dir := t.TempDir()
	for _, kind := range []format.Kind{format.JSONL, format.CSV} {
		t.Run(string(kind), func(t *testing.T) {
			path := filepath.Join(dir, "tx."+string(kind))
			writeFile(t, path, cfg, format.WriteOptions{})
			text, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sourcetest.Run(t, sourcetest.Subject{
				New: func(t *testing.T) source.Source {
					s, err := source.NewStream("stdin", bytes.NewReader(text), kind, schema.Transaction(), format.ReadOptions{BatchRows: 256})
					if err != nil {
						t.Fatal(err)
					}
					return s
				},
				Records: cfg.Rows,
			})
		})
	}
}

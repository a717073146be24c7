package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/format"
	"millrace/gen"
	"millrace/schema"
)

// readPartition reads a partition to the end and returns its tx_ids and dead letters.
func readPartition(t *testing.T, s Source, p int) ([]string, int) {
	ids, dead, _ := readCounted(t, s, p)
	return ids, dead
}

// readCounted reads a partition to the end like readPartition and also returns the reader's
// BytesRead at the end, or -1 if it does not count. On the way it checks that the count never
// falls.
func readCounted(t *testing.T, s Source, p int) ([]string, int, int64) {
	t.Helper()
	r, err := s.Open(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	counts := s.Size(p) > 0
	var ids []string
	dead := 0
	read := int64(-1)
	for {
		rec, dl, err := r.Read(context.Background())
		if counts {
			n := r.Progress().BytesRead
			if n < read {
				t.Fatalf("partition %d: BytesRead fell from %d to %d", p, read, n)
			}
			read = n
		}
		if errors.Is(err, io.EOF) {
			return ids, dead, read
		}
		if err != nil {
			t.Fatal(err)
		}
		dead += len(dl)
		if rec != nil {
			col := rec.Column(schema.TxID).(*array.String)
			for i := range col.Len() {
				ids = append(ids, col.Value(i))
			}
			rec.Release()
		}
	}
}

func TestFileSourcePartitionsAreFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.CorruptRate = 3000, 0.01
	want := map[string]bool{}
	for i, name := range []string{"a.jsonl", "b.csv.gz", "c.jsonl.zst"} {
		cfg.Seed = int64(i + 1)
		f, err := format.CreateFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		kind, _, _ := format.Detect(name)
		if _, err := gen.Write(context.Background(), cfg, f, kind, format.WriteOptions{}, nil); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		want[name] = true
	}
	s, err := NewFile(dir, "", schema.Transaction(), format.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Partitions() != 3 {
		t.Fatalf("%d partitions: %v", s.Partitions(), s.Files())
	}
	total := 0
	for p := range s.Partitions() {
		if !want[filepath.Base(s.Files()[p])] {
			t.Fatalf("unexpected file %s", s.Files()[p])
		}
		st, err := os.Stat(s.Files()[p])
		if err != nil {
			t.Fatal(err)
		}
		if s.Size(p) != st.Size() {
			t.Errorf("%s: Size %d, want the file's %d bytes", s.Files()[p], s.Size(p), st.Size())
		}
		ids, dead, read := readCounted(t, s, p)
		if len(ids)+dead != 3000 || dead == 0 {
			t.Fatalf("%s: %d rows + %d dead letters", s.Files()[p], len(ids), dead)
		}
		if read != s.Size(p) {
			t.Errorf("%s: BytesRead %d at the end, want Size %d", s.Files()[p], read, s.Size(p))
		}
		total += len(ids) + dead
	}
	if total != 9000 {
		t.Fatalf("read %d records", total)
	}
	if _, err := NewFile(filepath.Join(dir, "*.parquet"), "", schema.Transaction(), format.ReadOptions{}); err == nil || !strings.Contains(err.Error(), "no files match") {
		t.Fatalf("empty glob: %v", err)
	}
}

func TestGeneratorPartitionsSplitTheStream(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Partitions = 10_000, 3
	s, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for p := range s.Partitions() {
		ids, _ := readPartition(t, s, p)
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("tx_id %s in two partitions", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != 10_000 {
		t.Fatalf("%d rows over all partitions", len(seen))
	}
}

func TestSplitRowGroups(t *testing.T) {
	ts := func(ms int64) map[string]int64 { return map[string]int64{"ts": ms} }
	groups := []format.RowGroupSize{{Rows: 400, Bytes: 4, TimeMins: ts(50)}, {Rows: 700, Bytes: 7, TimeMins: ts(20)}, {Rows: 100, Bytes: 1, TimeMins: ts(90)},
		{Rows: 1000, Bytes: 10}, {Rows: 50, Bytes: 5, TimeMins: ts(70)}}
	got := splitRowGroups(3, groups, 1000)
	// The least time of a split is known when every row group says one.
	want := []split{{file: 3, rowGroups: [2]int{0, 2}, bytes: 11, timeMins: ts(20)}, {file: 3, rowGroups: [2]int{2, 4}, bytes: 11},
		{file: 3, rowGroups: [2]int{4, 5}, bytes: 5, timeMins: ts(70)}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := splitRowGroups(0, nil, 1000); len(got) != 1 {
		t.Fatalf("a file without row groups: %v", got)
	}
}

func TestParquetSplitsReadEveryRowOnce(t *testing.T) {
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows = 5500
	path := filepath.Join(dir, "tx.parquet")
	f, err := format.CreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Write(context.Background(), cfg, f, format.Parquet, format.WriteOptions{RowGroupRows: 1000}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := format.ParquetRowGroupSizes(path, schema.Transaction())
	if err != nil || len(groups) != 6 {
		t.Fatalf("row groups %v %v", groups, err)
	}
	s, err := NewFile(path, "", schema.Transaction(), format.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The file is smaller than one split: its Size is all its column chunks, which are the
	// file but for the magic numbers at both ends and the footer, small next to the data.
	whole := s.Size(0)
	if s.Partitions() != 1 || whole > st.Size()-12 || whole < st.Size()/2 {
		t.Fatalf("%d partitions, Size %d of a %d-byte file", s.Partitions(), whole, st.Size())
	}
	s.splits = splitRowGroups(0, groups, 2000) // three splits of the six row groups
	seen := map[string]bool{}
	var sum int64
	for p := range s.Partitions() {
		size := s.Size(p)
		if size <= 0 || size >= whole {
			t.Errorf("split %d: Size %d, want a part of the file's %d bytes of column chunks", p, size, whole)
		}
		sum += size
		ids, _, read := readCounted(t, s, p)
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("row %s read twice", id)
			}
			seen[id] = true
		}
		// A Parquet reader reads exactly the column chunks of its row groups, no footer.
		if read != size {
			t.Errorf("split %d: BytesRead %d at the end, want Size %d", p, read, size)
		}
	}
	if s.Partitions() != 3 || len(seen) != 5500 {
		t.Fatalf("%d partitions read %d rows", s.Partitions(), len(seen))
	}
	if sum != whole {
		t.Errorf("splits' Sizes sum to %d, want the whole file's %d", sum, whole)
	}
}

// A Parquet split knows the least event time of its rows from the row groups' statistics,
// exactly the least value its reader yields.
func TestParquetSplitsKnowTheirLeastTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tx.parquet")
	f, err := format.CreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := gen.DefaultConfig()
	cfg.Rows = 5500
	if _, err := gen.Write(context.Background(), cfg, f, format.Parquet, format.WriteOptions{RowGroupRows: 1000}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := NewFile(path, "", schema.Transaction(), format.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := format.ParquetRowGroupSizes(path, schema.Transaction())
	if err != nil {
		t.Fatal(err)
	}
	s.splits = splitRowGroups(0, groups, 2000)
	for p := range s.Partitions() {
		r, err := s.Open(context.Background(), p, nil)
		if err != nil {
			t.Fatal(err)
		}
		least := int64(math.MaxInt64)
		for {
			rec, _, err := r.Read(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range rec.Column(schema.TS).(*array.Timestamp).TimestampValues() {
				least = min(least, int64(v))
			}
			rec.Release()
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if got, ok := s.TimeFloor(p, "ts"); !ok || got != least {
			t.Errorf("split %d: TimeFloor %d, %v; its least ts is %d", p, got, ok, least)
		}
		if _, ok := s.TimeFloor(p, "amount"); ok {
			t.Errorf("split %d: a floor for amount, not a timestamp", p)
		}
	}
}

// TestJSONLSplitsReadEveryLineOnce splits a JSONL file with damaged lines all through it
// into byte ranges and wants its splits, read one after another, to yield what the file
// read as one partition yields: the same rows from the same lines, the same dead letters
// naming the same lines (counted only by the splits that have some), and BytesRead ending
// at each split's Size, the Sizes summing to the file's.
func TestJSONLSplitsReadEveryLineOnce(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.CorruptRate, cfg.Accounts, cfg.Merchants = 4000, 0.02, 1000, 200
	path := writeGenerated(t, t.TempDir(), "tx.jsonl", cfg, format.WriteOptions{})
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	read := func(s *File) (rows, dead string) {
		pr := newPartitionRead(t, s)
		var all []batchRead
		for p := range s.Partitions() {
			r, err := s.Open(context.Background(), p, nil)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, pr.rest(r, p)...) // checks BytesRead ends at Size
		}
		return joined(all)
	}
	whole, err := NewFile(path, "", schema.Transaction(), format.ReadOptions{BatchRows: 300})
	if err != nil {
		t.Fatal(err)
	}
	if whole.Partitions() != 1 {
		t.Fatalf("a file smaller than SplitBytes in %d partitions", whole.Partitions())
	}
	wantRows, wantDead := read(whole)
	if strings.Count(wantDead, "\n") < 40 {
		t.Fatalf("too few dead letters to see them in every split:\n%s", wantDead)
	}
	split, err := NewFile(path, "", schema.Transaction(), format.ReadOptions{BatchRows: 300}, WithSplitBytes(st.Size()/7))
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for p := range split.Partitions() {
		sum += split.Size(p)
	}
	if split.Partitions() != 8 || sum != st.Size() {
		t.Fatalf("%d splits of %d bytes in all, want 8 of the file's %d", split.Partitions(), sum, st.Size())
	}
	rows, dead := read(split)
	if rows != wantRows {
		t.Fatalf("the splits' rows differ from the file's\ngot  %.500s\nwant %.500s", rows, wantRows)
	}
	if dead != wantDead {
		t.Fatalf("the splits' dead letters\n%s\nwant\n%s", dead, wantDead)
	}
}

package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/expr"
	"millrace/format"
	"millrace/objstore"
	"millrace/objstore/objstoretest"
)

// txSchema is the schema of the lake's files in these tests.
var txSchema = arrow.NewSchema([]arrow.Field{
	{Name: "tx_id", Type: arrow.BinaryTypes.String},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}},
	{Name: "currency", Type: arrow.BinaryTypes.String},
	{Name: "mcc", Type: arrow.PrimitiveTypes.Int32},
}, nil)

var dayParts = []arrow.Field{
	{Name: "year", Type: arrow.PrimitiveTypes.Int32},
	{Name: "month", Type: arrow.PrimitiveTypes.Int32},
	{Name: "day", Type: arrow.PrimitiveTypes.Int32},
}

// txFile encodes rows transactions of a day as a Parquet file of row groups of groupRows
// rows, in time order: row i is at start + i minutes.
func txFile(t testing.TB, start time.Time, rows, groupRows int) []byte {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, txSchema)
	defer b.Release()
	currencies := []string{"EUR", "USD", "GBP"}
	for i := range rows {
		ts := start.Add(time.Duration(i) * time.Minute)
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("tx-%s-%04d", start.Format("20060102"), i))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMilli()))
		b.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(100 + 37*i)))
		b.Field(3).(*array.StringBuilder).Append(currencies[i%3])
		b.Field(4).(*array.Int32Builder).Append(int32(5000 + i%7))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := format.NewParquetWriter(&buf, txSchema, format.WriteOptions{RowGroupRows: int64(groupRows)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dayLake writes a lake of one file per day of 2026, year=2026/month=MM/day=DD/part-0.parquet,
// into dir, with a _SUCCESS marker and a hidden file that the lake leaves out, and returns
// it as a store. It writes plain files: a store's Put would sync each.
func dayLake(t testing.TB, rows int) objstore.Store {
	t.Helper()
	dir := t.TempDir()
	write := func(key string, data []byte) {
		path := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
		write(fmt.Sprintf("year=2026/month=%02d/day=%02d/part-0.parquet", d.Month(), d.Day()), txFile(t, d, rows, rows))
	}
	write("_SUCCESS", nil)
	write("year=2026/month=03/day=01/_committed", []byte("x"))
	store, err := objstore.Open(context.Background(), dir, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// counting is a store that counts what is read of it: the objects read and the bytes, and
// the prefixes listed.
type counting struct {
	objstore.Store
	mu     sync.Mutex
	reads  map[string]int64 // key -> bytes read
	gets   int
	listed []string
}

func newCounting(s objstore.Store) *counting { return &counting{Store: s, reads: map[string]int64{}} }

func (c *counting) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	b, err := c.Store.GetRange(ctx, key, off, n)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads[key] += int64(len(b))
	c.gets++
	return b, err
}

func (c *counting) ListDir(ctx context.Context, prefix string) ([]string, []objstore.Object, error) {
	c.mu.Lock()
	c.listed = append(c.listed, prefix)
	c.mu.Unlock()
	return c.Store.ListDir(ctx, prefix)
}

func (c *counting) List(ctx context.Context, prefix string) ([]objstore.Object, error) {
	c.mu.Lock()
	c.listed = append(c.listed, prefix+"**")
	c.mu.Unlock()
	return c.Store.List(ctx, prefix)
}

func (c *counting) files() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.reads {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (c *counting) bytesRead() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, b := range c.reads {
		n += b
	}
	return n
}

func dirStore(t testing.TB) objstore.Store {
	t.Helper()
	s, err := objstore.Open(context.Background(), t.TempDir(), objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func withFields(s *arrow.Schema, more ...arrow.Field) *arrow.Schema {
	return arrow.NewSchema(append(slices.Clone(s.Fields()), more...), nil)
}

func mustParse(t testing.TB, src string) expr.Node {
	t.Helper()
	if src == "" {
		return nil
	}
	n, err := expr.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// readRows reads every work item of src and renders each row as text, sorted; it closes the
// readers it opens.
func readRows(t testing.TB, src *Source) []string {
	t.Helper()
	var out []string
	for p := range src.Partitions() {
		r, err := src.Open(t.Context(), p, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, drain(t, r)...)
	}
	slices.Sort(out)
	return out
}

// drain reads a reader to its end, renders its rows and closes it.
func drain(t testing.TB, r interface {
	Read(context.Context) (arrow.RecordBatch, []format.DeadLetter, error)
	Close() error
}) []string {
	t.Helper()
	var out []string
	for {
		rec, dead, err := r.Read(t.Context())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) > 0 {
			t.Fatalf("dead letters: %+v", dead)
		}
		if rec != nil {
			out = append(out, render(rec)...)
			rec.Release()
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// render renders each row of rec as name=value pairs.
func render(rec arrow.RecordBatch) []string {
	out := make([]string, rec.NumRows())
	for i := range out {
		var parts []string
		for j, c := range rec.Columns() {
			parts = append(parts, rec.Schema().Field(j).Name+"="+c.ValueStr(i))
		}
		out[i] = strings.Join(parts, " ")
	}
	return out
}

// keepRows filters rendered rows by a test of their fields.
func keepRows(rows []string, keep func(fields map[string]string) bool) []string {
	var out []string
	for _, r := range rows {
		fields := map[string]string{}
		for _, kv := range strings.Fields(r) {
			k, v, _ := strings.Cut(kv, "=")
			fields[k] = v
		}
		if keep(fields) {
			out = append(out, r)
		}
	}
	return out
}

func TestPartitionPruningOpensOnlyTheNeededDays(t *testing.T) {
	base := dayLake(t, 24)
	schema := withFields(txSchema, dayParts...)

	full, err := Open(t.Context(), base, Options{Schema: schema, Partitioning: dayParts})
	if err != nil {
		t.Fatal(err)
	}
	if st := full.Stats(); st.Files != 365 || st.Directories != 1+12+365 || st.DirectoriesPruned != 0 {
		t.Fatalf("a full listing found %+v, want 365 files in 378 directories", st)
	}
	want := keepRows(readRows(t, full), func(f map[string]string) bool {
		return f["month"] == "3" && (f["day"] == "1" || f["day"] == "2")
	})
	if len(want) != 48 {
		t.Fatalf("the full scan has %d rows of March 1 and 2, want 48", len(want))
	}

	store := newCounting(base)
	src, err := Open(t.Context(), store, Options{Schema: schema, Partitioning: dayParts,
		Filter: mustParse(t, "year = 2026 AND month = 3 AND day IN (1, 2) AND amount > 0")})
	if err != nil {
		t.Fatal(err)
	}
	got := readRows(t, src)
	if !slices.Equal(got, want) {
		t.Errorf("the pruned read has %d rows, the full scan %d:\n%s\nwant\n%s", len(got), len(want), strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantFiles := []string{"year=2026/month=03/day=01/part-0.parquet", "year=2026/month=03/day=02/part-0.parquet"}
	if files := store.files(); !slices.Equal(files, wantFiles) {
		t.Errorf("read from %v, want only %v", files, wantFiles)
	}
	if listed := store.listed; !slices.Equal(listed, []string{"", "year=2026/", "year=2026/month=03/", "year=2026/month=03/day=01/**", "year=2026/month=03/day=02/**"}) {
		t.Errorf("listed %v: only the root, the year, March and two days", listed)
	}
	var size int64
	for _, k := range wantFiles {
		data, err := base.Get(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		size += int64(len(data))
	}
	// The end of each file for its footer while planning, then the column chunks.
	if n := store.bytesRead(); n > 2*size || n < size {
		t.Errorf("read %d bytes of two files of %d bytes", n, size)
	}
	if st := src.Stats(); st.Files != 2 || st.DirectoriesPruned != 11+29 {
		t.Errorf("pruning: %+v, want 2 files, 11 months and 29 days of March left unlisted", st)
	}
}

func TestRowGroupPruningReadsOnlyMatchingRowGroups(t *testing.T) {
	base := dirStore(t)
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	// One file of 10 row groups of 60 rows: row group g holds minutes [60g, 60g+60).
	if err := base.Put(t.Context(), "tx/part-0.parquet", txFile(t, day, 600, 60)); err != nil {
		t.Fatal(err)
	}
	full, err := Open(t.Context(), base, Options{Schema: txSchema})
	if err != nil {
		t.Fatal(err)
	}
	all := readRows(t, full)
	store := newCounting(base)
	where := "ts >= TIMESTAMP '2026-03-01T03:30:00Z' AND ts < '2026-03-01T05:00:00Z'"
	src, err := Open(t.Context(), store, Options{Schema: txSchema, Filter: mustParse(t, where)})
	if err != nil {
		t.Fatal(err)
	}
	if st := src.Stats(); st.RowGroups != 10 || st.RowGroupsPruned != 8 {
		t.Fatalf("row groups %+v, want 8 of 10 pruned (hours 3 and 4 kept)", st)
	}
	if src.Partitions() != 1 || src.items[0].first != 3 || src.items[0].end != 5 {
		t.Fatalf("work items %+v, want row groups [3, 5) of the file", src.items)
	}
	afterFooter := store.bytesRead()
	got := readRows(t, src)
	if len(got) != 120 {
		t.Fatalf("read %d rows, want the 120 of row groups 3 and 4", len(got))
	}
	wantRows := keepRows(all, func(f map[string]string) bool {
		return f["ts"] >= "2026-03-01T03:00:00Z" && f["ts"] < "2026-03-01T05:00:00Z"
	})
	if !slices.Equal(got, wantRows) {
		t.Errorf("rows of row groups 3 and 4 differ from the full scan's")
	}
	var chunks int64
	for g := 3; g < 5; g++ {
		for _, s := range src.files[0].spans[g] {
			chunks += s.to - s.from
		}
	}
	// What the readers read after planning: the column chunks of row groups 3 and 4, and the
	// magic bytes at the start of the file.
	if n := store.bytesRead() - afterFooter; n != chunks+4 {
		t.Errorf("the readers read %d bytes, want the %d of row groups 3 and 4 and 4 magic bytes", n, chunks)
	}
	// The answer equals the full scan's filtered by the where.
	wantWhere := keepRows(all, func(f map[string]string) bool {
		return f["ts"] >= "2026-03-01T03:30:00Z" && f["ts"] < "2026-03-01T05:00:00Z"
	})
	gotWhere := keepRows(got, func(f map[string]string) bool {
		return f["ts"] >= "2026-03-01T03:30:00Z" && f["ts"] < "2026-03-01T05:00:00Z"
	})
	if len(wantWhere) != 90 || !slices.Equal(gotWhere, wantWhere) {
		t.Errorf("the where keeps %d rows of the pruned read and %d of the full scan, want 90", len(gotWhere), len(wantWhere))
	}
}

func TestProjectionFetchesOnlyTheColumnsUsed(t *testing.T) {
	base := dirStore(t)
	if err := base.Put(t.Context(), "part-0.parquet", txFile(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 2000, 500)); err != nil {
		t.Fatal(err)
	}
	bytesFor := func(s *arrow.Schema) (int64, []string) {
		store := newCounting(base)
		src, err := Open(t.Context(), store, Options{Schema: s})
		if err != nil {
			t.Fatal(err)
		}
		planned := store.bytesRead()
		rows := readRows(t, src)
		return store.bytesRead() - planned, rows
	}
	all, allRows := bytesFor(txSchema)
	proj := arrow.NewSchema([]arrow.Field{txSchema.Field(4)}, nil) // mcc only
	some, rows := bytesFor(proj)
	if len(rows) != 2000 || len(allRows) != 2000 || rows[0] != "mcc=5000" {
		t.Fatalf("read %d and %d rows (first %q), want 2000 each", len(rows), len(allRows), rows[0])
	}
	if some*2 > all {
		t.Errorf("reading mcc alone read %d bytes, all columns %d: want far fewer", some, all)
	}
}

func TestResumeGoesOnWhereTheReaderStood(t *testing.T) {
	base := dirStore(t)
	if err := base.Put(t.Context(), "part-0.parquet", txFile(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 1000, 100)); err != nil {
		t.Fatal(err)
	}
	src, err := Open(t.Context(), base, Options{Schema: txSchema, SplitRows: 300, Read: format.ReadOptions{BatchRows: 64}})
	if err != nil {
		t.Fatal(err)
	}
	if src.Partitions() != 4 {
		t.Fatalf("%d work items, want 4 of at least 300 rows", src.Partitions())
	}
	whole := readRows(t, src)
	var got []string
	for p := range src.Partitions() {
		r, err := src.Open(t.Context(), p, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Read three batches, checkpoint, and go on in a new reader.
		for range 3 {
			rec, _, err := r.Read(t.Context())
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, render(rec)...)
			rec.Release()
		}
		pos, err := r.Checkpoint()
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		r2, err := src.Open(t.Context(), p, pos)
		if err != nil {
			t.Fatalf("resume at %s: %v", pos, err)
		}
		got = append(got, drain(t, r2)...)
	}
	slices.Sort(got)
	if !slices.Equal(got, whole) {
		t.Errorf("resumed reads give %d rows, one read %d", len(got), len(whole))
	}
	if _, err := src.Open(t.Context(), 0, []byte(`{"v":1,"file":"other.parquet","row_group":0,"row":0}`)); err == nil || !strings.Contains(err.Error(), "other.parquet") {
		t.Errorf("resume at a position of another file: %v", err)
	}
}

func TestS3LakeReadsAsTheDirectoryDoes(t *testing.T) {
	dir := t.TempDir()
	local, err := objstore.Open(t.Context(), dir, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	url := objstoretest.S3(t)
	remote, err := objstore.Open(t.Context(), url, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for d := 1; d <= 5; d++ {
		key := fmt.Sprintf("year=2026/month=03/day=%02d/part-0.parquet", d)
		data := txFile(t, time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC), 300, 50)
		for _, s := range []objstore.Store{local, remote} {
			if err := s.Put(t.Context(), key, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := remote.Close(); err != nil {
		t.Fatal(err)
	}
	opts := Options{Schema: withFields(txSchema, dayParts[2]), Partitioning: dayParts,
		Filter: mustParse(t, "day BETWEEN 2 AND 3 AND currency = 'EUR' AND ts >= '2026-03-02T02:00:00Z'")}
	fromDir, err := OpenURL(t.Context(), dir, objstore.Options{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fromDir.Close(); err != nil {
			t.Error(err)
		}
	})
	fromS3, err := OpenURL(t.Context(), url, objstore.Options{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fromS3.Close(); err != nil {
			t.Error(err)
		}
	})
	a, b := readRows(t, fromDir), readRows(t, fromS3)
	if len(a) == 0 || !slices.Equal(a, b) {
		t.Errorf("the directory gives %d rows, S3 %d", len(a), len(b))
	}
	if fromS3.Stats() != fromDir.Stats() || fromS3.Stats().Files != 2 || fromS3.Stats().RowGroupsPruned != 2 {
		t.Errorf("pruning in S3 %+v, in the directory %+v; want 2 files and 2 row groups of day 2 pruned", fromS3.Stats(), fromDir.Stats())
	}
}

func TestLakeErrors(t *testing.T) {
	base := dirStore(t)
	if err := base.Put(t.Context(), "year=2026/part-0.parquet", txFile(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 10, 10)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(t.Context(), base, Options{Schema: txSchema, Partitioning: dayParts})
	if err == nil || !strings.Contains(err.Error(), "year=2026/part-0.parquet lies above the partition level month") {
		t.Errorf("a file above the leaf level: %v", err)
	}
	base = dirStore(t)
	if err := base.Put(t.Context(), "year=2026/month=x/day=1/part-0.parquet", []byte("not parquet at all")); err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), base, Options{Schema: withFields(txSchema, dayParts[1]), Partitioning: dayParts[:2], Filter: mustParse(t, "month = 3")})
	if err == nil || !strings.Contains(err.Error(), "month=x: not an int32") {
		t.Errorf("a partition value that is not of its type: %v", err)
	}
	_, err = OpenURL(t.Context(), filepath.Join(t.TempDir(), "missing"), objstore.Options{}, Options{Schema: txSchema})
	if err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("a lake directory that does not exist: %v", err)
	}
	if _, err := os.Stat(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Errorf("opening a missing lake created its directory")
	}
}

func TestDamagedFileIsOneDeadLetter(t *testing.T) {
	base := dirStore(t)
	good := txFile(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 50, 50)
	if err := base.Put(t.Context(), "a.parquet", good); err != nil {
		t.Fatal(err)
	}
	if err := base.Put(t.Context(), "b.parquet", good[:len(good)/2]); err != nil { // cut short
		t.Fatal(err)
	}
	src, err := Open(t.Context(), base, Options{Schema: txSchema})
	if err != nil {
		t.Fatal(err)
	}
	if src.Partitions() != 2 {
		t.Fatalf("%d work items, want one per file", src.Partitions())
	}
	r, err := src.Open(t.Context(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, dead, err := r.Read(t.Context())
	if err != nil || rec != nil || len(dead) != 1 || dead[0].File != "b.parquet" || !strings.Contains(dead[0].Reason, "cannot be read") {
		t.Fatalf("read of a cut file: %v, %v, %+v; want one dead letter naming b.parquet", rec, err, dead)
	}
	if _, _, err := r.Read(t.Context()); err != io.EOF {
		t.Fatalf("after the dead letter: %v, want io.EOF", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), base, Options{Schema: txSchema, Read: format.ReadOptions{FailOnDamage: true}})
	if !errors.Is(err, format.ErrDamaged) || !strings.Contains(err.Error(), "b.parquet") {
		t.Errorf("open with a cut file, failing on damage: %v", err)
	}
}

// A work item knows the least event time of its rows from its row groups' statistics: the
// rows of item p of a file with one row a minute from 00:00 start at minute 300p. The lake
// knows its greatest event time so too.
func TestWorkItemsKnowTheirLeastTime(t *testing.T) {
	base := dirStore(t)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := base.Put(t.Context(), "part-0.parquet", txFile(t, start, 1000, 100)); err != nil {
		t.Fatal(err)
	}
	src, err := Open(t.Context(), base, Options{Schema: txSchema, SplitRows: 300})
	if err != nil {
		t.Fatal(err)
	}
	for p := range src.Partitions() {
		want := start.Add(time.Duration(300*p) * time.Minute).UnixMilli()
		if got, ok := src.TimeFloor(p, "ts"); !ok || got != want {
			t.Errorf("item %d: TimeFloor %d, %v; want %d", p, got, ok, want)
		}
		if _, ok := src.TimeFloor(p, "amount"); ok {
			t.Errorf("item %d: a floor for amount, not a timestamp", p)
		}
	}
	if got, ok := src.TimeCeiling("ts"); !ok || got != start.Add(999*time.Minute).UnixMilli() {
		t.Errorf("TimeCeiling %d, %v; want the 1000th minute, %d", got, ok, start.Add(999*time.Minute).UnixMilli())
	}
}

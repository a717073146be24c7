package plan

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/engine"
	"millrace/format"
	"millrace/format/formattest"
	"millrace/spec"
)

// poisonColumns are the columns of the poison tests' inputs, as a spec declares them.
const poisonColumns = `{id: int64, ts: timestamp, k: string, s: string, n: int64}`

var poisonSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
	{Name: "k", Type: arrow.BinaryTypes.String},
	{Name: "s", Type: arrow.BinaryTypes.String},
	{Name: "n", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// poisonRow is one input row of the poison tests.
type poisonRow struct {
	ID int64  `json:"id"`
	TS int64  `json:"ts"`
	K  string `json:"k"`
	S  string `json:"s"`
	N  int64  `json:"n"`
}

// poisonRows makes rows ids from..to-1, one a second, with s the id as text and n 1.
func poisonRows(from, to int64) []poisonRow {
	var rows []poisonRow
	for id := from; id < to; id++ {
		rows = append(rows, poisonRow{ID: id, TS: 1_700_000_000_000 + id*1000, K: fmt.Sprintf("k%d", id%3), S: fmt.Sprint(id), N: 1})
	}
	return rows
}

// writeJSONLGz writes rows as gzip-compressed JSON lines to path.
func writeJSONLGz(t *testing.T, path string, rows []poisonRow) {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	enc := json.NewEncoder(zw)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writePoisonParquet writes rows to a Parquet file at path in row groups of groupRows rows.
func writePoisonParquet(t *testing.T, path string, rows []poisonRow, groupRows int64) {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, poisonSchema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.ID)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(r.TS))
		b.Field(2).(*array.StringBuilder).Append(r.K)
		b.Field(3).(*array.StringBuilder).Append(r.S)
		b.Field(4).(*array.Int64Builder).Append(r.N)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := format.NewParquetWriter(f, poisonSchema, format.WriteOptions{RowGroupRows: groupRows})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// runSpec plans and runs a spec at parallelism 2 and returns its ledger, or the error of
// planning or running it.
func runSpec(t *testing.T, text string) (Ledger, error) {
	t.Helper()
	s, err := spec.Parse([]byte(text), "poison.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: 2})
	if err != nil {
		return Ledger{}, err
	}
	stats, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions())
	if err != nil {
		return Ledger{}, err
	}
	return pl.Ledger(stats), nil
}

// jsonLines reads a JSON lines file into one map per line.
func jsonLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A truncated .gz, a Parquet file with a damaged row group and one without its footer become
// one dead letter each; the rows before the damage, and the row groups after it, are read,
// and the run ends well.
func TestDamagedFilesBecomeDeadLetters(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	writeJSONLGz(t, filepath.Join(in, "a.jsonl.gz"), poisonRows(0, 1000))
	cut := filepath.Join(in, "b.jsonl.gz")
	writeJSONLGz(t, cut, poisonRows(1000, 5000))
	st, err := os.Stat(cut)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(cut, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	pq := filepath.Join(in, "c.parquet")
	writePoisonParquet(t, pq, poisonRows(5000, 6500), 500)
	formattest.DamagePage(t, pq, 1, 0)
	noFooter := filepath.Join(in, "d.parquet")
	writePoisonParquet(t, noFooter, poisonRows(6500, 7000), 500)
	if st, err := os.Stat(noFooter); err != nil || os.Truncate(noFooter, st.Size()-8) != nil {
		t.Fatalf("truncate %s: %v", noFooter, err)
	}

	text := func(onError string) string {
		return fmt.Sprintf(`
name: poison
sources:
  gz: {kind: file, path: %s, columns: %s, event_time: ts, on_error: %s}
  pq: {kind: file, path: %s, columns: %s, event_time: ts, on_error: %s}
views:
  ids: {from: [gz, pq], select: {id: id}}
  damaged: {from: [gz.dead_letters, pq.dead_letters]}
sinks:
  out:  {from: ids, kind: jsonl, path: %s}
  dead: {from: damaged, kind: jsonl, path: %s}
`, filepath.Join(in, "*.jsonl.gz"), poisonColumns, onError, filepath.Join(in, "*.parquet"), poisonColumns, onError,
			filepath.Join(dir, "out", onError+".jsonl"), filepath.Join(dir, "dead", onError+".jsonl"))
	}
	l, err := runSpec(t, text("continue"))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	dead := jsonLines(t, filepath.Join(dir, "dead", "continue.jsonl"))
	if len(dead) != 3 {
		t.Fatalf("%d dead letters, want 3: %v", len(dead), dead)
	}
	byFile := map[string]map[string]any{}
	for _, d := range dead {
		byFile[filepath.Base(d["file"].(string))] = d
	}
	gz, rg := byFile["b.jsonl.gz"], byFile["c.parquet"]
	if gz == nil || !strings.Contains(gz["reason"].(string), "gzip stream cannot be decoded past byte") || gz["line"] == nil {
		t.Errorf("dead letter of the truncated file: %v", gz)
	}
	if rg == nil || rg["row_group"] != 1.0 || !strings.Contains(rg["reason"].(string), "row group 1 cannot be decoded from row 0") {
		t.Errorf("dead letter of the damaged row group: %v", rg)
	}
	if d := byFile["d.parquet"]; d == nil || d["row_group"] != 0.0 || !strings.Contains(d["reason"].(string), "the file cannot be read: not a complete Parquet file: no footer") {
		t.Errorf("dead letter of the file without footer: %v", d)
	}
	ids := map[int64]bool{}
	for _, r := range jsonLines(t, filepath.Join(dir, "out", "continue.jsonl")) {
		ids[int64(r["id"].(float64))] = true
	}
	firstLost := int64(gz["line"].(float64)) - 1 + 1000 // the id on the line where decoding stopped
	for id := range int64(7000) {
		want := id < firstLost || id >= 5000 && id < 6500 && (id < 5500 || id >= 6000)
		if ids[id] != want {
			t.Fatalf("id %d read: %v, want %v (the gzip file is cut at id %d)", id, ids[id], want, firstLost)
		}
	}
	gzl, pql := l.Sources[0], l.Sources[1]
	if !l.Balanced() || gzl.Rejected != 1 || pql.Rejected != 2 || gzl.Accepted+pql.Accepted != int64(len(ids)) {
		t.Errorf("ledger:\n%s", l)
	}

	_, err = runSpec(t, text("fail"))
	if err == nil || !strings.Contains(err.Error(), "d.parquet") || !strings.Contains(err.Error(), "not a complete Parquet file") {
		t.Errorf("run with on_error: fail: %v; want the file without footer refused", err)
	}
	if err := os.Remove(noFooter); err != nil {
		t.Fatal(err)
	}
	_, err = runSpec(t, text("fail"))
	if err == nil || !strings.Contains(err.Error(), "b.jsonl.gz") && !strings.Contains(err.Error(), "c.parquet") {
		t.Errorf("run with on_error: fail: %v; want the damage, naming the file", err)
	}
}

// A row on which a CAST or an integer operation fails goes to the view's errors with its
// values, the expression and the reason; the other rows go on.
func TestFailedExpressionsGoToViewErrors(t *testing.T) {
	dir := t.TempDir()
	rows := poisonRows(0, 3000)
	rows[17].S = "seventeen"
	rows[2500].N = 1 << 62
	path := filepath.Join(dir, "tx.jsonl.gz")
	writeJSONLGz(t, path, rows)
	text := func(onError string) string {
		return fmt.Sprintf(`
name: poison
sources:
  tx: {kind: file, path: %s, columns: %s, event_time: ts}
views:
  parsed:
    from: tx
    where: id <> 5
    select: {id: id, v: "CAST(s AS int64)", doubled: n * 4}
    on_error: %s
sinks:
  out:    {from: parsed, kind: jsonl, path: %s}
  errors: {from: parsed.errors, kind: jsonl, path: %s}
`, path, poisonColumns, onError, filepath.Join(dir, onError+".jsonl"), filepath.Join(dir, onError+".errors.jsonl"))
	}
	l, err := runSpec(t, text("continue"))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	errs := jsonLines(t, filepath.Join(dir, "continue.errors.jsonl"))
	if len(errs) != 2 {
		t.Fatalf("%d error rows, want 2: %v", len(errs), errs)
	}
	got := map[string]string{}
	for _, e := range errs {
		got[e["expression"].(string)] = e["reason"].(string) + " " + e["row"].(string)
	}
	if g := got["CAST(s AS int64)"]; !strings.HasPrefix(g, `select v: "seventeen" is not a valid int64 {"id":17,`) {
		t.Errorf("error of the failed CAST: %q", g)
	}
	if g := got["n * 4"]; !strings.HasPrefix(g, `select doubled: integer overflow {"id":2500,`) {
		t.Errorf("error of the overflow: %q", g)
	}
	if out := jsonLines(t, filepath.Join(dir, "continue.jsonl")); len(out) != 2997 {
		t.Errorf("%d rows out, want 3000 - 1 filtered - 2 errors", len(out))
	}
	v := l.Views[0]
	if !l.Balanced() || v.In != 3000 || v.Filtered != 1 || v.Errors != 2 || v.Kept != 2997 || v.Out != 2997 {
		t.Errorf("ledger:\n%s", l)
	}

	if _, err := runSpec(t, strings.Replace(text("fail"), "  errors: {from: parsed.errors, kind: jsonl, path: "+filepath.Join(dir, "fail.errors.jsonl")+"}\n", "", 1)); err == nil || !strings.Contains(err.Error(), "CAST(s AS int64)") {
		t.Errorf("run with on_error: fail: %v; want the failed CAST", err)
	}
}

// A row that would take a sum past int64 goes to the view's errors and is added to none of
// its aggregates; its window is emitted with the other rows. Rows in one batch are rejected
// before the exchange, as input rows; rows that reach the final step in different partial
// states are rejected there, as the partial state of their batch (a window error).
func TestSumOverflowGoesToViewErrors(t *testing.T) {
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprintf("split %v", split), func(t *testing.T) {
			dir := t.TempDir()
			rows := poisonRows(0, 2000)
			rows[100].K, rows[100].N = "big", math.MaxInt64
			rows[1900].K, rows[1900].N = "big", math.MaxInt64
			if split {
				writeJSONLGz(t, filepath.Join(dir, "a.jsonl.gz"), rows[:1000])
				writeJSONLGz(t, filepath.Join(dir, "b.jsonl.gz"), rows[1000:])
			} else {
				writeJSONLGz(t, filepath.Join(dir, "a.jsonl.gz"), rows)
			}
			text := func(onError string) string {
				return fmt.Sprintf(`
name: poison
sources:
  tx: {kind: file, path: %s, columns: %s, event_time: ts}
views:
  totals:
    from: tx
    group_by: [k]
    window: {tumble: 24h}
    select: {total: sum(n), rows: count(*)}
    on_error: %s
sinks:
  out: {from: totals, kind: jsonl, path: %s}
`, filepath.Join(dir, "*.jsonl.gz"), poisonColumns, onError, filepath.Join(dir, onError+".jsonl"))
			}
			spec := text("continue") + fmt.Sprintf("  errors: {from: totals.errors, kind: jsonl, path: %s}\n", filepath.Join(dir, "errors.jsonl"))
			l, err := runSpec(t, spec)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			errs := jsonLines(t, filepath.Join(dir, "errors.jsonl"))
			if len(errs) != 1 || errs[0]["expression"] != "sum(n)" || !strings.Contains(errs[0]["reason"].(string), "overflows int64") ||
				!strings.Contains(errs[0]["row"].(string), `"big"`) {
				t.Fatalf("error rows %v, want one for the sum of key big", errs)
			}
			var sums, counts int64
			for _, r := range jsonLines(t, filepath.Join(dir, "continue.jsonl")) {
				if r["k"] == "big" {
					if r["total"] != float64(math.MaxInt64) || r["rows"] != 1.0 {
						t.Errorf("window of key big: %v, want the one row that fits", r)
					}
					continue
				}
				sums += int64(r["total"].(float64))
				counts += int64(r["rows"].(float64))
			}
			if sums != 1998 || counts != 1998 {
				t.Errorf("the other windows sum %d over %d rows, want 1998 rows of 1", sums, counts)
			}
			v := l.Views[0]
			if !l.Balanced() || v.In != 2000 || v.Errors+v.WindowErrors != 1 || split != (v.WindowErrors == 1) {
				t.Errorf("ledger:\n%s", l)
			}

			if _, err := runSpec(t, text("fail")); err == nil || !strings.Contains(err.Error(), "overflows int64") {
				t.Errorf("run with on_error: fail: %v; want the overflow", err)
			}
		})
	}
}

// TestPoisonIsExactlyOnceAcrossCrashes runs damaged files, failing CASTs and an overflowing
// sum with checkpoints, aborts the run right after each checkpoint completes and resumes it
// from there: every sink, the dead letters and both views' errors included, ends with exactly
// what an uninterrupted run writes.
func TestPoisonIsExactlyOnceAcrossCrashes(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	rows := poisonRows(0, 120_000)
	for i := range rows {
		if i%997 == 3 {
			rows[i].S = "n/a"
		}
	}
	rows[50].K, rows[50].N = "k1", math.MaxInt64-10
	rows[52].K, rows[52].N = "k1", 100
	for i, part := range [][]poisonRow{rows[:40_000], rows[40_000:80_000], rows[80_000:]} {
		writeJSONLGz(t, filepath.Join(in, fmt.Sprintf("%c.jsonl.gz", 'a'+i)), part)
	}
	cut := filepath.Join(in, "b.jsonl.gz")
	st, err := os.Stat(cut)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(cut, st.Size()*3/5); err != nil {
		t.Fatal(err)
	}
	sinks := []string{"parsed.jsonl", "parse_errors.jsonl", "totals.jsonl", "sum_errors.jsonl", "dead.jsonl"}
	build := func(out string) *Plan {
		text := fmt.Sprintf(`
name: poison
sources:
  tx: {kind: file, path: %s, columns: %s, event_time: ts, watermark: 1s}
views:
  parsed: {from: tx, select: {id: id, v: "CAST(s AS int64)"}}
  totals: {from: tx, group_by: [k], window: {tumble: 1h}, select: {total: sum(n), rows: count(*)}}
sinks:
  parsed:       {from: parsed, kind: jsonl, path: %[3]s/parsed.jsonl}
  parse_errors: {from: parsed.errors, kind: jsonl, path: %[3]s/parse_errors.jsonl}
  totals:       {from: totals, kind: jsonl, path: %[3]s/totals.jsonl}
  sum_errors:   {from: totals.errors, kind: jsonl, path: %[3]s/sum_errors.jsonl}
  dead:         {from: tx.dead_letters, kind: jsonl, path: %[3]s/dead.jsonl}
`, filepath.Join(in, "*.jsonl.gz"), poisonColumns, out)
		s, err := spec.Parse([]byte(text), "poison.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := Build(s, Options{Parallelism: 2})
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	sorted := func(path string) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		slices.Sort(lines)
		return lines
	}

	want := filepath.Join(dir, "want")
	if _, err := engine.Run(context.Background(), build(want).Graph, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if n := len(sorted(filepath.Join(want, "dead.jsonl"))); n != 1 {
		t.Fatalf("%d dead letters uninterrupted, want the truncated file's", n)
	}
	if n := len(sorted(filepath.Join(want, "sum_errors.jsonl"))); n != 1 {
		t.Fatalf("%d sum errors uninterrupted, want 1", n)
	}

	// Each run stops right after the first checkpoint it completes, and the next resumes from
	// it, until one finishes: the input is cut at every checkpoint the runs take.
	out := filepath.Join(dir, "got")
	var last *engine.Snapshot
	stops := 0
	for {
		ctx, stop := context.WithCancel(context.Background())
		opts := engine.DefaultOptions()
		resumedFrom := last
		opts.Checkpointing = &engine.Checkpointing{Interval: time.Millisecond, Restore: resumedFrom, Complete: func(s *engine.Snapshot) error {
			last = s
			if !s.Final {
				stop()
			}
			return nil
		}}
		_, err := engine.Run(ctx, build(out).Graph, opts)
		stop()
		if err == nil {
			break
		}
		if !errors.Is(err, context.Canceled) || last == resumedFrom {
			t.Fatalf("run %d: %v", stops+1, err)
		}
		if stops++; stops > 200 {
			t.Fatalf("no run finished after %d stops", stops)
		}
	}
	if stops < 2 {
		t.Fatalf("the runs stopped %d times; the test needs a few", stops)
	}
	t.Logf("%d runs stopped after a checkpoint before one finished", stops)
	for _, sink := range sinks {
		if got, want := sorted(filepath.Join(out, sink)), sorted(filepath.Join(want, sink)); !slices.Equal(got, want) {
			t.Errorf("%s: %d rows after %d stops, %d uninterrupted", sink, len(got), stops, len(want))
		}
	}
}

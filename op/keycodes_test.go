package op

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/dictcode"
	"millrace/format"
	"millrace/proctime"
	"millrace/window"
)

// codedIn is the input of the dictionary-code tests: two string keys, an event time and an
// amount.
var codedIn = arrow.NewSchema([]arrow.Field{
	{Name: "merchant", Type: arrow.BinaryTypes.String},
	{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ts", Type: tsType},
	{Name: "amount", Type: amtType},
}, nil)

// codedBatches writes rows over merchants and countries (some null) to a Parquet file in
// row groups of groupRows rows, each with dictionaries of its own, and reads it back in
// batches of 1,000 rows, which carry the key columns' dictionary codes.
func codedBatches(t testing.TB, rows, merchants int, groupRows int64) []arrow.RecordBatch {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	b := array.NewRecordBuilder(memory.DefaultAllocator, codedIn)
	defer b.Release()
	ts := int64(0)
	for range rows {
		m := r.IntN(merchants)
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("m%05d", m))
		if c := (m + r.IntN(2)) % 7; c == 6 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append([]string{"DE", "FR", "GB", "US", "", "NL"}[c])
		}
		ts += r.Int64N(100)
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(ts))
		b.Field(3).(*array.Decimal128Builder).Append(decimal128.FromI64(r.Int64N(100_000)))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var file bytes.Buffer
	w, err := format.NewParquetWriter(&file, codedIn, format.WriteOptions{RowGroupRows: groupRows})
	if err == nil {
		err = w.Write(rec)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/coded.parquet"
	if err := os.WriteFile(path, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rd, err := format.OpenParquet(path, codedIn, format.ReadOptions{BatchRows: 1_000})
	if err != nil {
		t.Fatal(err)
	}
	var out []arrow.RecordBatch
	for {
		rec, _, err := rd.Read()
		if err == io.EOF {
			if err := rd.Close(); err != nil {
				t.Fatal(err)
			}
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for col := range 2 {
			if _, _, ok := dictcode.Of(rec.Column(col)); !ok {
				t.Fatalf("batch %d: column %s carries no dictionary codes", len(out), codedIn.Field(col).Name)
			}
		}
		out = append(out, rec)
	}
}

// withoutCodes returns rec with its string columns' dictionary codes left off.
func withoutCodes(rec arrow.RecordBatch) arrow.RecordBatch {
	cols := make([]arrow.Array, rec.NumCols())
	for i, c := range rec.Columns() {
		d := c.Data()
		plain := array.NewData(d.DataType(), d.Len(), d.Buffers(), nil, d.NullN(), d.Offset())
		cols[i] = array.MakeFromData(plain)
		plain.Release()
	}
	out := array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
	releaseAll(cols)
	return out
}

// TestKeysByDictionaryCodes aggregates the same batches twice, once as read (keyed through
// their dictionary codes) and once without the codes (keyed by their bytes), and gets the
// same rows out in the same order: over row groups with dictionaries of their own, null
// keys, a partial phase flushing the groups it holds, and windows firing between batches.
func TestKeysByDictionaryCodes(t *testing.T) {
	batches := codedBatches(t, 20_000, 300, 5_000)
	defer func() {
		for _, rec := range batches {
			rec.Release()
		}
	}()
	calls := []AggCall{{Name: "count"}, {Name: "sum", Args: []int{3}, ArgTypes: []arrow.DataType{amtType}}}
	for _, c := range []struct {
		name   string
		window window.Spec
		phase  Phase
		hold   int64
	}{
		{"partial, whole input, holding 64 KiB", window.Spec{Kind: window.Whole}, Partial, 64 << 10},
		{"single, whole input", window.Spec{Kind: window.Whole}, Single, 0},
		{"single, 10 s tumbling", window.Spec{Kind: window.Tumble, Size: 10 * time.Second}, Single, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := func(coded bool) ([]string, *WindowAgg) {
				w, err := NewWindowAgg(WindowAggConfig{Window: c.window, Keys: 2, Time: 2, Calls: calls, Phase: c.phase, Hold: c.hold})
				if err != nil {
					t.Fatal(err)
				}
				w.cfg.Out = codedOutSchema(c.phase == Partial, w)
				if err := w.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
					t.Fatal(err)
				}
				var out collect
				for _, rec := range batches {
					in := withoutCodes(rec)
					if coded {
						rec.Retain()
						in.Release()
						in = rec
					}
					if err := w.Process(0, in, &out); err != nil {
						t.Fatal(err)
					}
					last := rec.Column(2).(*array.Timestamp).Value(int(rec.NumRows()) - 1)
					if err := w.OnWatermark(int64(last)-1000, &out); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.OnWatermark(MaxWatermark, &out); err != nil {
					t.Fatal(err)
				}
				return renderRows(out.recs), w
			}
			want, _ := run(false)
			got, w := run(true)
			if len(want) < 300 {
				t.Fatalf("only %d rows out", len(want))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("keyed by codes: %d rows, by bytes: %d rows; first rows\n%v\n%v", len(got), len(want), got[:min(5, len(got))], want[:min(5, len(want))])
			}
			if len(w.keys.codes.slots) == 0 {
				t.Fatal("the coded run never keyed rows by their codes")
			}
		})
	}
}

// TestKeyCodesNeedKeyColumns keys through codes only batches whose every key column carries
// them, and never an aggregation without key columns.
func TestKeyCodesNeedKeyColumns(t *testing.T) {
	batches := codedBatches(t, 20_000, 300, 5_000)
	defer func() {
		for _, rec := range batches {
			rec.Release()
		}
	}()
	plain := withoutCodes(batches[0])
	defer plain.Release()
	var c codeKeys
	for _, cols := range [][]arrow.Array{nil, {plain.Column(0)}, {batches[0].Column(0), plain.Column(1)}} {
		if c.startBatch(cols); c.on {
			t.Errorf("key columns %v: keyed through codes", cols)
		}
	}
	if c.startBatch(batches[0].Columns()[:2]); !c.on {
		t.Errorf("two coded key columns: not keyed through codes")
	}
}

// codedOutSchema is the output of a WindowAgg over codedIn: states when states, else results.
func codedOutSchema(states bool, w *WindowAgg) *arrow.Schema {
	f := []arrow.Field{{Name: "merchant", Type: arrow.BinaryTypes.String}, {Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "window_start", Type: tsType}}
	types := w.ResultTypes()
	if states {
		types = w.StateTypes()
	} else {
		f = append(f, arrow.Field{Name: "window_end", Type: tsType})
	}
	for i, t := range types {
		f = append(f, arrow.Field{Name: fmt.Sprintf("c%d", i), Type: t, Nullable: true})
	}
	return arrow.NewSchema(f, nil)
}

// renderRows renders every row of recs as text, in order.
func renderRows(recs []arrow.RecordBatch) []string {
	var out []string
	for _, r := range recs {
		for i := range int(r.NumRows()) {
			var row []string
			for _, c := range r.Columns() {
				row = append(row, c.ValueStr(i))
			}
			out = append(out, strings.Join(row, " "))
		}
	}
	return out
}

// BenchmarkGroupKeys finds the groups of 200,000 rows over 20,000 merchants and a few
// countries, every group made already, the whole input as the window and count(*) the only
// aggregate (a partial phase that holds its groups), keyed by the
// key columns' dictionary codes and by their bytes; in processor time (the machine may be
// shared).
func BenchmarkGroupKeys(b *testing.B) {
	batches := codedBatches(b, 200_000, 20_000, 100_000)
	defer func() {
		for _, rec := range batches {
			rec.Release()
		}
	}()
	for _, coded := range []bool{true, false} {
		b.Run(fmt.Sprintf("codes=%v", coded), func(b *testing.B) {
			in := batches
			if !coded {
				in = make([]arrow.RecordBatch, len(batches))
				for i, rec := range batches {
					in[i] = withoutCodes(rec)
				}
				defer func() {
					for _, rec := range in {
						rec.Release()
					}
				}()
			}
			w, err := NewWindowAgg(WindowAggConfig{Window: window.Spec{Kind: window.Whole}, Keys: 2, Time: -1,
				Calls: []AggCall{{Name: "count"}}, Phase: Partial, Hold: 1 << 40})
			if err != nil {
				b.Fatal(err)
			}
			w.cfg.Out = codedOutSchema(true, w)
			if err := w.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
				b.Fatal(err)
			}
			process := func() {
				for _, rec := range in {
					rec.Retain()
					if err := w.Process(0, rec, discard{}); err != nil {
						b.Fatal(err)
					}
				}
			}
			process() // every group made: the loop measures finding them
			rows, cpu0 := 0, proctime.CPU()
			for b.Loop() {
				process()
				rows += 200_000
			}
			b.ReportMetric(float64(proctime.CPU()-cpu0)/float64(rows), "cpu-ns/row")
		})
	}
}

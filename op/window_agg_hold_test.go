package op

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/proctime"
	"millrace/window"
)

// holdSchema is the raw input of the hold tests: a merchant key, an amount and a card.
var holdSchema = arrow.NewSchema([]arrow.Field{
	{Name: "merchant", Type: arrow.BinaryTypes.String},
	{Name: "amount", Type: amtType},
	{Name: "card", Type: arrow.BinaryTypes.String},
}, nil)

// holdCalls are count(*), sum(amount), approx_count_distinct(card) and
// quantile(amount, 0.99) over holdSchema; for the final phase, without argument columns.
func holdCalls(final bool) []AggCall {
	calls := []AggCall{
		{Name: "count"},
		{Name: "sum", Args: []int{1}, ArgTypes: []arrow.DataType{amtType}},
		{Name: "approx_count_distinct", Args: []int{2}, ArgTypes: []arrow.DataType{arrow.BinaryTypes.String}},
		{Name: "quantile", Args: []int{1, -1}, ArgTypes: []arrow.DataType{amtType, arrow.PrimitiveTypes.Float64}, Const: []any{nil, 0.99}},
	}
	if final {
		for i := range calls {
			calls[i].Args = nil
		}
	}
	return calls
}

// holdAgg opens a WindowAgg over the whole input in phase, holding hold bytes in Partial.
func holdAgg(t *testing.T, phase Phase, hold int64) *WindowAgg {
	t.Helper()
	w, err := NewWindowAgg(WindowAggConfig{Window: window.Spec{Kind: window.Whole}, Keys: 1, Time: -1,
		Calls: holdCalls(phase == Final), Phase: phase, Hold: hold})
	if err != nil {
		t.Fatal(err)
	}
	w.cfg.Out = outSchema(phase == Partial, w)
	if err := w.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
		t.Fatal(err)
	}
	return w
}

// holdBatches makes n batches of 500 rows over 40 merchants and 300 cards, the same for
// the same seed.
func holdBatches(n int, seed uint64) []arrow.RecordBatch {
	r := rand.New(rand.NewPCG(seed, 7))
	var recs []arrow.RecordBatch
	for range n {
		b := array.NewRecordBuilder(memory.DefaultAllocator, holdSchema)
		for range 500 {
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("m%d", r.IntN(40)))
			b.Field(1).(*array.Decimal128Builder).Append(decimal128.FromI64(r.Int64N(100_000)))
			b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("c%d", r.IntN(300)))
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	return recs
}

// tableRows renders the rows of recs, one string per row, sorted.
func tableRows(recs []arrow.RecordBatch) []string {
	var rows []string
	for _, rec := range recs {
		for i := range int(rec.NumRows()) {
			row := ""
			for c := range int(rec.NumCols()) {
				row += rec.Column(c).ValueStr(i) + " "
			}
			rows = append(rows, row)
		}
	}
	slices.Sort(rows)
	return rows
}

func numRows(recs []arrow.RecordBatch) int {
	n := 0
	for _, rec := range recs {
		n += int(rec.NumRows())
	}
	return n
}

// TestHeldPartialFoldsBatchesAndMergesToTheSameTable feeds ten batches over 40 merchants
// through a partial aggregation that holds its groups: it hands nothing on until the final
// watermark, then one state per merchant, and a final phase merging them computes the table a
// single phase computes from the raw rows.
func TestHeldPartialFoldsBatchesAndMergesToTheSameTable(t *testing.T) {
	partial := holdAgg(t, Partial, 64<<20)
	var states collect
	for i, rec := range holdBatches(10, 1) {
		if err := partial.Process(0, rec, &states); err != nil {
			t.Fatal(err)
		}
		if len(states.recs) > 0 {
			t.Fatalf("after batch %d the partial handed on %d rows, want none before the watermark", i, numRows(states.recs))
		}
	}
	if err := partial.OnWatermark(MaxWatermark, &states); err != nil {
		t.Fatal(err)
	}
	if n := numRows(states.recs); n != 40 {
		t.Fatalf("the final watermark handed on %d states, want one per merchant (40)", n)
	}
	final := holdAgg(t, Final, 0)
	var got collect
	for _, rec := range states.recs {
		if err := final.Process(0, rec, &got); err != nil {
			t.Fatal(err)
		}
	}
	if err := final.OnWatermark(MaxWatermark, &got); err != nil {
		t.Fatal(err)
	}
	single := holdAgg(t, Single, 0)
	var want collect
	for _, rec := range holdBatches(10, 1) {
		if err := single.Process(0, rec, &want); err != nil {
			t.Fatal(err)
		}
	}
	if err := single.OnWatermark(MaxWatermark, &want); err != nil {
		t.Fatal(err)
	}
	if g, w := tableRows(got.recs), tableRows(want.recs); !slices.Equal(g, w) || len(w) != 40 {
		t.Fatalf("two phases with a held partial gave\n%v\nsingle phase\n%v", g, w)
	}
}

// TestHeldPartialFlushesPastHoldAndAtBarriers checks when a holding partial hands its groups
// on: after a batch once they have grown past Hold, on Flush (a checkpoint barrier) and on
// Finish; and that a snapshot taken while it holds groups fails instead of losing them.
func TestHeldPartialFlushesPastHoldAndAtBarriers(t *testing.T) {
	recs := holdBatches(4, 2)
	small := holdAgg(t, Partial, 1)
	var out collect
	for i, rec := range recs {
		if err := small.Process(0, rec, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.recs) != i+1 {
			t.Fatalf("a partial holding 1 byte handed on %d batches after %d", len(out.recs), i+1)
		}
	}

	recs = holdBatches(2, 2)
	big := holdAgg(t, Partial, 64<<20)
	out = collect{}
	if err := big.Process(0, recs[0], &out); err != nil {
		t.Fatal(err)
	}
	if _, err := big.Snapshot(1); err == nil {
		t.Fatal("a snapshot of a partial holding groups succeeded")
	}
	if err := big.Flush(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.recs) != 1 || out.recs[0].NumRows() != 40 {
		t.Fatalf("Flush handed on %d rows, want the 40 merchants held", numRows(out.recs))
	}
	if _, err := big.Snapshot(1); err != nil {
		t.Fatalf("a snapshot after Flush: %v", err)
	}
	if err := big.Process(0, recs[1], &out); err != nil {
		t.Fatal(err)
	}
	if err := big.Finish(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.recs) != 2 || out.recs[1].NumRows() != 40 {
		t.Fatalf("Finish handed on %d batches (%d rows), want a second of 40 rows", len(out.recs), numRows(out.recs))
	}
}

// BenchmarkWholeGroupBy runs a partial and a final phase over the whole input, 200 batches
// of 8,192 rows over 5,000 merchants with count(*), sum(amount), approx_count_distinct(card)
// and quantile(amount, 0.99), as a group-by over a history does: with the partial handing
// on every batch's groups (hold=0) and holding 16 MiB of them.
func BenchmarkWholeGroupBy(b *testing.B) {
	const batches, size, merchants = 200, 8192, 5000
	r := rand.New(rand.NewPCG(11, 7))
	var recs []arrow.RecordBatch
	for range batches {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, holdSchema)
		for range size {
			bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("m%d", r.IntN(merchants)))
			bld.Field(1).(*array.Decimal128Builder).Append(decimal128.FromI64(r.Int64N(100_000)))
			bld.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("c%d", r.IntN(1_000_000)))
		}
		recs = append(recs, bld.NewRecordBatch())
		bld.Release()
	}
	defer releaseBatches(recs)
	for _, hold := range []int64{0, 16 << 20} {
		b.Run(fmt.Sprintf("hold=%d", hold), func(b *testing.B) {
			newPhase := func(phase Phase) *WindowAgg {
				w, err := NewWindowAgg(WindowAggConfig{Window: window.Spec{Kind: window.Whole}, Keys: 1, Time: -1,
					Calls: holdCalls(phase == Final), Phase: phase, Hold: hold})
				if err != nil {
					b.Fatal(err)
				}
				w.cfg.Out = outSchema(phase == Partial, w)
				if err := w.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
					b.Fatal(err)
				}
				return w
			}
			groups := 0
			cpu0 := proctime.CPU()
			for b.Loop() {
				partial, final := newPhase(Partial), newPhase(Final)
				var states collect
				feed := func() {
					for _, s := range states.recs {
						if err := final.Process(0, s, discard{}); err != nil {
							b.Fatal(err)
						}
					}
					states.recs = states.recs[:0]
				}
				for _, rec := range recs {
					rec.Retain()
					if err := partial.Process(0, rec, &states); err != nil {
						b.Fatal(err)
					}
					feed()
				}
				if err := partial.OnWatermark(MaxWatermark, &states); err != nil {
					b.Fatal(err)
				}
				feed()
				var out counted
				if err := final.OnWatermark(MaxWatermark, &out); err != nil {
					b.Fatal(err)
				}
				groups = out.rows
			}
			b.ReportMetric(float64(groups), "groups")
			b.ReportMetric(float64(proctime.CPU()-cpu0)/float64(b.N*batches*size), "cpu-ns/row")
		})
	}
}

// TestHeldPartialFlushesWhenAWindowEnds runs a holding partial over tumbling windows of a
// minute, a watermark after each batch of a few seconds: a watermark inside every window it
// holds hands nothing on, one at or past the end of one of them hands on every group held,
// folded over the batches before; the final phase, fed each flush before the watermark,
// fires the windows the row-by-row reference computes.
func TestHeldPartialFlushesWhenAWindowEnds(t *testing.T) {
	spec := window.Spec{Kind: window.Tumble, Size: time.Minute}
	partial, final := newAgg(t, spec, Partial), newAgg(t, spec, Final)
	partial.cfg.Hold = 64 << 20
	r := rand.New(rand.NewPCG(3, 9))
	var in []arrow.RecordBatch
	var states, fired collect
	heldEnd := int64(MaxWatermark) // the earliest end of a window held
	t0 := int64(1_700_000_000_000)
	for range 60 {
		rec, last := rawBatch(r, 4, t0)
		t0 = last
		in = append(in, rec)
		rec.Retain()
		for _, ts := range rec.Column(1).(*array.Timestamp).TimestampValues() {
			heldEnd = min(heldEnd, int64(ts)-int64(ts)%60_000+60_000)
		}
		if err := partial.Process(0, rec, &states); err != nil {
			t.Fatal(err)
		}
		n := len(states.recs)
		if err := partial.OnWatermark(last, &states); err != nil {
			t.Fatal(err)
		}
		if flushed := len(states.recs) > n; flushed != (heldEnd <= last) {
			t.Fatalf("watermark %d, earliest end held %d: handed on %v", last, heldEnd, flushed)
		}
		if heldEnd <= last {
			heldEnd = MaxWatermark
			if err := final.Process(0, states.recs[n], &fired); err != nil {
				t.Fatal(err)
			}
		}
		if err := final.OnWatermark(last, &fired); err != nil {
			t.Fatal(err)
		}
	}
	if len(states.recs) < 2 || len(states.recs) > len(in)/4 {
		t.Fatalf("%d flushes over %d batches, want a few, each after a minute of event time", len(states.recs), len(in))
	}
	n := len(states.recs)
	if err := partial.OnWatermark(MaxWatermark, &states); err != nil {
		t.Fatal(err)
	}
	for _, s := range states.recs[n:] {
		if err := final.Process(0, s, &fired); err != nil {
			t.Fatal(err)
		}
	}
	if err := final.OnWatermark(MaxWatermark, &fired); err != nil {
		t.Fatal(err)
	}
	got, want := results(fired.recs), reference(in, spec)
	if !maps.Equal(got, want) {
		t.Fatalf("two phases with a held partial fired\n%v\nthe reference\n%v", got, want)
	}
}

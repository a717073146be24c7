package op

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/proctime"
	"millrace/window"
)

// BenchmarkWindowAggHop folds 64K rows over 20K cards into 10-minute windows every minute
// (10 groups per row), count and sum, firing as the watermark moves.
func BenchmarkWindowAggHop(b *testing.B) { benchWindowAggHop(b, 20000, false, false) }

// BenchmarkWindowAggHopRejecting is BenchmarkWindowAggHop with rows that would overflow the
// sum rejected to the errors (none does), as views run by default.
func BenchmarkWindowAggHopRejecting(b *testing.B) { benchWindowAggHop(b, 20000, true, false) }

// BenchmarkWindowAggHopPanes is BenchmarkWindowAggHopRejecting in one phase, each row folded
// into its 10 windows, and in two through panes, each row folded into its pane and each
// pane's states merged into its 10 windows, over 200 cards (about 30 rows of a card in a
// pane of a batch) and over 20K (fewer than one): ns/row counts both phases.
func BenchmarkWindowAggHopPanes(b *testing.B) {
	for _, cards := range []int{200, 20000} {
		for _, panes := range []bool{false, true} {
			b.Run(fmt.Sprintf("cards=%d/panes=%v", cards, panes), func(b *testing.B) { benchWindowAggHop(b, cards, true, panes) })
		}
	}
}

// benchWindowAggHop runs 8 batches of 64K rows over cards cards, in one phase or, with
// panes, in two.
func benchWindowAggHop(b *testing.B, cards int, reject, panes bool) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 1 << 16
	var recs []arrow.RecordBatch
	t := int64(1_700_000_000_000)
	for range 8 {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, rawIn)
		for range n {
			t += r.Int64N(20)
			bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("c%d", r.IntN(cards)))
			bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t))
			bld.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(r.Int64N(100000)))
		}
		recs = append(recs, bld.NewRecordBatch())
		bld.Release()
	}
	spec := window.Spec{Kind: window.Hop, Size: 10 * time.Minute, Every: time.Minute, Sliced: panes}
	open := func(phase Phase) *WindowAgg {
		calls := []AggCall{{Name: "count"}, {Name: "sum", Args: []int{2}, ArgTypes: []arrow.DataType{amtType}}}
		if phase == Final {
			calls[1].Args = nil
		}
		w, err := NewWindowAgg(WindowAggConfig{Window: spec, Keys: 1, Time: 1, Phase: phase, RejectOverflow: reject, Calls: calls})
		if err != nil {
			b.Fatal(err)
		}
		w.cfg.Out = outSchema(phase == Partial, w)
		if err := w.Open(Context{Mem: memory.DefaultAllocator, Errors: &collect{}}); err != nil {
			b.Fatal(err)
		}
		return w
	}
	rows := 0
	b.ResetTimer()
	for b.Loop() {
		var first, last *WindowAgg
		if panes {
			first, last = open(Partial), open(Final)
		} else {
			last = open(Single)
		}
		var out collect
		process := func(rec arrow.RecordBatch) {
			if first == nil {
				if err := last.Process(0, rec, &out); err != nil {
					b.Fatal(err)
				}
				return
			}
			var states collect
			if err := first.Process(0, rec, &states); err != nil {
				b.Fatal(err)
			}
			for _, s := range states.recs {
				if err := last.Process(0, s, &out); err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, rec := range recs {
			rec.Retain()
			process(rec)
			wm := int64(rec.Column(1).(*array.Timestamp).Value(n - 1))
			if err := last.OnWatermark(wm, &out); err != nil {
				b.Fatal(err)
			}
			rows += n
		}
		if err := last.OnWatermark(MaxWatermark, &out); err != nil {
			b.Fatal(err)
		}
		for _, o := range out.recs {
			o.Release()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
}

// BenchmarkWindowAggSnapshot snapshots, and restores, a tumbling window aggregation holding
// 2^20 open groups: as many cards in one hour-long window, with count(*) and sum(amount) of a
// decimal amount. The MB/s are of the snapshot's bytes.
func BenchmarkWindowAggSnapshot(b *testing.B) {
	const groups, rows = 1 << 20, 1 << 16
	spec := window.Spec{Kind: window.Tumble, Size: time.Hour}
	open := func() *WindowAgg {
		w, err := NewWindowAgg(WindowAggConfig{Window: spec, Keys: 1, Time: 1, Phase: Single,
			Calls: []AggCall{{Name: "count"}, {Name: "sum", Args: []int{2}, ArgTypes: []arrow.DataType{amtType}}}})
		if err != nil {
			b.Fatal(err)
		}
		w.cfg.Out = outSchema(false, w)
		if err := w.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
			b.Fatal(err)
		}
		return w
	}
	w := open()
	r := rand.New(rand.NewPCG(1, 2))
	t0 := int64(1_700_000_000_000) / 3_600_000 * 3_600_000
	for i := 0; i < groups; i += rows {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, rawIn)
		for j := range rows {
			bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("card-%07d", i+j))
			bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t0 + int64(i+j)%3_600_000))
			bld.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(r.Int64N(100000)))
		}
		rec := bld.NewRecordBatch()
		bld.Release()
		if err := w.Process(0, rec, nil); err != nil {
			b.Fatal(err)
		}
	}
	if w.Groups() != groups {
		b.Fatalf("%d groups, want %d", w.Groups(), groups)
	}
	state, err := w.Snapshot(1)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("snapshot", func(b *testing.B) {
		b.SetBytes(int64(len(state)))
		for b.Loop() {
			if _, err := w.Snapshot(2); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(state))/groups, "B/group")
	})
	b.Run("restore", func(b *testing.B) {
		b.SetBytes(int64(len(state)))
		for b.Loop() {
			if err := open().Restore(state); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(state))/groups, "B/group")
	})
	// rescale spreads the one subtask's groups over 3 by key, as a change of parallelism
	// does before the new subtasks restore.
	b.Run("rescale", func(b *testing.B) {
		b.SetBytes(int64(len(state)))
		owner := cardOwner(3)
		for b.Loop() {
			if _, err := w.Rescale([][]byte{state}, 3, owner); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// cardsIn is the raw input of BenchmarkWindowAggHopCards: card, event time, amount, merchant.
var cardsIn = arrow.NewSchema([]arrow.Field{
	{Name: "card", Type: arrow.BinaryTypes.String},
	{Name: "ts", Type: tsType},
	{Name: "amount", Type: amtType, Nullable: true},
	{Name: "merchant", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// BenchmarkWindowAggHopCards folds 2 M rows over 1 M cards, in event-time order over ten
// minutes, into 10-minute windows every minute with count(*), sum(amount),
// approx_count_distinct(merchant) and approx_quantile(amount, 0.99), as a card velocity view does,
// firing windows as the watermark follows the rows. It reports the peak of the live heap
// (sampled after a collection every 16 batches), the live heap per open group at that peak
// (B/group) and what StateBytes accounted at the same moment (accounted-B/group). Run it
// with -benchtime 1x: one pass holds several GiB.
func BenchmarkWindowAggHopCards(b *testing.B) {
	const cards, rows, batch = 1_000_000, 2_000_000, 8192
	r := rand.New(rand.NewPCG(3, 4))
	t0 := int64(1_700_000_000_000) / 3_600_000 * 3_600_000
	var recs []arrow.RecordBatch
	for i := 0; i < rows; i += batch {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, cardsIn)
		for j := i; j < min(i+batch, rows); j++ {
			bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("card-%07d", r.IntN(cards)))
			bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t0 + int64(j)*600_000/rows))
			bld.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(100 + r.Int64N(100_000)))
			bld.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("m%06d", r.IntN(200_000)))
		}
		recs = append(recs, bld.NewRecordBatch())
		bld.Release()
	}
	spec := window.Spec{Kind: window.Hop, Size: 10 * time.Minute, Every: time.Minute}
	calls := []AggCall{
		{Name: "count"},
		{Name: "sum", Args: []int{2}, ArgTypes: []arrow.DataType{amtType}},
		{Name: "approx_count_distinct", Args: []int{3}, ArgTypes: []arrow.DataType{arrow.BinaryTypes.String}},
		{Name: "approx_quantile", Args: []int{2, -1}, ArgTypes: []arrow.DataType{amtType, arrow.PrimitiveTypes.Float64}, Const: []any{nil, 0.99}},
	}
	var peak, peakGroups, peakAccounted int64
	for b.Loop() {
		base := liveHeap()
		peak, peakGroups, peakAccounted = 0, 0, 0
		w, err := NewWindowAgg(WindowAggConfig{Window: spec, Keys: 1, Time: 1, Phase: Single, Calls: calls})
		if err != nil {
			b.Fatal(err)
		}
		w.cfg.Out = outSchema(false, w)
		if err := w.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
			b.Fatal(err)
		}
		var out discard
		for i, rec := range recs {
			rec.Retain()
			if err := w.Process(0, rec, &out); err != nil {
				b.Fatal(err)
			}
			if i%16 == 15 {
				if h := liveHeap() - base; h > peak {
					peak, peakGroups, peakAccounted = h, int64(w.Groups()), w.StateBytes()
				}
			}
			ts := rec.Column(1).(*array.Timestamp)
			if err := w.OnWatermark(int64(ts.Value(ts.Len()-1)), &out); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.OnWatermark(MaxWatermark, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peakGroups), "peak-groups")
	b.ReportMetric(float64(peak)/float64(max(peakGroups, 1)), "B/group")
	b.ReportMetric(float64(peakAccounted)/float64(max(peakGroups, 1)), "accounted-B/group")
}

// discard releases what it collects.
type discard struct{}

func (discard) Collect(rec arrow.RecordBatch) error { rec.Release(); return nil }

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC() // and what the finalizers the first one ran let go
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// BenchmarkWindowAggTumbleCards runs the two phases of per-card one-minute windows, count and
// sum(amount), over 1M rows of 200K cards spread over 3 days, as a bounded Parquet source
// split over several readers feeds them: the partial phase folds each batch of 16K rows and
// the final phase merges its states, holding every window (the watermark stays back while
// the splits are read) until the end of the input fires them all. Nearly every row is a
// window of its own, as in a history of card payments.
func BenchmarkWindowAggTumbleCards(b *testing.B) {
	const cards, rows, batch = 200_000, 1 << 20, 1 << 14
	r := rand.New(rand.NewPCG(5, 6))
	t0 := int64(1_700_000_000_000) / 60_000 * 60_000
	var recs []arrow.RecordBatch
	for i := 0; i < rows; i += batch {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, rawIn)
		for j := i; j < i+batch; j++ {
			bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("card-%07d", r.IntN(cards)))
			bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t0 + int64(j)*3*86_400_000/rows))
			bld.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(100 + r.Int64N(100_000)))
		}
		recs = append(recs, bld.NewRecordBatch())
		bld.Release()
	}
	defer releaseBatches(recs)
	spec := window.Spec{Kind: window.Tumble, Size: time.Minute}
	newPhase := func(phase Phase, calls []AggCall) *WindowAgg {
		w, err := NewWindowAgg(WindowAggConfig{Window: spec, Keys: 1, Time: 1, Phase: phase, RejectOverflow: true, Calls: calls})
		if err != nil {
			b.Fatal(err)
		}
		w.cfg.Out = outSchema(phase == Partial, w)
		if err := w.Open(Context{Mem: memory.DefaultAllocator, Errors: &collect{}}); err != nil {
			b.Fatal(err)
		}
		return w
	}
	fired := 0
	cpu0 := proctime.CPU()
	for b.Loop() {
		partial := newPhase(Partial, []AggCall{{Name: "count"}, {Name: "sum", Args: []int{2}, ArgTypes: []arrow.DataType{amtType}}})
		final := newPhase(Final, []AggCall{{Name: "count"}, {Name: "sum", ArgTypes: []arrow.DataType{amtType}}})
		var states collect
		for _, rec := range recs {
			rec.Retain()
			if err := partial.Process(0, rec, &states); err != nil {
				b.Fatal(err)
			}
			for _, s := range states.recs {
				if err := final.Process(0, s, discard{}); err != nil {
					b.Fatal(err)
				}
			}
			states.recs = states.recs[:0]
		}
		var out counted
		if err := final.OnWatermark(MaxWatermark, &out); err != nil {
			b.Fatal(err)
		}
		fired = out.rows
	}
	b.ReportMetric(float64(fired), "windows")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
	b.ReportMetric(float64(proctime.CPU()-cpu0)/float64(b.N*rows), "cpu-ns/row")
}

// counted counts and releases what it collects.
type counted struct{ rows int }

func (c *counted) Collect(rec arrow.RecordBatch) error {
	c.rows += int(rec.NumRows())
	rec.Release()
	return nil
}

func releaseBatches(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

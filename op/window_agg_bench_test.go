package op

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// BenchmarkWindowAggHop folds 64K rows over 20K cards into 10-minute windows every minute
// (10 groups per row), count and sum, firing as the watermark moves.
func BenchmarkWindowAggHop(b *testing.B) { benchWindowAggHop(b, false) }

// BenchmarkWindowAggHopRejecting is BenchmarkWindowAggHop with rows that would overflow the
// sum rejected to the errors (none does), as views run by default.
func BenchmarkWindowAggHopRejecting(b *testing.B) { benchWindowAggHop(b, true) }

func benchWindowAggHop(b *testing.B, reject bool) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 1 << 16
	var recs []arrow.RecordBatch
	t := int64(1_700_000_000_000)
	for range 8 {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, rawIn)
		for range n {
			t += r.Int64N(20)
			bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("c%d", r.IntN(20000)))
			bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t))
			bld.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(r.Int64N(100000)))
		}
		recs = append(recs, bld.NewRecordBatch())
		bld.Release()
	}
	spec := window.Spec{Kind: window.Hop, Size: 10 * time.Minute, Every: time.Minute}
	rows := 0
	b.ResetTimer()
	for b.Loop() {
		w, err := NewWindowAgg(WindowAggConfig{Window: spec, Keys: 1, Time: 1, Phase: Single, RejectOverflow: reject,
			Calls: []AggCall{{Name: "count"}, {Name: "sum", Args: []int{2}, ArgTypes: []arrow.DataType{amtType}}}})
		if err != nil {
			b.Fatal(err)
		}
		w.cfg.Out = outSchema(false, w)
		var errs collect
		if err := w.Open(Context{Mem: memory.DefaultAllocator, Errors: &errs}); err != nil {
			b.Fatal(err)
		}
		var out collect
		for _, rec := range recs {
			rec.Retain()
			if err := w.Process(0, rec, &out); err != nil {
				b.Fatal(err)
			}
			wm := int64(rec.Column(1).(*array.Timestamp).Value(n - 1))
			if err := w.OnWatermark(wm, &out); err != nil {
				b.Fatal(err)
			}
			rows += n
		}
		if err := w.OnWatermark(MaxWatermark, &out); err != nil {
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

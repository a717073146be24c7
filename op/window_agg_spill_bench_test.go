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

// BenchmarkWindowAggSpill holds about 10 MB and 100 MB of state (StateBytes of the memory
// backend): 4 one-minute tumbling windows of 16K or 160K cards each, two rows per card and
// window, with count(*), sum(amount) and approx_count_distinct(merchant), and compares the
// backends. fire folds every row and then fires every window, reporting the live heap's
// peak (sampled after a collection every 4 batches) and what was on disk at most;
// snapshot+restore is the pause of moving the state to another worker: Snapshot, then
// Restore into a fresh operator of the same backend. The pebble backend spills above a
// sixth of the state. Run it with -benchtime 1x.
func BenchmarkWindowAggSpill(b *testing.B) {
	for _, size := range []struct {
		name  string
		cards int
	}{{"10MB", 16_000}, {"100MB", 160_000}} {
		b.Run(size.name, func(b *testing.B) { benchWindowAggSpill(b, size.cards, int64(size.cards)*100) })
	}
}

func benchWindowAggSpill(b *testing.B, cards int, above int64) {
	const windows, batch = 4, 1 << 15
	r := rand.New(rand.NewPCG(5, 6))
	t0 := int64(1_700_000_000_000) / 60_000 * 60_000
	var recs []arrow.RecordBatch
	for w := range windows {
		for i := 0; i < cards; i += batch {
			bld := array.NewRecordBuilder(memory.DefaultAllocator, cardsIn)
			for j := i; j < min(i+batch, cards); j++ {
				for range 2 {
					bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("card-%07d", j))
					bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t0 + int64(w)*60_000 + r.Int64N(60_000)))
					bld.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(100 + r.Int64N(100_000)))
					bld.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("m%06d", r.IntN(200_000)))
				}
			}
			recs = append(recs, bld.NewRecordBatch())
			bld.Release()
		}
	}
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	spec := window.Spec{Kind: window.Tumble, Size: time.Minute}
	calls := []AggCall{
		{Name: "count"},
		{Name: "sum", Args: []int{2}, ArgTypes: []arrow.DataType{amtType}},
		{Name: "approx_count_distinct", Args: []int{3}, ArgTypes: []arrow.DataType{arrow.BinaryTypes.String}},
	}
	open := func(b *testing.B, pebble bool) *WindowAgg {
		cfg := WindowAggConfig{Window: spec, Keys: 1, Time: 1, Phase: Single, Calls: calls}
		if pebble {
			cfg.Spill = &SpillConfig{Dir: b.TempDir(), Above: above, KeyGroup: cardOwner(256)}
		}
		w, err := NewWindowAgg(cfg)
		if err != nil {
			b.Fatal(err)
		}
		w.cfg.Out = outSchema(false, w)
		if err := w.Open(Context{Mem: memory.DefaultAllocator, Node: "velocity"}); err != nil {
			b.Fatal(err)
		}
		return w
	}
	fill := func(b *testing.B, w *WindowAgg, sample func()) {
		for i, rec := range recs {
			rec.Retain()
			if err := w.Process(0, rec, nil); err != nil {
				b.Fatal(err)
			}
			if sample != nil && i%4 == 3 {
				sample()
			}
		}
	}
	for _, backend := range []string{"memory", "pebble"} {
		pebble := backend == "pebble"
		b.Run(backend+"/fire", func(b *testing.B) {
			var peak, state, spilled int64
			for b.Loop() {
				base := liveHeap()
				w := open(b, pebble)
				sample := func() {
					peak = max(peak, liveHeap()-base)
					state, spilled = max(state, w.StateBytes()), max(spilled, w.SpilledBytes())
				}
				fill(b, w, sample)
				var out discard
				if err := w.OnWatermark(MaxWatermark, &out); err != nil {
					b.Fatal(err)
				}
				sample()
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(state)/(1<<20), "state-MiB")
			b.ReportMetric(float64(spilled)/(1<<20), "spilled-MiB")
		})
		b.Run(backend+"/snapshot+restore", func(b *testing.B) {
			w := open(b, pebble)
			fill(b, w, nil)
			held, spilled := w.StateBytes(), w.SpilledBytes()
			var size int
			for b.Loop() {
				state, err := w.Snapshot(1)
				if err != nil {
					b.Fatal(err)
				}
				size = len(state)
				into := open(b, pebble)
				if err := into.Restore(state); err != nil {
					b.Fatal(err)
				}
				if err := into.Close(); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(size)/(1<<20), "snapshot-MiB")
			b.ReportMetric(float64(held)/(1<<20), "state-MiB")
			b.ReportMetric(float64(spilled)/(1<<20), "spilled-MiB")
		})
	}
}

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

	"millrace/window"
)

// TestStateBytesFollowsTheHeap holds a known number of groups in window aggregations of each
// kind and checks that StateBytes, the figure behind millrace_state_bytes and the memory
// budget, is within 25% of the live heap the groups took (measured after full collections,
// with the input batches released).
func TestStateBytesFollowsTheHeap(t *testing.T) {
	four := []AggCall{
		{Name: "count"},
		{Name: "sum", Args: []int{2}, ArgTypes: []arrow.DataType{amtType}},
		{Name: "approx_count_distinct", Args: []int{3}, ArgTypes: []arrow.DataType{arrow.BinaryTypes.String}},
		{Name: "approx_quantile", Args: []int{2, -1}, ArgTypes: []arrow.DataType{amtType, arrow.PrimitiveTypes.Float64}, Const: []any{nil, 0.99}},
	}
	cases := []struct {
		name   string
		spec   window.Spec
		calls  []AggCall
		cards  int
		rows   int
		spanMs int64
	}{
		{"tumble/count,sum", window.Spec{Kind: window.Tumble, Size: time.Hour}, four[:2], 100_000, 200_000, 600_000},
		{"tumble/four", window.Spec{Kind: window.Tumble, Size: time.Hour}, four, 100_000, 300_000, 600_000},
		{"hop/four", window.Spec{Kind: window.Hop, Size: 10 * time.Minute, Every: time.Minute}, four, 50_000, 100_000, 600_000},
		{"hop/four, busy cards", window.Spec{Kind: window.Hop, Size: 10 * time.Minute, Every: time.Minute}, four, 2_000, 200_000, 600_000},
		{"session/four", window.Spec{Kind: window.Session, Gap: 30 * time.Minute}, four, 100_000, 200_000, 600_000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, uint64(c.cards)))
			t0 := int64(1_700_000_000_000) / 3_600_000 * 3_600_000
			base := liveHeap()
			w, err := NewWindowAgg(WindowAggConfig{Window: c.spec, Keys: 1, Time: 1, Phase: Single, Calls: c.calls})
			if err != nil {
				t.Fatal(err)
			}
			w.cfg.Out = outSchema(false, w)
			if err := w.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
				t.Fatal(err)
			}
			const batch = 8192
			for i := 0; i < c.rows; i += batch {
				bld := array.NewRecordBuilder(memory.DefaultAllocator, cardsIn)
				for j := i; j < min(i+batch, c.rows); j++ {
					bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("card-%07d", r.IntN(c.cards)))
					bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t0 + int64(j)*c.spanMs/int64(c.rows)))
					bld.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(100 + r.Int64N(100_000)))
					bld.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("m%06d", r.IntN(5_000)))
				}
				rec := bld.NewRecordBatch()
				bld.Release()
				if err := w.Process(0, rec, discard{}); err != nil {
					t.Fatal(err)
				}
			}
			heap := liveHeap() - base
			got := w.StateBytes()
			runtime.KeepAlive(w)
			ratio := float64(got) / float64(heap)
			t.Logf("%d groups: StateBytes %d, live heap %d (%.2f)", w.Groups(), got, heap, ratio)
			if ratio < 0.75 || ratio > 1.25 {
				t.Errorf("%d groups: StateBytes %d, but the heap grew by %d (%.2f of it)", w.Groups(), got, heap, ratio)
			}
		})
	}
}

package agg

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestMergePartialRejectsForeignStates(t *testing.T) {
	sumInt, _ := New("sum", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
	sumDec, _ := New("sum", []arrow.DataType{dec18_2}, nil)
	count, _ := New("count", nil, nil)
	hll, _ := New("approx_count_distinct", []arrow.DataType{arrow.PrimitiveTypes.Int64}, nil)
	col := int64Column(5)
	defer col.Release()
	for _, a := range []Accumulator{sumInt, count, hll} {
		if err := a.Update([]uint32{0}, []arrow.Array{col}, nil); err != nil {
			t.Fatal(err)
		}
	}
	decState := mustPartial(t, sumDec, []uint32{0})
	defer decState.Release()
	if err := sumInt.MergePartial([]uint32{0}, decState); err == nil ||
		!strings.Contains(err.Error(), "sum(int64): partial state is struct<sum: decimal(38, 2), count: int64>, want struct<sum: int64, count: int64>") {
		t.Errorf("sum(int64) merging a decimal state: %v", err)
	}
	countState := mustPartial(t, count, []uint32{0, 1})
	defer countState.Release()
	if err := count.MergePartial([]uint32{0}, countState); err == nil || !strings.Contains(err.Error(), "partial state of 2 rows for 1 groups") {
		t.Errorf("count merging 2 rows into 1 group: %v", err)
	}
	// Both sketch states are binary columns; bytes of the wrong sketch fail with context.
	garbage := mustPartial(t, hll, []uint32{0})
	defer garbage.Release()
	q, _ := New("approx_quantile", []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64}, []any{nil, 0.5})
	if err := q.MergePartial([]uint32{0}, garbage); err == nil || !strings.Contains(err.Error(), "merge the partial sketch of group 0") {
		t.Errorf("approx_quantile merging a HyperLogLog: %v", err)
	}
	// An exact quantile refuses a sketch's bytes, as a state from before quantile was exact.
	if err := q.Update([]uint32{0}, []arrow.Array{col, nil}, nil); err != nil {
		t.Fatal(err)
	}
	sketch := mustPartial(t, q, []uint32{0})
	defer sketch.Release()
	disc, _ := New("quantile", []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64}, []any{nil, 0.5})
	if err := disc.MergePartial([]uint32{0}, sketch); err == nil ||
		!strings.Contains(err.Error(), "quantile(int64, 0.5): the partial state of group 0 is not a list of 8-byte values") {
		t.Errorf("quantile merging a sketch: %v", err)
	}
}

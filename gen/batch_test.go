package gen

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
)

// Batches are valid Arrow data of the transaction schema, allocated from the given allocator
// and fully released with the batch.
func TestBatchValid(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cfg := smallConfig()
	cfg.FraudRate = 0.05
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 7, 4096, 65536} {
		rec, err := g.Next(context.Background(), mem, n)
		if err != nil {
			t.Fatal(err)
		}
		if mem.CurrentAlloc() == 0 {
			t.Fatal("batch not allocated from the given allocator")
		}
		if err := array.ValidateRecordFull(rec); err != nil {
			t.Fatalf("batch of %d rows: %v", n, err)
		}
		if !rec.Schema().Equal(schema.Transaction()) || rec.NumRows() != int64(n) {
			t.Fatalf("batch of %d rows with schema %s", rec.NumRows(), rec.Schema())
		}
		geo := 0
		channels := rec.Column(schema.Channel).(*array.String)
		for i := range n {
			if ch := channels.Value(i); ch == "pos" || ch == "atm" {
				geo++
			}
		}
		for _, c := range []int{schema.Lat, schema.Lon} {
			if nulls := rec.Column(c).NullN(); nulls != n-geo {
				t.Fatalf("%s has %d nulls, want %d (rows not in person)", rec.ColumnName(c), nulls, n-geo)
			}
		}
		for c := range int(rec.NumCols()) {
			if c != schema.Lat && c != schema.Lon && rec.Column(c).NullN() != 0 {
				t.Fatalf("%s has nulls", rec.ColumnName(c))
			}
		}
		rec.Release()
	}
}

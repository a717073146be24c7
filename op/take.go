package op

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Take returns a new batch of the rows of rec at idx, in that order. rec is not released.
func Take(mem memory.Allocator, rec arrow.RecordBatch, idx []int32) (arrow.RecordBatch, error) {
	if len(idx) == int(rec.NumRows()) && isIdentity(idx) {
		rec.Retain()
		return rec, nil
	}
	b := array.NewInt32Builder(mem)
	b.AppendValues(idx, nil)
	ia := b.NewInt32Array()
	b.Release()
	defer ia.Release()
	ctx := compute.WithAllocator(context.Background(), mem)
	out, err := compute.Take(ctx, *compute.DefaultTakeOptions(), compute.NewDatumWithoutOwning(rec), compute.NewDatumWithoutOwning(ia))
	if err != nil {
		return nil, fmt.Errorf("take %d rows: %w", len(idx), err)
	}
	return out.(*compute.RecordDatum).Value, nil
}

func isIdentity(idx []int32) bool {
	for i, v := range idx {
		if int(v) != i {
			return false
		}
	}
	return true
}

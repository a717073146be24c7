package agg

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// sizeCalls are the calls whose memory per group BenchmarkBytesPerGroup measures: every
// aggregate function, over the column types a transaction view aggregates.
var sizeCalls = []struct {
	label string
	name  string
	arg   arrow.DataType // nil for count(*)
	q     any
}{
	{"count(*)", "count", nil, nil},
	{"count(amount)", "count", dec18_2, nil},
	{"sum(amount)", "sum", dec18_2, nil},
	{"avg(amount)", "avg", dec18_2, nil},
	{"min(amount)", "min", dec18_2, nil},
	{"max(merchant)", "max", arrow.BinaryTypes.String, nil},
	{"approx_count_distinct(merchant)", "approx_count_distinct", arrow.BinaryTypes.String, nil},
	{"count_distinct(merchant)", "count_distinct", arrow.BinaryTypes.String, nil},
	{"count_distinct(amount)", "count_distinct", dec18_2, nil},
	{"approx_quantile(amount)", "approx_quantile", dec18_2, 0.99},
	{"quantile_disc(amount)", "quantile_disc", dec18_2, 0.99},
}

// sizeInput is a batch of groups*per rows, per rows for each group, with distinct amounts
// and merchants within a group.
func sizeInput(r *rand.Rand, typ arrow.DataType, groups, per int) ([]uint32, arrow.Array) {
	ids := make([]uint32, 0, groups*per)
	for range per {
		for g := range groups {
			ids = append(ids, uint32(g))
		}
	}
	if typ == nil {
		return ids, nil
	}
	mem := memory.DefaultAllocator
	if typ.ID() == arrow.STRING {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		for range ids {
			b.Append(fmt.Sprintf("m%07d", r.IntN(1_000_000)))
		}
		return ids, b.NewArray()
	}
	b := array.NewDecimal128Builder(mem, typ.(*arrow.Decimal128Type))
	defer b.Release()
	for range ids {
		b.Append(decimal128.FromI64(100 + r.Int64N(1_000_000)))
	}
	return ids, b.NewArray()
}

// heapInUse returns the bytes of live heap objects after a full collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// BenchmarkBytesPerGroup measures the heap that each aggregate function holds per group for
// groups of 1, 10, 100 and 1000 values (B/group, from the live heap before and after), and what
// SizeBytes accounts for the same states (accounted-B/group).
func BenchmarkBytesPerGroup(b *testing.B) {
	for _, c := range sizeCalls {
		for _, per := range []int{1, 10, 100, 1000} {
			b.Run(fmt.Sprintf("%s/values=%d", c.label, per), func(b *testing.B) {
				groups := min(20_000, 1_000_000/per)
				r := rand.New(rand.NewPCG(7, uint64(per)))
				ids, col := sizeInput(r, c.arg, groups, per)
				var args []arrow.Array
				var types []arrow.DataType
				var consts []any
				if col != nil {
					defer col.Release()
					args, types = []arrow.Array{col}, []arrow.DataType{c.arg}
				}
				if c.q != nil {
					args, types, consts = append(args, nil), append(types, arrow.PrimitiveTypes.Float64), []any{nil, c.q}
				}
				var heap, accounted int64
				for b.Loop() {
					before := heapInUse()
					acc, err := New(c.name, types, consts)
					if err != nil {
						b.Fatal(err)
					}
					if err := updateInChunks(acc, ids, args); err != nil {
						b.Fatal(err)
					}
					heap = heapInUse() - before
					accounted = acc.SizeBytes()
					runtime.KeepAlive(acc)
				}
				b.ReportMetric(float64(heap)/float64(groups), "B/group")
				b.ReportMetric(float64(accounted)/float64(groups), "accounted-B/group")
			})
		}
	}
}

// updateInChunks feeds ids and args to acc in batches of 4096 rows, as an operator does.
func updateInChunks(acc Accumulator, ids []uint32, args []arrow.Array) error {
	const chunk = 4096
	for lo := 0; lo < len(ids); lo += chunk {
		hi := min(lo+chunk, len(ids))
		part := make([]arrow.Array, len(args))
		for i, a := range args {
			if a != nil {
				part[i] = array.NewSlice(a, int64(lo), int64(hi))
			}
		}
		err := acc.Update(ids[lo:hi], part, nil)
		for _, a := range part {
			if a != nil {
				a.Release()
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

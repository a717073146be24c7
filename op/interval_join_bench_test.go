package op

import (
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// benchRows makes n rows of schema s's shape (string key, timestamp, int64), key i%keys at
// time i, in batches of 4096; right puts the columns in the right schema's order.
func benchRows(n, keys int, right bool) []arrow.RecordBatch {
	mem := memory.DefaultAllocator
	var out []arrow.RecordBatch
	for lo := 0; lo < n; lo += 4096 {
		k := array.NewStringBuilder(mem)
		ts := array.NewTimestampBuilder(mem, stateTime)
		id := array.NewInt64Builder(mem)
		for i := lo; i < min(n, lo+4096); i++ {
			k.Append("card" + strconv.Itoa(i%keys))
			ts.Append(arrow.Timestamp(i))
			id.Append(int64(i))
		}
		cols := []arrow.Array{k.NewArray(), ts.NewArray(), id.NewArray()}
		s := joinLeft
		if right {
			cols = []arrow.Array{cols[2], cols[0], cols[1]}
			s = joinRight
		}
		out = append(out, array.NewRecordBatch(s, cols, int64(min(n, lo+4096)-lo)))
		releaseAll(cols)
		k.Release()
		ts.Release()
		id.Release()
	}
	return out
}

// BenchmarkIntervalJoin joins 100,000 rows a side over 10,000 keys, each left row with the
// right rows of its key up to 50,000 ms later (about five), the watermark following the
// input: rows a second, pairs reported.
func BenchmarkIntervalJoin(b *testing.B) {
	benchJoin(b, 10_000, func() (Operator, error) { return NewIntervalJoin(joinConfig(0, 50_000, true, false)) })
}

// benchJoin runs the two-input join newJoin makes over 100,000 rows a side of keys keys
// (benchRows), the watermark a batch behind the input: rows a second, rows out reported.
func benchJoin(b *testing.B, keys int, newJoin func() (Operator, error)) {
	const n = 100_000
	left, right := benchRows(n, keys, false), benchRows(n, keys, true)
	b.ResetTimer()
	rows := 0
	for range b.N {
		j, err := newJoin()
		if err != nil {
			b.Fatal(err)
		}
		if err := j.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
			b.Fatal(err)
		}
		var out countRows
		for i := range left {
			left[i].Retain()
			right[i].Retain()
			if err := j.Process(0, left[i], &out); err != nil {
				b.Fatal(err)
			}
			if err := j.Process(1, right[i], &out); err != nil {
				b.Fatal(err)
			}
			if err := j.OnWatermark(int64(i*4096), &out); err != nil {
				b.Fatal(err)
			}
		}
		if err := j.OnWatermark(MaxWatermark, &out); err != nil {
			b.Fatal(err)
		}
		rows = out.n
		if err := j.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2*n*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows), "rows-out")
}

// BenchmarkDedup drops the repeats of 100,000 rows over 20,000 keys within 10,000 ms,
// keeping the first.
func BenchmarkDedup(b *testing.B) {
	const n = 100_000
	rows := benchRows(n, 20_000, false)
	b.ResetTimer()
	for range b.N {
		d, err := NewDedup(DedupConfig{Key: []int{0}, Time: 1, Within: 10_000, Schema: joinLeft})
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
			b.Fatal(err)
		}
		var out countRows
		for i, rec := range rows {
			rec.Retain()
			if err := d.Process(0, rec, &out); err != nil {
				b.Fatal(err)
			}
			if err := d.OnWatermark(int64(i*4096), &out); err != nil {
				b.Fatal(err)
			}
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// countRows counts and releases what an operator emits.
type countRows struct{ n int }

func (c *countRows) Collect(rec arrow.RecordBatch) error {
	c.n += int(rec.NumRows())
	rec.Release()
	return nil
}

package engine

import (
	"context"
	"io"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/op"
	"millrace/source"
)

// spans is a bounded source of four partitions, partition k holding the event times of
// [100k, 100k+100) seconds in order; it counts how many of its readers are open at once.
type spans struct {
	boundedSource
	open, most atomic.Int32
}

const spanMillis = 100_000

func (s *spans) Schema() *arrow.Schema { return tsOnly }
func (s *spans) Partitions() int       { return 4 }
func (s *spans) Open(_ context.Context, p int, _ []byte) (source.PartitionReader, error) {
	n := s.open.Add(1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	return &spanReader{s: s, t: int64(p) * spanMillis, end: int64(p+1) * spanMillis}, nil
}

// floored is spans knowing the least event time of each partition.
type floored struct{ *spans }

func (f floored) TimeFloor(p int, column string) (int64, bool) {
	return int64(p) * spanMillis, column == "ts"
}

type spanReader struct {
	plainReader
	s      *spans
	t, end int64
}

func (r *spanReader) Read(context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	if r.t >= r.end {
		return nil, nil, io.EOF
	}
	b := array.NewTimestampBuilder(memory.DefaultAllocator, tsOnly.Field(0).Type.(*arrow.TimestampType))
	defer b.Release()
	for range 10 {
		b.Append(arrow.Timestamp(r.t))
		r.t += 1000
	}
	col := b.NewArray()
	defer col.Release()
	return array.NewRecordBatch(tsOnly, []arrow.Array{col}, 10), nil, nil
}

func (r *spanReader) Close() error {
	r.s.open.Add(-1)
	return nil
}

// A subtask whose source knows each partition's least event time reads its partitions one
// at a time, and its watermark rises through each before the next is opened; one that does
// not know reads them all at once, lest a partition not yet read turn late.
func TestTimeFloorsReadPartitionsInTurn(t *testing.T) {
	for _, known := range []bool{true, false} {
		s := &spans{}
		var src source.Source = s
		if known {
			src = floored{s}
		}
		n := &Node{Name: "s", Parallelism: 1, Source: src, Watermarks: WatermarkPolicy{EventTime: 0, OutOfOrder: 1000}}
		var out sinkResult
		g := &Graph{Nodes: []*Node{n, out.node("out")}}
		g.Edges = []*Edge{{From: n, To: g.Nodes[1]}}
		stats, err := Run(context.Background(), g, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if out.rows != 400 {
			t.Fatalf("known %v: %d rows reached the sink, want 400", known, out.rows)
		}
		if st, _ := stats.Node("s"); st.Late != 0 {
			t.Fatalf("known %v: %d rows late", known, st.Late)
		}
		wms := slices.DeleteFunc(slices.Clone(out.watermarks), func(w int64) bool { return w == op.MaxWatermark })
		switch {
		case known && (s.most.Load() != 1 || len(wms) == 0 || wms[len(wms)-1] < 3*spanMillis):
			t.Errorf("floors known: %d readers open at once, watermarks %v; want 1, rising into the last partition", s.most.Load(), wms)
		case !known && s.most.Load() != 4:
			t.Errorf("floors unknown: %d readers open at once, want all 4", s.most.Load())
		}
	}
}

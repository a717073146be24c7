package engine

import (
	"context"
	"io"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/op"
	"millrace/source"
)

// carrying is a two-partition source whose readers say their watermark: each Read yields
// one row with an event time far behind it and then moves the partition's watermark up.
type carrying struct{ boundedSource }

func (carrying) Schema() *arrow.Schema { return tsOnly }
func (carrying) Partitions() int       { return 2 }
func (carrying) Open(_ context.Context, p int, _ []byte) (source.PartitionReader, error) {
	return &carryingReader{step: int64(p + 1), wm: op.MinWatermark}, nil
}

type carryingReader struct {
	plainReader
	step, wm int64
	reads    int
}

func (r *carryingReader) Watermark() int64 { return r.wm }

func (r *carryingReader) Read(context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	if r.reads == 3 {
		return nil, nil, io.EOF
	}
	r.reads++
	r.wm = int64(r.reads) * 1000 * r.step
	b := array.NewTimestampBuilder(memory.DefaultAllocator, tsOnly.Field(0).Type.(*arrow.TimestampType))
	defer b.Release()
	b.Append(0) // far behind every watermark: not late, since the stage that read it decided that
	col := b.NewArray()
	defer col.Release()
	return array.NewRecordBatch(tsOnly, []arrow.Array{col}, 1), nil, nil
}

func TestReadersThatCarryWatermarksSetThem(t *testing.T) {
	src := &Node{Name: "s", Parallelism: 1, Source: carrying{}, Watermarks: NoEventTime}
	var out sinkResult
	g := &Graph{Nodes: []*Node{src, out.node("out")}}
	g.Edges = []*Edge{{From: src, To: g.Nodes[1]}}
	if _, err := Run(context.Background(), g, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	// The least of the two partitions' watermarks, each time it rises: 1000, 2000, 3000.
	want := []int64{1000, 2000, 3000, op.MaxWatermark}
	if !slices.Equal(out.watermarks, want) {
		t.Fatalf("watermarks %v, want %v", out.watermarks, want)
	}
	if out.rows != 6 {
		t.Fatalf("%d rows reached the sink, want all 6: none is late", out.rows)
	}
}

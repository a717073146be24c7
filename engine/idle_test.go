package engine

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/op"
	"millrace/source"
)

var tsOnly = arrow.NewSchema([]arrow.Field{{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}}}, nil)

// scripted is a two-partition source: partition 0 yields `batches` batches of rising
// event times, partition 1 yields nothing `quiet` times and then ends.
type scripted struct {
	boundedSource
	batches, quiet int
	idle           time.Duration
}

func (s *scripted) Schema() *arrow.Schema { return tsOnly }
func (s *scripted) Partitions() int       { return 2 }
func (s *scripted) Open(_ context.Context, p int, _ []byte) (source.PartitionReader, error) {
	if p == 0 {
		return &scriptedReader{left: s.batches}, nil
	}
	return &scriptedReader{left: s.quiet, silent: true}, nil
}

type scriptedReader struct {
	plainReader
	left   int
	silent bool
	t      int64
}

func (r *scriptedReader) Read(context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	if r.left == 0 {
		return nil, nil, io.EOF
	}
	r.left--
	if r.silent {
		return nil, nil, nil
	}
	b := array.NewTimestampBuilder(memory.DefaultAllocator, tsOnly.Field(0).Type.(*arrow.TimestampType))
	defer b.Release()
	for range 10 {
		r.t += 1000
		b.Append(arrow.Timestamp(r.t))
	}
	col := b.NewArray()
	defer col.Release()
	return array.NewRecordBatch(tsOnly, []arrow.Array{col}, 10), nil, nil
}

func TestIdlePartitionStopsHoldingTheWatermark(t *testing.T) {
	for _, idle := range []time.Duration{0, time.Second} {
		src := &Node{Name: "s", Parallelism: 1, Source: &scripted{batches: 20, quiet: 40, idle: idle}, Watermarks: WatermarkPolicy{EventTime: 0, IdleTimeout: idle}}
		var out sinkResult
		g := &Graph{Nodes: []*Node{src, out.node("out")}}
		g.Edges = []*Edge{{From: src, To: g.Nodes[1]}}
		opts := DefaultOptions()
		now := time.Unix(0, 0)
		opts.Now = func() time.Time { now = now.Add(100 * time.Millisecond); return now }
		if _, err := Run(context.Background(), g, opts); err != nil {
			t.Fatal(err)
		}
		before := 0 // watermarks before the final one
		for _, wm := range out.watermarks {
			if wm != op.MaxWatermark {
				before++
			}
		}
		if idle == 0 && before != 0 {
			t.Fatalf("without an idle timeout the silent partition must hold the watermark: %v", out.watermarks)
		}
		if idle > 0 && before == 0 {
			t.Fatalf("with an idle timeout the watermark must move: %v", out.watermarks)
		}
	}
}

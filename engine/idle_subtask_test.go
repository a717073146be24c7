package engine

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/source"
)

// apart is a two-partition source read by two subtasks, one partition each. Partition 1
// polls empty 20 times, each moving the clock 100 ms on, then lets partition 0 go on and
// polls empty until partition 0 has ended, then yields one batch of event times 1s to 10s
// and ends. Partition 0 waits for partition 1's signal, then yields 20 batches of event
// times rising from 1s to 200s. Only partition 1's first polls move the clock, so partition
// 1 has been silent for 2 s of it when partition 0 starts, and partition 0 is never silent
// for any of it, however the two subtasks' turns fall.
type apart struct {
	boundedSource
	start, p0done chan struct{}
	clock         atomic.Int64 // milliseconds
}

func (s *apart) Schema() *arrow.Schema { return tsOnly }
func (s *apart) Partitions() int       { return 2 }
func (s *apart) Open(_ context.Context, p int, _ []byte) (source.PartitionReader, error) {
	return &apartReader{s: s, p: p, left: 20}, nil
}

type apartReader struct {
	plainReader
	s       *apart
	p, left int
	polls   int
	t       int64
}

func (r *apartReader) Read(ctx context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	if r.p == 0 {
		if r.left == 20 {
			select {
			case <-r.s.start:
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
		}
		if r.left == 0 {
			close(r.s.p0done)
			return nil, nil, io.EOF
		}
		r.left--
		return timestamps(&r.t, 10), nil, nil
	}
	r.polls++
	if r.polls <= 20 {
		r.s.clock.Add(100)
	}
	if r.polls == 20 {
		close(r.s.start)
	}
	select {
	case <-r.s.p0done:
	default:
		return nil, nil, nil
	}
	if r.left == 0 {
		return nil, nil, io.EOF
	}
	r.left = 0
	return timestamps(&r.t, 10), nil, nil
}

// timestamps makes a batch of n event times, 1s apart after *t.
func timestamps(t *int64, n int) arrow.RecordBatch {
	b := array.NewTimestampBuilder(memory.DefaultAllocator, tsOnly.Field(0).Type.(*arrow.TimestampType))
	defer b.Release()
	for range n {
		*t += 1000
		b.Append(arrow.Timestamp(*t))
	}
	col := b.NewArray()
	defer col.Release()
	return array.NewRecordBatch(tsOnly, []arrow.Array{col}, int64(n))
}

// TestIdleSubtaskStopsHoldingTheWatermark runs a source at one subtask per partition, as a
// cluster runs its source partitions, one of them silent. With an idle timeout the silent
// subtask's watermark follows the clock, which is past every event time, so the watermark
// downstream follows the other partition's rows, and the clock once that has ended; rows
// the silent partition yields later, behind the clock, are late. Without it the silent
// subtask holds the watermark back until it yields its own rows, which are on time.
func TestIdleSubtaskStopsHoldingTheWatermark(t *testing.T) {
	for _, idle := range []time.Duration{0, time.Second} {
		a := &apart{start: make(chan struct{}), p0done: make(chan struct{})}
		a.clock.Store(1_000_000)
		src := &Node{Name: "s", Parallelism: 2, Source: a, Watermarks: WatermarkPolicy{EventTime: 0, IdleTimeout: idle}}
		var out, late sinkResult
		g := &Graph{Nodes: []*Node{src, out.node("out"), late.node("late")}}
		g.Edges = []*Edge{{From: src, To: g.Nodes[1], Partitioning: Rebalance},
			{From: src, FromPort: LatePort, To: g.Nodes[2], Partitioning: Rebalance}}
		opts := DefaultOptions()
		opts.Now = func() time.Time { return time.UnixMilli(a.clock.Load()) }
		if _, err := Run(context.Background(), g, opts); err != nil {
			t.Fatal(err)
		}
		moved := false // a watermark that partition 0's rows set, before either partition ended
		for _, wm := range out.watermarks {
			if wm > 10_000 && wm <= 200_000 {
				moved = true
			}
		}
		if idle == 0 && (moved || late.rows != 0 || out.rows != 210) {
			t.Fatalf("without an idle timeout the silent subtask must hold the watermark: watermarks %v, %d rows, %d late", out.watermarks, out.rows, late.rows)
		}
		if idle == 0 {
			continue
		}
		if !moved {
			t.Fatalf("with an idle timeout the watermark must follow partition 0 before the end: %v", out.watermarks)
		}
		if late.rows != 10 || out.rows != 200 {
			t.Fatalf("the silent partition's rows behind its clock watermark must be late: %d rows, %d late", out.rows, late.rows)
		}
	}
}

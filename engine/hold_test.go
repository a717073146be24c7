package engine

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/op"
	"millrace/source"
)

// holding is an operator that keeps every batch until the next watermark, telling its
// Context's HoldMeter when each came and how many of its rows left.
type holding struct {
	op.Base
	hold  op.HoldMeter
	held  []arrow.RecordBatch
	marks []int64
}

func (h *holding) Open(ctx op.Context) error {
	h.hold = ctx.Hold
	return nil
}

func (h *holding) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	h.held = append(h.held, rec)
	if h.hold != nil {
		h.marks = append(h.marks, h.hold.Arrived())
	}
	return nil
}

func (h *holding) OnWatermark(_ int64, out op.Collector) error {
	for i, rec := range h.held {
		if h.hold != nil {
			h.hold.Released(h.marks[i], int(rec.NumRows()))
		}
		if err := out.Collect(rec); err != nil {
			return err
		}
	}
	h.held, h.marks = h.held[:0], h.marks[:0]
	return nil
}

func (h *holding) Finish(out op.Collector) error { return h.OnWatermark(op.MaxWatermark, out) }

// TestOperatorsMeasureTheirHold checks that the engine gives every operator a HoldMeter
// whose releases land in its node's report, one observation per row, and none when the run
// is unmeasured.
func TestOperatorsMeasureTheirHold(t *testing.T) {
	for _, unmeasured := range []bool{false, true} {
		var src source.Source = &counter{n: 400, parts: 2}
		in := &Node{Name: "src", Parallelism: 1, Source: src, Watermarks: WatermarkPolicy{EventTime: 1}}
		mid := &Node{Name: "hold", Parallelism: 1, Operator: func(int) (op.Operator, error) { return &holding{}, nil }}
		out := &Node{Name: "out", Parallelism: 1, Operator: func(int) (op.Operator, error) { return &twoPhase{d: newDisk()}, nil }}
		opts := DefaultOptions()
		opts.Unmeasured = unmeasured
		st, err := Run(context.Background(), &Graph{Nodes: []*Node{in, mid, out}, Edges: []*Edge{{From: in, To: mid}, {From: mid, To: out}}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := st.Node("hold")
		want := int64(400)
		if unmeasured {
			want = 0
		}
		if h.Hold.Count() != want || h.Hold.Sum < 0 {
			t.Errorf("unmeasured %v: %d rows held for %s in all, want %d rows", unmeasured, h.Hold.Count(), h.Hold.Sum, want)
		}
		if o, _ := st.Node("out"); o.Hold.Count() != 0 {
			t.Errorf("an operator that holds nothing: %d rows held", o.Hold.Count())
		}
	}
}

package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/gen"
	"millrace/op"
	"millrace/schema"
)

// holdBack keeps each batch until the watermark passes its latest row by a second, as an
// outer join keeps its unmatched rows, and holds its watermark back to its earliest row.
type holdBack struct {
	op.Base
	held []arrow.RecordBatch
}

func (h *holdBack) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	h.held = append(h.held, rec)
	return nil
}

func (h *holdBack) OnWatermark(wm int64, out op.Collector) error {
	keep := h.held[:0]
	for _, rec := range h.held {
		_, hi := timeRange(rec)
		if hi+1000 < wm || wm == op.MaxWatermark {
			if err := out.Collect(rec); err != nil {
				return err
			}
			continue
		}
		keep = append(keep, rec)
	}
	h.held = keep
	return nil
}

func (h *holdBack) HeldWatermark() int64 {
	held := int64(op.MaxWatermark)
	for _, rec := range h.held {
		lo, _ := timeRange(rec)
		held = min(held, lo)
	}
	return held
}

func timeRange(rec arrow.RecordBatch) (lo, hi int64) {
	lo, hi = op.MaxWatermark, op.MinWatermark
	for _, v := range rec.Column(schema.TS).(*array.Timestamp).TimestampValues() {
		lo, hi = min(lo, int64(v)), max(hi, int64(v))
	}
	return lo, hi
}

// behind fails on a row behind the watermark it was given, and counts rows.
type behind struct {
	op.Base
	wm   int64
	rows *atomic.Int64
}

func (b *behind) OnWatermark(wm int64, _ op.Collector) error { b.wm = wm; return nil }

func (b *behind) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	if lo, _ := timeRange(rec); lo < b.wm {
		return fmt.Errorf("a row at %d came after the watermark %d", lo, b.wm)
	}
	b.rows.Add(rec.NumRows())
	return nil
}

// TestAHeldWatermarkKeepsRowsOnTime runs an operator that emits rows long after the
// watermark passed them: the watermark it passes on is held back to its earliest row, so
// the step after it never sees a row behind its watermark, and every row arrives.
func TestAHeldWatermarkKeepsRowsOnTime(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Disorder = 30_000, time.Second
	src := genNode(t, "tx", 2, cfg, 4, 1000)
	hold := &Node{Name: "hold", Parallelism: 2, Operator: func(int) (op.Operator, error) { return &holdBack{}, nil }}
	var rows atomic.Int64
	check := &Node{Name: "check", Parallelism: 1, Operator: func(int) (op.Operator, error) { return &behind{wm: op.MinWatermark, rows: &rows}, nil }}
	g := &Graph{Nodes: []*Node{src, hold, check}, Edges: []*Edge{
		{From: src, To: hold, Partitioning: Hash, Key: []string{"card_id"}},
		{From: hold, To: check, Partitioning: Rebalance},
	}}
	stats, err := Run(context.Background(), g, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := stats.Node("tx"); rows.Load() != s.Accepted || s.Accepted == 0 {
		t.Fatalf("%d rows reached the end of %d accepted", rows.Load(), s.Accepted)
	}
}

package source

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/gen"
	"millrace/schema"
)

// Generator is the transaction generator as a source: each of its partitions is an
// independent deterministic stream of the configured rate's share.
type Generator struct {
	cfg       gen.Config
	world     *gen.World
	batchRows int
	policy    WatermarkPolicy
	checks    []Check
}

// NewGenerator returns a generator source of cfg.Partitions partitions (at least 1). Rows
// carry event time in `ts`; the watermark allows outOfOrder milliseconds of disorder.
func NewGenerator(cfg gen.Config, outOfOrder int64, checks []Check) (*Generator, error) {
	if cfg.Partitions < 1 {
		cfg.Partitions = 1
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w, err := gen.NewWorld(cfg)
	if err != nil {
		return nil, fmt.Errorf("generator source: %w", err)
	}
	return &Generator{cfg: cfg, world: w, batchRows: 8192, checks: checks,
		policy: WatermarkPolicy{EventTime: schema.TS, OutOfOrder: outOfOrder}}, nil
}

// Schema is the transaction schema.
func (g *Generator) Schema() *arrow.Schema { return schema.Transaction() }

// Partitions is the number of generator partitions.
func (g *Generator) Partitions() int { return g.cfg.Partitions }

// Watermarks is the source's event-time policy.
func (g *Generator) Watermarks() WatermarkPolicy { return g.policy }

// Checks are the predicates rows must pass.
func (g *Generator) Checks() []Check { return g.checks }

// Open starts partition p's stream.
func (g *Generator) Open(_ context.Context, p int) (PartitionReader, error) {
	cfg := g.cfg
	cfg.Partition = p
	gn, err := gen.NewWithWorld(cfg, g.world)
	if err != nil {
		return nil, fmt.Errorf("generator partition %d: %w", p, err)
	}
	return &genReader{g: gn, rows: g.batchRows, name: fmt.Sprintf("generator/%d", p)}, nil
}

type genReader struct {
	g    *gen.Generator
	rows int
	name string
}

func (r *genReader) Read(ctx context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	rec, err := r.g.Next(ctx, memory.DefaultAllocator, r.rows)
	return rec, nil, err
}

func (r *genReader) Position() format.Position {
	return format.Position{File: r.name, Offset: r.g.Stats().Rows}
}

func (r *genReader) Close() error { return nil }

package source

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/gen"
)

// Generator is the transaction generator as a source: each of its partitions is an
// independent deterministic stream of the configured rate's share.
//
// Generator is resumable: a partition's stream is a function of the config, so its readers'
// Checkpoint is the number of rows delivered, and Open draws the stream again up to there
// (see Open). It is bounded when the config bounds its rows or its duration.
type Generator struct {
	cfg       gen.Config
	world     *gen.World
	batchRows int
}

// NewGenerator returns a generator source of cfg.Partitions partitions (at least 1). Rows
// carry event time in `ts`.
func NewGenerator(cfg gen.Config) (*Generator, error) {
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
	return &Generator{cfg: cfg, world: w, batchRows: 8192}, nil
}

// Schema is the transaction schema, with fraud_scenario when the config asks for it.
func (g *Generator) Schema() *arrow.Schema { return gen.Schema(g.cfg) }

// Partitions is the number of generator partitions.
func (g *Generator) Partitions() int { return g.cfg.Partitions }

// Size is 0: a generated stream has no bytes of input.
func (g *Generator) Size(int) int64 { return 0 }

// Capabilities says the stream resumes, and is bounded when rows or duration bound it.
func (g *Generator) Capabilities() Capabilities {
	return Capabilities{Bounded: g.cfg.Rows > 0 || g.cfg.Duration > 0, Resumable: true}
}

// Committed does nothing: a generator keeps no consumer state.
func (g *Generator) Committed(context.Context, uint64, map[int][]byte) error { return nil }

var _ Source = (*Generator)(nil)

// skipRows is how many rows Open skips between looks at its ctx.
const skipRows = 1 << 20

// Open starts partition p's stream, at its beginning when pos is nil. Otherwise it resumes
// the stream where pos, which Checkpoint of a reader of the partition returned, says its
// next Read starts. pos is a small JSON object (see genPosition): the stream, and the rows
// delivered before the position,
//
//	{"v":1,"seed":1,"partition":0,"partitions":4,"start":"2024-01-01T00:00:00Z","rows":16384}
//
// The generator has no cheaper way to reach a row than drawing the rows before it, so Open
// draws them and drops them without building batches (gen.Generator.Skip), at about a quarter
// of the cost of generating them. ctx covers that and is looked at every million rows.
//
// In paced mode a stream that took its start from the clock resumes with the start of the
// checkpoint, so it holds the same rows, and it goes on from the position in event time as if
// it had paused there: the next row comes due its gap after the last row delivered, counted
// from the time Open returns. Event time then trails the clock by the time the source was
// stopped; paced mode does not catch up.
//
// A position of another seed, partition, number of partitions or start, past the end of a
// bounded stream, or one that does not decode, is an error naming the partition and what is
// wrong.
func (g *Generator) Open(ctx context.Context, p int, pos []byte) (PartitionReader, error) {
	if pos == nil {
		gn, clock, err := g.partition(p, time.Time{})
		if err != nil {
			return nil, err
		}
		return g.reader(p, gn, clock), nil
	}
	at, err := decodeGenPosition(pos)
	if err != nil {
		return nil, fmt.Errorf("generator partition %d: resume: %w", p, err)
	}
	if *at.Seed != g.cfg.Seed || *at.Partition != p || *at.Partitions != g.cfg.Partitions {
		return nil, fmt.Errorf("generator partition %d: resume: the position is of seed %d, partition %d of %d; this is seed %d, partition %d of %d",
			p, *at.Seed, *at.Partition, *at.Partitions, g.cfg.Seed, p, g.cfg.Partitions)
	}
	gn, clock, err := g.partition(p, *at.Start)
	if err != nil {
		return nil, err
	}
	if !gn.Start().Equal(*at.Start) {
		return nil, fmt.Errorf("generator partition %d: resume: the position is of a stream starting at %s; this one starts at %s",
			p, at.Start.UTC().Format(time.RFC3339Nano), gn.Start().Format(time.RFC3339Nano))
	}
	for left := *at.Rows; left > 0; {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("generator partition %d: resume: %w", p, err)
		}
		n := min(left, skipRows)
		if gn.Skip(n) != n {
			return nil, fmt.Errorf("generator partition %d: resume: the position is row %d, past the end of the partition's %d rows",
				p, *at.Rows, gn.Stats().Rows)
		}
		left -= n
	}
	return g.reader(p, gn, clock), nil
}

// partition starts partition p's generator. A paced stream without a configured start starts
// at start when it is set, at the clock's now otherwise.
// partition makes partition p's generator and, in paced mode, the clock that counts its
// waits.
func (g *Generator) partition(p int, start time.Time) (*gen.Generator, *waitingClock, error) {
	if p < 0 || p >= g.cfg.Partitions {
		return nil, nil, fmt.Errorf("generator source: no partition %d (it has %d)", p, g.cfg.Partitions)
	}
	cfg := g.cfg
	cfg.Partition = p
	if cfg.Start.IsZero() && cfg.Speed > 0 {
		cfg.Start = start
	}
	var clock *waitingClock
	if cfg.Speed > 0 {
		if cfg.Clock == nil {
			cfg.Clock = gen.SystemClock()
		}
		clock = &waitingClock{Clock: cfg.Clock}
		cfg.Clock = clock
	}
	gn, err := gen.NewWithWorld(cfg, g.world)
	if err != nil {
		return nil, nil, fmt.Errorf("generator partition %d: %w", p, err)
	}
	return gn, clock, nil
}

func (g *Generator) reader(p int, gn *gen.Generator, clock *waitingClock) *genReader {
	return &genReader{g: gn, clock: clock, rows: g.batchRows, name: fmt.Sprintf("generator/%d", p),
		seed: g.cfg.Seed, part: p, parts: g.cfg.Partitions}
}

type genReader struct {
	g           *gen.Generator
	clock       *waitingClock // paced mode only
	rows        int
	name        string
	seed        int64
	part, parts int
}

// Progress gives how long the reader has slept in paced mode, waiting for rows to come
// due: time a dashboard shows as idle, not busy.
func (r *genReader) Progress() Progress {
	if r.clock == nil {
		return Progress{}
	}
	return Progress{Waited: r.clock.waited}
}

// waitingClock counts the time paced mode sleeps. A partition's reader owns its clock.
type waitingClock struct {
	gen.Clock
	waited time.Duration
}

func (c *waitingClock) SleepUntil(ctx context.Context, t time.Time) error {
	start := c.Now()
	err := c.Clock.SleepUntil(ctx, t)
	c.waited += c.Now().Sub(start)
	return err
}

func (r *genReader) Read(ctx context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	rec, err := r.g.Next(ctx, memory.DefaultAllocator, r.rows)
	return rec, nil, err
}

func (r *genReader) Position() format.Position {
	return format.Position{File: r.name, Offset: r.g.Stats().Rows}
}

// Checkpoint encodes the stream and the rows it has delivered, for Open.
func (r *genReader) Checkpoint() ([]byte, error) {
	start, rows := r.g.Start(), r.g.Stats().Rows
	return json.Marshal(genPosition{V: positionVersion, Seed: &r.seed, Partition: &r.part,
		Partitions: &r.parts, Start: &start, Rows: &rows})
}

func (r *genReader) Close() error { return nil }

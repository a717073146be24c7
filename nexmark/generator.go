package nexmark

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// MaxBatchRows is the most rows Next puts in one batch, whatever it is asked for.
const MaxBatchRows = 1 << 20

// Generator yields the events of one kind and one partition of a Config as Arrow record
// batches, in event-number order (so with non-decreasing date_time). It builds only its own
// kind's events: a bid-only query pays nothing for people and auctions. A Generator is not
// safe for concurrent use; generators of different partitions run independently.
type Generator struct {
	cfg  Config
	kind Kind
	mem  memory.Allocator
	tab  *tables
	key  uint64 // of the per-event random streams

	lo, hi int64 // the kind's offsets within an epoch
	epoch  int64 // the cursor: the next event is epoch·50 + off
	off    int64
	rows   int64 // rows yielded so far
	total  int64 // rows the generator yields in all
}

// Option tunes a Generator.
type Option func(*options)

type options struct {
	mem memory.Allocator
	tab *tables
}

// WithAllocator makes the generator allocate its batches' buffers from mem instead of
// memory.DefaultAllocator.
func WithAllocator(mem memory.Allocator) Option { return func(o *options) { o.mem = mem } }

// withTables makes the generator use pre-built tables (built from an identical seed and
// extra sizes) instead of building its own.
func withTables(t *tables) Option { return func(o *options) { o.tab = t } }

// NewGenerator returns the generator of kind's events in partition cfg.Partition of cfg.
func NewGenerator(cfg Config, kind Kind, opts ...Option) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if Schema(kind) == nil {
		return nil, fmt.Errorf("nexmark: unknown event kind %d", kind)
	}
	o := options{mem: memory.DefaultAllocator}
	for _, opt := range opts {
		opt(&o)
	}
	if o.tab == nil {
		o.tab = newTables(&cfg)
	}
	lo, hi := offsets(kind)
	return &Generator{
		cfg: cfg, kind: kind, mem: o.mem, tab: o.tab, key: streamKey(cfg.Seed, purposeEvents),
		lo: lo, hi: hi, epoch: int64(cfg.Partition), off: lo,
		total: partitionRows(cfg.Events, cfg.Partitions, cfg.Partition, kind),
	}, nil
}

// Schema is the schema of the generator's batches.
func (g *Generator) Schema() *arrow.Schema { return Schema(g.kind) }

// Kind is the kind of events the generator yields.
func (g *Generator) Kind() Kind { return g.kind }

// Rows is how many rows the generator has yielded so far.
func (g *Generator) Rows() int64 { return g.rows }

// Total is how many rows the generator yields in all.
func (g *Generator) Total() int64 { return g.total }

// Next returns a batch of the next min(maxRows, MaxBatchRows) events, fewer at the end, and
// io.EOF once every event has been yielded. The caller owns the batch and releases it.
func (g *Generator) Next(maxRows int) (arrow.RecordBatch, error) {
	if maxRows < 1 {
		return nil, errors.New("nexmark: Next: maxRows must be at least 1")
	}
	left := g.total - g.rows
	if left == 0 {
		return nil, io.EOF
	}
	n := int(min(int64(maxRows), left, MaxBatchRows))
	var rec arrow.RecordBatch
	switch g.kind {
	case Bids:
		rec = g.bids(n)
	case Auctions:
		rec = g.auctions(n)
	default:
		rec = g.persons(n)
	}
	g.rows += int64(n)
	return rec, nil
}

// Skip moves the generator past the next n events, fewer at the end, without building them,
// and returns how many it skipped.
func (g *Generator) Skip(n int64) int64 {
	n = max(min(n, g.total-g.rows), 0)
	for left := n; left > 0; {
		end := min(g.hi, g.cfg.Events-g.epoch*epochEvents)
		if g.off >= end {
			g.epoch += int64(g.cfg.Partitions)
			g.off = g.lo
			continue
		}
		step := min(end-g.off, left)
		g.off += step
		left -= step
	}
	g.rows += n
	return n
}

// fill calls f on the next n events of the generator's kind, one stretch of consecutive
// event numbers at a time: f fills rows i.. with events epoch·50+from to epoch·50+to-1. It
// moves the cursor past them; the caller has checked that n events remain.
func (g *Generator) fill(n int, f func(i int, epoch, from, to int64)) {
	for i := 0; i < n; {
		end := min(g.hi, g.cfg.Events-g.epoch*epochEvents)
		if g.off >= end {
			g.epoch += int64(g.cfg.Partitions)
			g.off = g.lo
			continue
		}
		from := g.off
		to := min(end, from+int64(n-i))
		f(i, g.epoch, from, to)
		i += int(to - from)
		g.off = to
	}
}

// clockAt returns a clock standing at event n.
func (g *Generator) clockAt(n int64) clock {
	c := clock{rate: g.cfg.FirstEventRate}
	c.seek(g.cfg.BaseTime, n)
	return c
}

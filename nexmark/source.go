package nexmark

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
	"millrace/source"
)

// Source is the generator of one kind of events as a source of cfg.Partitions partitions,
// each one Generator of batches of cfg.BatchRows rows. Event time is the date_time column.
type Source struct {
	cfg    Config
	kind   Kind
	tab    *tables
	err    error // a bad Config or Kind, reported by Open
	policy source.WatermarkPolicy
}

// NewSource returns the source of kind's events of cfg, whose watermark allows outOfOrder
// milliseconds of disorder (the rows themselves come in event-time order). cfg.Partition
// is ignored: Open picks the partition. A bad cfg or kind makes Open fail with the reason.
func NewSource(cfg Config, kind Kind, outOfOrder int64) source.Source {
	cfg.Partition = 0
	s := &Source{cfg: cfg, kind: kind, policy: source.WatermarkPolicy{EventTime: DateTimeColumn(kind), OutOfOrder: outOfOrder}}
	if err := cfg.Validate(); err != nil {
		s.err = err
	} else if Schema(kind) == nil {
		s.err = fmt.Errorf("nexmark: unknown event kind %d", kind)
	} else {
		s.tab = newTables(&cfg)
	}
	return s
}

// Schema is the schema of the source's kind, or the Bid schema when the kind is unknown
// (Open then fails).
func (s *Source) Schema() *arrow.Schema {
	if sch := Schema(s.kind); sch != nil {
		return sch
	}
	return bidSchema
}

// Partitions is cfg.Partitions, or 1 when that is invalid so that Open gets to report why.
func (s *Source) Partitions() int { return max(s.cfg.Partitions, 1) }

// Watermarks says that event time is the date_time column.
func (s *Source) Watermarks() source.WatermarkPolicy { return s.policy }

// Checks returns none: generated rows are valid.
func (s *Source) Checks() []source.Check { return nil }

// Open starts partition p's stream from its beginning.
func (s *Source) Open(_ context.Context, p int) (source.PartitionReader, error) {
	if s.err != nil {
		return nil, fmt.Errorf("nexmark %s source: %w", s.kind, s.err)
	}
	if p < 0 || p >= s.cfg.Partitions {
		return nil, fmt.Errorf("nexmark %s source: partition %d of %d", s.kind, p, s.cfg.Partitions)
	}
	cfg := s.cfg
	cfg.Partition = p
	g, err := NewGenerator(cfg, s.kind, withTables(s.tab))
	if err != nil {
		return nil, fmt.Errorf("nexmark %s source: partition %d: %w", s.kind, p, err)
	}
	return &reader{g: g, rows: cfg.BatchRows, name: fmt.Sprintf("nexmark/%s/%d", s.kind, p)}, nil
}

// reader reads one partition.
type reader struct {
	g    *Generator
	rows int
	name string
}

// Read returns the next batch, or io.EOF at the end of the partition.
func (r *reader) Read(ctx context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	rec, err := r.g.Next(r.rows)
	return rec, nil, err
}

// Position names the partition and counts the rows read from it.
func (r *reader) Position() format.Position {
	return format.Position{File: r.name, Offset: r.g.Rows()}
}

// Close does nothing: a generator holds nothing to release.
func (r *reader) Close() error { return nil }

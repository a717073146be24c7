package nexmark

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/source"
)

// Source is the generator of one kind of events as a source of cfg.Partitions partitions,
// each one Generator of batches of cfg.BatchRows rows, in event-time order (date_time).
// It is bounded and resumable: a reader's Checkpoint is the rows it has delivered, and
// Open skips to there without building the rows before.
type Source struct {
	cfg  Config
	kind Kind
	tab  *tables
	mem  memory.Allocator // of the generators' batches
	err  error            // a bad Config or Kind, reported by Open
}

// NewSource returns the source of kind's events of cfg. cfg.Partition is ignored: Open
// picks the partition. A bad cfg or kind makes Open fail with the reason.
func NewSource(cfg Config, kind Kind) source.Source {
	cfg.Partition = 0
	s := &Source{cfg: cfg, kind: kind, mem: memory.DefaultAllocator}
	if err := cfg.Validate(); err != nil {
		s.err = err
	} else if Schema(kind) == nil {
		s.err = fmt.Errorf("nexmark: unknown event kind %d", kind)
	} else {
		s.tab = newTables(&cfg)
	}
	return s
}

// SetAllocator makes the readers Open returns from now on build their batches in buffers
// from mem (a Recycler, when every consumer lets go of a batch's memory as it releases it).
func (s *Source) SetAllocator(mem memory.Allocator) { s.mem = mem }

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

// Capabilities says the events end, and a partition resumes at a row.
func (s *Source) Capabilities() source.Capabilities {
	return source.Capabilities{Bounded: true, Resumable: true}
}

// Size is 0: generated events have no bytes of input.
func (s *Source) Size(int) int64 { return 0 }

// Committed does nothing: a generator keeps no consumer state.
func (s *Source) Committed(context.Context, uint64, map[int][]byte) error { return nil }

// position is where a partition's reader stands: the stream, and the rows it delivered.
type position struct {
	Kind       string `json:"kind"`
	Seed       int64  `json:"seed"`
	Events     int64  `json:"events"`
	Partition  int    `json:"partition"`
	Partitions int    `json:"partitions"`
	Rows       int64  `json:"rows"`
}

// Open starts partition p's stream, from its beginning when pos is nil, else where pos, a
// reader's Checkpoint, says the next row is. A position of another stream is an error
// naming what differs.
func (s *Source) Open(_ context.Context, p int, pos []byte) (source.PartitionReader, error) {
	if s.err != nil {
		return nil, fmt.Errorf("nexmark %s source: %w", s.kind, s.err)
	}
	if p < 0 || p >= s.cfg.Partitions {
		return nil, fmt.Errorf("nexmark %s source: partition %d of %d", s.kind, p, s.cfg.Partitions)
	}
	cfg := s.cfg
	cfg.Partition = p
	g, err := NewGenerator(cfg, s.kind, withTables(s.tab), WithAllocator(s.mem))
	if err != nil {
		return nil, fmt.Errorf("nexmark %s source: partition %d: %w", s.kind, p, err)
	}
	r := &reader{g: g, rows: cfg.BatchRows, name: fmt.Sprintf("nexmark/%s/%d", s.kind, p),
		at: position{Kind: s.kind.String(), Seed: cfg.Seed, Events: cfg.Events, Partition: p, Partitions: cfg.Partitions}}
	if pos == nil {
		return r, nil
	}
	var at position
	if err := json.Unmarshal(pos, &at); err != nil {
		return nil, fmt.Errorf("nexmark %s source: partition %d: resume: %w", s.kind, p, err)
	}
	rows := at.Rows
	at.Rows = 0
	if at != r.at {
		return nil, fmt.Errorf("nexmark %s source: partition %d: resume: the position is of %+v, this stream is %+v", s.kind, p, at, r.at)
	}
	if g.Skip(rows) != rows {
		return nil, fmt.Errorf("nexmark %s source: partition %d: resume: row %d is past the partition's %d rows", s.kind, p, rows, g.Total())
	}
	return r, nil
}

// reader reads one partition.
type reader struct {
	g    *Generator
	rows int
	name string
	at   position // the stream, with Rows 0
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

// Checkpoint encodes the stream and the rows delivered, for Open.
func (r *reader) Checkpoint() ([]byte, error) {
	at := r.at
	at.Rows = r.g.Rows()
	return json.Marshal(at)
}

// Progress is empty: a generator has no bytes of input and never waits.
func (r *reader) Progress() source.Progress { return source.Progress{} }

// Close does nothing: a generator holds nothing to release.
func (r *reader) Close() error { return nil }

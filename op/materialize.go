package op

import (
	"fmt"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// TableShard is the part of a materialized table that one subtask keeps: rows by key, as
// KeyEncoder encodes the key columns and the row's columns. The subtask writes it while other
// goroutines (an HTTP API) read it; every method is safe for concurrent use.
type TableShard struct {
	mu   sync.RWMutex
	rows map[string][]string
	n    int
}

// NewTableShard returns an empty shard.
func NewTableShard() *TableShard { return &TableShard{rows: map[string][]string{}} }

// Lookup returns the rows of key.
func (s *TableShard) Lookup(key []byte) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.rows[string(key)])
}

// Len is the number of rows the shard holds.
func (s *TableShard) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.n
}

// Keys returns the shard's keys.
func (s *TableShard) Keys() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.rows))
	for k := range s.rows {
		out = append(out, k)
	}
	return out
}

// clear empties the shard.
func (s *TableShard) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.rows)
	s.n = 0
}

// MaterializeConfig describes a Materialize.
type MaterializeConfig struct {
	// In is the schema of the changelog: the _op column Op, the others the rows'.
	In *arrow.Schema
	Op int
	// Keys are the columns that key the table.
	Keys []int
	// Rows says a key holds several rows, each standing for itself (a TopN's changes): +I
	// adds a row and -D removes an equal one. Otherwise a key holds one row, which +I and +U
	// set and -U and -D remove.
	Rows bool
	// Shard gives subtask sub of parallelism its shard, empty, when the subtask opens.
	Shard func(sub, parallelism int) *TableShard
}

// Materialize is a sink that applies a changelog to a table kept in memory (TableShard), so
// that the table can be read while the pipeline runs. Rows of a key must all reach one
// subtask. The table is the operator's state: it snapshots, rescales and splits by key like
// a Dedup's, and a restored subtask's shard holds the checkpoint's table again. Changes show
// in the shard as they arrive, before their checkpoint completes.
type Materialize struct {
	Base
	cfg   MaterializeConfig
	ctx   Context
	rowOf []int // the columns of a row, In without Op
	shard *TableShard
	wm    int64

	keyEnc, rowEnc KeyEncoder
}

// NewMaterialize checks cfg and returns the operator.
func NewMaterialize(cfg MaterializeConfig) (*Materialize, error) {
	if cfg.Op < 0 || cfg.Op >= cfg.In.NumFields() || cfg.In.Field(cfg.Op).Type.ID() != arrow.STRING {
		return nil, fmt.Errorf("materialize: column %d is not a changelog's %s column", cfg.Op, OpColumn)
	}
	m := &Materialize{cfg: cfg, wm: MinWatermark}
	for i, f := range cfg.In.Fields() {
		if i == cfg.Op {
			continue
		}
		if !KeyType(f.Type) {
			return nil, fmt.Errorf("materialize: column %q is %s, which a table cannot hold", f.Name, f.Type)
		}
		m.rowOf = append(m.rowOf, i)
	}
	return m, nil
}

// Open takes the subtask's shard, empty.
func (m *Materialize) Open(ctx Context) error {
	m.ctx = ctx
	m.ctx.Mem = allocator(ctx)
	m.shard = m.cfg.Shard(ctx.Subtask, ctx.Parallelism)
	m.shard.clear()
	return nil
}

// StateBytes estimates the memory of the rows held.
func (m *Materialize) StateBytes() int64 {
	m.shard.mu.RLock()
	defer m.shard.mu.RUnlock()
	var n int64
	for k, rows := range m.shard.rows {
		n += int64(len(k)) + 64
		for _, r := range rows {
			n += int64(len(r)) + 16
		}
	}
	return n
}

// OnWatermark remembers the watermark for the snapshot.
func (m *Materialize) OnWatermark(wm int64, _ Collector) error {
	m.wm = max(m.wm, wm)
	return nil
}

// Process applies rec's changes to the shard.
func (m *Materialize) Process(_ int, rec arrow.RecordBatch, _ Collector) error {
	defer rec.Release()
	keys := make([]arrow.Array, len(m.cfg.Keys))
	for i, k := range m.cfg.Keys {
		keys[i] = rec.Column(k)
	}
	if err := m.keyEnc.Reset(keys); err != nil {
		return fmt.Errorf("materialize: %w", err)
	}
	cols := make([]arrow.Array, len(m.rowOf))
	for i, c := range m.rowOf {
		cols[i] = rec.Column(c)
	}
	if err := m.rowEnc.Reset(cols); err != nil {
		return fmt.Errorf("materialize: %w", err)
	}
	ops, ok := rec.Column(m.cfg.Op).(*array.String)
	if !ok {
		return fmt.Errorf("materialize: column %q is %s, not the changelog's %s", rec.ColumnName(m.cfg.Op), rec.Column(m.cfg.Op).DataType(), OpColumn)
	}
	s := m.shard
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range int(rec.NumRows()) {
		k, row := string(m.keyEnc.Key(i)), string(m.rowEnc.Key(i))
		rows := s.rows[k]
		switch kind := ops.Value(i); {
		case kind == OpInsert || kind == OpUpdateAfter && !m.cfg.Rows:
			if !m.cfg.Rows && len(rows) > 0 {
				s.n--
				rows = rows[:0]
			}
			s.rows[k] = append(rows, row)
			s.n++
		case kind == OpDelete || kind == OpUpdateBefore && !m.cfg.Rows:
			at := slices.Index(rows, row)
			if !m.cfg.Rows && len(rows) > 0 {
				at = 0
			}
			if at < 0 {
				continue
			}
			s.n--
			if rows = slices.Delete(rows, at, at+1); len(rows) == 0 {
				delete(s.rows, k)
			} else {
				s.rows[k] = rows
			}
		default:
			return fmt.Errorf("materialize: row %d has %s %q", i, OpColumn, kind)
		}
	}
	return nil
}

// Package table holds materialized tables: the tables of changelog streams (see op.Changelog
// and op.TopN) that a pipeline keeps in memory while it runs, one shard per subtask of the
// sink that applies the changes (op.Materialize), read by key or page by page from other
// goroutines, such as the HTTP API's.
//
// A table's memory is that of its rows: a view keyed by card holds one row per card ever
// seen, so the choice of key bounds it.
package table

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/op"
)

// Table is one materialized table.
type Table struct {
	// Name names the table in the API: the sink's name.
	Name string
	// From names the stream it keeps.
	From   string
	schema *arrow.Schema // the rows' columns, without _op
	keys   []int         // the key columns, in schema
	rows   bool          // a key holds several rows (a top's)

	mu     sync.Mutex
	shards []*op.TableShard
}

// New returns an empty table of rows of schema s keyed by the columns keys of s; with rows,
// a key holds several rows.
func New(name, from string, s *arrow.Schema, keys []int, rows bool) *Table {
	return &Table{Name: name, From: from, schema: s, keys: keys, rows: rows}
}

// Shard returns the shard of subtask sub of parallelism, made on first use; the shards of
// subtasks past parallelism are dropped, so that a run resumed at a lower parallelism reads
// only its own.
func (t *Table) Shard(sub, parallelism int) *op.TableShard {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.shards) < parallelism {
		t.shards = append(t.shards, op.NewTableShard())
	}
	t.shards = t.shards[:parallelism]
	return t.shards[sub]
}

func (t *Table) current() []*op.TableShard {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.shards)
}

// Columns names the table's columns, and KeyColumns its key columns.
func (t *Table) Columns() []string {
	out := make([]string, t.schema.NumFields())
	for i, f := range t.schema.Fields() {
		out[i] = f.Name
	}
	return out
}

// KeyColumns names the columns that key the table, in order.
func (t *Table) KeyColumns() []string {
	out := make([]string, len(t.keys))
	for i, k := range t.keys {
		out[i] = t.schema.Field(k).Name
	}
	return out
}

// Len is the number of rows the table holds.
func (t *Table) Len() int {
	n := 0
	for _, s := range t.current() {
		n += s.Len()
	}
	return n
}

// Lookup returns the rows of the key whose columns hold values, one text per key column
// (as a JSON or CSV file writes it), each as a JSON object.
func (t *Table) Lookup(values []string) ([]json.RawMessage, error) {
	if len(values) != len(t.keys) {
		return nil, fmt.Errorf("table %s: %d key values for the %d key columns %v", t.Name, len(values), len(t.keys), t.KeyColumns())
	}
	builders := make([]array.Builder, len(t.keys))
	cols := make([]arrow.Array, len(t.keys))
	for i, k := range t.keys {
		f := t.schema.Field(k)
		builders[i] = array.NewBuilder(memory.DefaultAllocator, f.Type)
		defer builders[i].Release()
		if err := builders[i].AppendValueFromString(values[i]); err != nil {
			return nil, fmt.Errorf("table %s: key column %s: %q is not a %s", t.Name, f.Name, values[i], f.Type)
		}
		cols[i] = builders[i].NewArray()
		defer cols[i].Release()
	}
	var enc op.KeyEncoder
	if err := enc.Reset(cols); err != nil {
		return nil, fmt.Errorf("table %s: %w", t.Name, err)
	}
	key := enc.Key(0)
	var rows []string
	for _, s := range t.current() {
		rows = append(rows, s.Lookup(key)...)
	}
	slices.Sort(rows)
	return t.render(rows)
}

// Page returns the rows offset to offset+limit of the table in the order of their keys'
// encoded bytes (each key's rows together), and how many rows the table holds.
func (t *Table) Page(offset, limit int) ([]json.RawMessage, int, error) {
	type entry struct {
		key   string
		shard *op.TableShard
	}
	var all []entry
	for _, s := range t.current() {
		for _, k := range s.Keys() {
			all = append(all, entry{k, s})
		}
	}
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.key, b.key) })
	var rows []string
	total, at := 0, 0
	for _, e := range all {
		rs := e.shard.Lookup([]byte(e.key))
		slices.Sort(rs)
		total += len(rs)
		for _, r := range rs {
			if at >= offset && len(rows) < limit {
				rows = append(rows, r)
			}
			at++
		}
	}
	out, err := t.render(rows)
	return out, total, err
}

// render turns rows, as op.Materialize encodes them, into JSON objects.
func (t *Table) render(rows []string) ([]json.RawMessage, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, t.schema)
	defer b.Release()
	for _, r := range rows {
		if err := op.AppendKey([]byte(r), b.Fields()); err != nil {
			return nil, fmt.Errorf("table %s: row %x: %w", t.Name, r, err)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	enc, err := format.NewRowEncoder(format.JSONL, t.schema)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.Name, err)
	}
	out := make([]json.RawMessage, len(rows))
	var buf []byte
	for i := range rows {
		buf = enc.AppendRow(buf[:0], rec, i)
		out[i] = json.RawMessage(append([]byte(nil), buf[:len(buf)-1]...))
	}
	return out, nil
}

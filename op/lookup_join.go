package op

import (
	"context"
	"fmt"
	"millrace/take"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
)

// LookupJoin joins every input row with the row of a table, held whole in memory, that has
// the same key. The output is the input's columns followed by the table's other columns;
// a left join fills those with nulls when the table lacks the key, an inner join drops the
// row (counted by Dropped).
type LookupJoin struct {
	Base
	table    arrow.RecordBatch
	index    map[string]int32
	inputKey []int
	carry    []int // table columns appended to each row
	schema   *arrow.Schema
	inner    bool
	keys     KeyEncoder
	ctx      Context
	dropped  int64
	size     int64 // StateBytes, once known
}

// NewLookupJoin indexes table by its key columns. Two table rows with one key are an error:
// a lookup must find one row. out is the schema of the joined rows.
func NewLookupJoin(table arrow.RecordBatch, tableKey, inputKey []int, inner bool, out *arrow.Schema) (*LookupJoin, error) {
	j := &LookupJoin{table: table, index: make(map[string]int32, table.NumRows()), inputKey: inputKey, schema: out, inner: inner}
	isKey := map[int]bool{}
	cols := make([]arrow.Array, len(tableKey))
	for i, c := range tableKey {
		cols[i] = table.Column(c)
		isKey[c] = true
	}
	for c := range int(table.NumCols()) {
		if !isKey[c] {
			j.carry = append(j.carry, c)
		}
	}
	if err := j.keys.Reset(cols); err != nil {
		return nil, err
	}
	for r := range int(table.NumRows()) {
		k := j.keys.Key(r)
		if prev, dup := j.index[string(k)]; dup {
			return nil, fmt.Errorf("table rows %d and %d have the same key", prev+1, r+1)
		}
		j.index[string(k)] = int32(r)
	}
	return j, nil
}

// Dropped counts input rows an inner join found no match for.
func (j *LookupJoin) Dropped() int64 { return j.dropped }

// StateBytes is the memory of the table and its index, which never change after Open.
func (j *LookupJoin) StateBytes() int64 {
	if j.size > 0 {
		return j.size
	}
	n := int64(len(j.index)) * (16 + 4 + 48)
	for k := range j.index {
		n += int64(len(k))
	}
	for _, c := range j.table.Columns() {
		for _, b := range c.Data().Buffers() {
			if b != nil {
				n += int64(b.Len())
			}
		}
	}
	j.size = n
	return n
}

// Open keeps the allocator.
func (j *LookupJoin) Open(ctx Context) error { j.ctx = ctx; return nil }

// Process joins the rows of rec.
func (j *LookupJoin) Process(_ int, rec arrow.RecordBatch, out Collector) error {
	defer rec.Release()
	cols := make([]arrow.Array, len(j.inputKey))
	for i, c := range j.inputKey {
		cols[i] = rec.Column(c)
	}
	if err := j.keys.Reset(cols); err != nil {
		return err
	}
	n := int(rec.NumRows())
	ib := array.NewInt32Builder(j.ctx.Mem)
	defer ib.Release()
	var keep []int32
	for r := range n {
		if idx, ok := j.index[string(j.keys.Key(r))]; ok {
			ib.Append(idx)
			keep = append(keep, int32(r))
		} else if !j.inner {
			ib.AppendNull()
			keep = append(keep, int32(r))
		}
	}
	j.dropped += int64(n - len(keep))
	if len(keep) == 0 {
		return nil
	}
	indices := ib.NewInt32Array()
	defer indices.Release()
	left := rec
	if len(keep) < n {
		var err error
		if left, err = take.Rows(rec, keep); err != nil {
			return err
		}
		defer left.Release()
	}
	joined := make([]arrow.Array, 0, len(j.schema.Fields()))
	defer func() {
		for _, a := range joined {
			a.Release()
		}
	}()
	for _, c := range left.Columns() {
		c.Retain()
		joined = append(joined, c)
	}
	ctx := compute.WithAllocator(context.Background(), j.ctx.Mem)
	for _, c := range j.carry {
		a, err := compute.TakeArray(ctx, j.table.Column(c), indices)
		if err != nil {
			return fmt.Errorf("lookup join: %w", err)
		}
		joined = append(joined, a)
	}
	return out.Collect(array.NewRecordBatch(j.schema, joined, int64(len(keep))))
}

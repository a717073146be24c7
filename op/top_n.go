package op

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// TopNConfig describes a TopN.
type TopNConfig struct {
	// In is the schema of the rows, which the output keeps after its _op column.
	In *arrow.Schema
	// Keys are the columns that partition the rows: each partition keeps its own top rows.
	// None makes one partition of every row.
	Keys []int
	// By is the column the rows are ranked by: an integer, float64, decimal, timestamp,
	// date or string column. Desc ranks the largest first.
	By   int
	Desc bool
	// Then lists further columns, of the types By may have, that rank rows equal in By, in
	// order (Nexmark q9: the highest price, then the earliest time).
	Then []TopOrder
	// N is how many rows each partition keeps.
	N int
}

// TopOrder is a column rows are ranked by: Desc ranks the largest first.
type TopOrder struct {
	Col  int
	Desc bool
}

// TopN keeps, per partition, the N rows ranked first by one column, and emits their changes
// as a changelog: a row that enters the top N is an insert (+I), a row that leaves it a
// delete (-D); the output is the _op column and the row's columns. Applying the changes in
// order gives, per partition, the N first of every row received so far.
//
// Ranking is a total order, so that the rows kept do not depend on the order rows arrive in
// (nor on the parallelism): by the By column (nulls after every value, whichever direction),
// then by each of the Then columns likewise, then by the row's bytes as KeyEncoder encodes its columns, the smaller first. A row that
// ties with the last kept row in both does not enter. Rows of a partition must all reach one
// subtask (a keyed exchange on the keys). The state, the rows kept, snapshots, rescales and
// splits by key like a Dedup's.
type TopN struct {
	Base
	cfg   TopNConfig
	kind  arrow.Type   // of the By column
	kinds []arrow.Type // of the Then columns
	ctx   Context
	out   *arrow.Schema
	parts map[string][]topRow
	rows  int64 // rows kept over all partitions
	size  int64 // bytes of keys and rows
	wm    int64

	keyEnc, rowEnc KeyEncoder
	b              *array.RecordBuilder
	emitted        int
}

// topRow is a row a TopN keeps: its ranking values (By's, then the Then columns') and its
// columns as KeyEncoder encodes them.
type topRow struct {
	v    topValue
	then []topValue
	row  string
}

// topValue is a ranking value; which field holds it depends on the By column's type.
type topValue struct {
	null bool
	i    int64
	f    float64
	d    decimal128.Num
	s    string
}

// NewTopN checks cfg and returns the operator.
func NewTopN(cfg TopNConfig) (*TopN, error) {
	if cfg.N < 1 {
		return nil, fmt.Errorf("top: n = %d, want 1 or more", cfg.N)
	}
	if cfg.By < 0 || cfg.By >= cfg.In.NumFields() {
		return nil, fmt.Errorf("top: the rows have no column %d to rank by", cfg.By)
	}
	var kinds []arrow.Type
	for i, c := range append([]int{cfg.By}, thenColumns(cfg.Then)...) {
		if c < 0 || c >= cfg.In.NumFields() {
			return nil, fmt.Errorf("top: the rows have no column %d to rank by", c)
		}
		switch t := cfg.In.Field(c).Type; t.ID() {
		case arrow.INT32, arrow.INT64, arrow.TIMESTAMP, arrow.DATE32, arrow.FLOAT64, arrow.DECIMAL128, arrow.STRING:
			if i > 0 {
				kinds = append(kinds, t.ID())
			}
		default:
			return nil, fmt.Errorf("top: cannot rank by column %q of type %s", cfg.In.Field(c).Name, t)
		}
	}
	for _, k := range cfg.Keys {
		if k < 0 || k >= cfg.In.NumFields() {
			return nil, fmt.Errorf("top: the rows have no key column %d", k)
		}
	}
	fields := []arrow.Field{{Name: OpColumn, Type: arrow.BinaryTypes.String}}
	for _, f := range cfg.In.Fields() {
		if !KeyType(f.Type) {
			return nil, fmt.Errorf("top: column %q is %s, which the state of a top cannot hold", f.Name, f.Type)
		}
		fields = append(fields, f)
	}
	return &TopN{cfg: cfg, kind: cfg.In.Field(cfg.By).Type.ID(), kinds: kinds, out: arrow.NewSchema(fields, nil), parts: map[string][]topRow{}, wm: MinWatermark}, nil
}

// TopNSchema is the schema of a TopN's output for cfg: _op, then the rows' columns.
func TopNSchema(cfg TopNConfig) (*arrow.Schema, error) {
	t, err := NewTopN(cfg)
	if err != nil {
		return nil, err
	}
	return t.out, nil
}

// Open keeps the allocator.
func (t *TopN) Open(ctx Context) error {
	t.ctx = ctx
	t.ctx.Mem = allocator(ctx)
	return nil
}

// StateBytes estimates the memory of the rows kept and their partitions' keys.
func (t *TopN) StateBytes() int64 {
	const perPart, perRow, perThen = 16 + 24 + 48, 16 + 56, 56 // perThen: a topValue
	row := int64(perRow)
	if n := len(t.cfg.Then); n > 0 {
		row += 24 + int64(n)*perThen // the slice of the row's Then values
	}
	return t.size + int64(len(t.parts))*perPart + t.rows*row
}

// OnWatermark remembers the watermark for the snapshot; the top rows change with rows only.
func (t *TopN) OnWatermark(wm int64, _ Collector) error {
	t.wm = max(t.wm, wm)
	return nil
}

// thenColumns lists the columns of orders.
func thenColumns(orders []TopOrder) []int {
	cols := make([]int, len(orders))
	for i, o := range orders {
		cols[i] = o.Col
	}
	return cols
}

// compare ranks a before b (negative), after it (positive), or as equal (zero).
func (t *TopN) compare(a, b *topRow) int {
	if c := t.rank(a, b); c != 0 {
		return c
	}
	return cmp.Compare(a.row, b.row)
}

// rank compares the ranking values of a and b: By's, then the Then columns'.
func (t *TopN) rank(a, b *topRow) int {
	if c := compareValues(t.kind, t.cfg.Desc, a.v, b.v); c != 0 {
		return c
	}
	for i, o := range t.cfg.Then {
		if c := compareValues(t.kinds[i], o.Desc, a.then[i], b.then[i]); c != 0 {
			return c
		}
	}
	return 0
}

// compareValues ranks values of a column of type kind: nulls last, then the largest first
// when desc, else the smallest.
func compareValues(kind arrow.Type, desc bool, a, b topValue) int {
	if a.null || b.null {
		switch {
		case a.null && b.null:
			return 0
		case a.null:
			return 1
		}
		return -1
	}
	var c int
	switch kind {
	case arrow.FLOAT64:
		c = cmp.Compare(a.f, b.f)
	case arrow.DECIMAL128:
		c = a.d.Cmp(b.d)
	case arrow.STRING:
		c = cmp.Compare(a.s, b.s)
	default:
		c = cmp.Compare(a.i, b.i)
	}
	if desc {
		return -c
	}
	return c
}

// detached returns v with its string copied out of the batch it was read from, to be kept
// past the batch's release: the batch's memory may go back to its allocator for reuse.
func (v topValue) detached() topValue {
	v.s = strings.Clone(v.s)
	return v
}

// value reads the ranking value of row i of col, the By column. A string value is the
// batch's memory: see detached.
func value(col arrow.Array, i int) topValue {
	if col.IsNull(i) {
		return topValue{null: true}
	}
	switch a := col.(type) {
	case *array.Int32:
		return topValue{i: int64(a.Value(i))}
	case *array.Int64:
		return topValue{i: a.Value(i)}
	case *array.Timestamp:
		return topValue{i: int64(a.Value(i))}
	case *array.Date32:
		return topValue{i: int64(a.Value(i))}
	case *array.Float64:
		return topValue{f: a.Value(i)}
	case *array.Decimal128:
		return topValue{d: a.Value(i)}
	case *array.String:
		return topValue{s: a.Value(i)}
	}
	return topValue{null: true}
}

// Process ranks rec's rows into their partitions' top rows and emits the changes.
func (t *TopN) Process(_ int, rec arrow.RecordBatch, out Collector) error {
	defer rec.Release()
	keys := make([]arrow.Array, len(t.cfg.Keys))
	for i, k := range t.cfg.Keys {
		keys[i] = rec.Column(k)
	}
	if err := t.keyEnc.Reset(keys); err != nil {
		return fmt.Errorf("top: %w", err)
	}
	if err := t.rowEnc.Reset(rec.Columns()); err != nil {
		return fmt.Errorf("top: %w", err)
	}
	by := rec.Column(t.cfg.By)
	then := make([]arrow.Array, len(t.cfg.Then))
	for i, o := range t.cfg.Then {
		then[i] = rec.Column(o.Col)
	}
	var r topRow
	for i := range int(rec.NumRows()) {
		k := t.keyEnc.Key(i)
		r.v, r.then = value(by, i), r.then[:0]
		for _, col := range then {
			r.then = append(r.then, value(col, i))
		}
		top := t.parts[string(k)]
		if len(top) == t.cfg.N && t.rank(&top[len(top)-1], &r) < 0 {
			continue // ranked after every row kept: the row is not encoded
		}
		kept := topRow{v: r.v.detached(), row: string(t.rowEnc.Key(i))}
		for _, v := range r.then {
			kept.then = append(kept.then, v.detached())
		}
		if err := t.add(k, top, kept); err != nil {
			return err
		}
	}
	return t.flush(out)
}

// add ranks r into top, the top rows of partition k.
func (t *TopN) add(k []byte, top []topRow, r topRow) error {
	// After every row ranked before r or equal to it: an equal row does not displace another.
	at, _ := slices.BinarySearchFunc(top, r, func(e topRow, r topRow) int {
		if t.compare(&e, &r) <= 0 {
			return -1
		}
		return 1
	})
	if at >= t.cfg.N {
		return nil
	}
	if len(top) == 0 {
		t.size += int64(len(k))
	}
	top = slices.Insert(top, at, r)
	t.rows++
	t.size += int64(len(r.row))
	if len(top) > t.cfg.N {
		last := top[len(top)-1]
		top = top[:len(top)-1]
		t.rows--
		t.size -= int64(len(last.row))
		if err := t.emit(OpDelete, last.row); err != nil {
			return err
		}
	}
	t.parts[string(k)] = top
	return t.emit(OpInsert, r.row)
}

// emit appends one output row: op, then the row's columns decoded from row.
func (t *TopN) emit(op, row string) error {
	if t.b == nil {
		t.b = array.NewRecordBuilder(t.ctx.Mem, t.out)
	}
	fields := t.b.Fields()
	fields[0].(*array.StringBuilder).Append(op)
	if err := AppendKey([]byte(row), fields[1:]); err != nil {
		return fmt.Errorf("top: row %x: %w", row, err)
	}
	t.emitted++
	return nil
}

// flush sends the rows built so far, if any.
func (t *TopN) flush(out Collector) error {
	if t.emitted == 0 {
		return nil
	}
	t.emitted = 0
	return out.Collect(newRecordWithRoom(t.b))
}

// Close releases the output builder.
func (t *TopN) Close() error {
	if t.b != nil {
		t.b.Release()
		t.b = nil
	}
	return nil
}

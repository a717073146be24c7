package op

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"millrace/agg"
	"millrace/window"
)

// RetractAggConfig describes a RetractAgg.
type RetractAggConfig struct {
	// In is the schema of the input: the key columns first (Keys of them), then the change
	// column (a string column of +I, -U, +U and -D), then the aggregate arguments, which
	// Calls' Args index.
	In   *arrow.Schema
	Keys int
	// Calls are the aggregates: count, count_if, sum, avg, min and max (see
	// RetractableAggregate).
	Calls []AggCall
	// Out is the schema of the output: the key columns, window_start, window_end, one
	// result column per call, then a boolean column that says whether the group holds rows.
	Out *arrow.Schema
	// EmitUpdates emits after each batch the current results of the groups it changed;
	// otherwise every group that holds rows is emitted once, when the input ends.
	EmitUpdates bool
}

// RetractableAggregate reports whether a RetractAgg computes the aggregate function name:
// count, count_if, sum, avg, min and max can take a row back (with a FILTER clause too),
// the sketches, quantiles and distinct counts cannot.
func RetractableAggregate(name string) bool {
	switch strings.ToLower(name) {
	case "count", "count_if", "sum", "avg", "min", "max":
		return true
	}
	return false
}

// RetractAgg aggregates a changelog per key, as a table: a row whose change is +I or +U
// adds its values to its group, a row whose change is -U or -D takes them back. count,
// count_if, sum and avg keep counts and sums that a retraction subtracts from (exact for
// integers and decimals; a float sum depends on the order of its additions and
// subtractions, as an aggregate of floats does); min and max keep every value of the group
// with its count, so that retracting the smallest leaves the next. A group's results are
// those of the rows it holds, computed by package agg from the states as a two-phase
// aggregate's final phase would: the same types, rounding and nulls. A group whose rows are
// all retracted is emitted once more with its last column false, then forgotten.
//
// Rows of a group must all reach one subtask (a keyed exchange on the keys), and the
// changes of one input row reach it in the order they were made (a -U after the +I it
// retracts): a retraction of a row the group does not hold fails the run. The state holds
// per group its row count and its aggregate states, and snapshots, rescales and splits by
// key like a Changelog's.
type RetractAgg struct {
	Base
	cfg    RetractAggConfig
	ctx    Context
	kinds  []retractKind
	vkinds []arrow.Type // per call, the type of min and max's argument
	accs   []agg.Accumulator
	groups map[string]*retractGroup
	size   int64 // bytes of the keys and values held
	wm     int64

	keyEnc  KeyEncoder
	touched []string // the groups the current batch changed, in the order it reached them
	ids     []uint32
}

// retractKind is how a call keeps its state.
type retractKind uint8

const (
	retractCountStar retractKind = iota
	retractCount
	retractCountIf
	retractIntSum
	retractFloatSum
	retractDecimalSum
	retractMinMax
)

// retractGroup is the state of one group: its rows, how many, and per call its state.
type retractGroup struct {
	rows    int64
	calls   []retractState
	touched bool // listed in RetractAgg.touched
}

// retractState is one call's state in a group; which fields it uses depends on its kind.
type retractState struct {
	n    int64 // the values counted (count, count_if) or summed (sum, avg)
	i    int64
	f    float64
	d    decimal128.Num
	vals []retractValue // min and max: the group's values in order, each with its count
}

// retractValue is a value min or max holds, and how many of the group's rows hold it.
type retractValue struct {
	v topValue
	n int64
}

// retractValueBytes is the memory of a retractValue, less its string's bytes.
const retractValueBytes = 1 + 8 + 8 + 16 + 16 + 8

// NewRetractAgg checks cfg and returns the operator.
func NewRetractAgg(cfg RetractAggConfig) (*RetractAgg, error) {
	if cfg.Keys < 0 || cfg.Keys >= cfg.In.NumFields() {
		return nil, fmt.Errorf("changelog aggregate: %d key columns of %d", cfg.Keys, cfg.In.NumFields())
	}
	if f := cfg.In.Field(cfg.Keys); f.Type.ID() != arrow.STRING {
		return nil, fmt.Errorf("changelog aggregate: column %d (%s) must be the change, a string, not %s", cfg.Keys, f.Name, f.Type)
	}
	for i := range cfg.Keys {
		if f := cfg.In.Field(i); !KeyType(f.Type) {
			return nil, fmt.Errorf("changelog aggregate: key column %q is %s, which cannot key a group", f.Name, f.Type)
		}
	}
	r := &RetractAgg{cfg: cfg, groups: map[string]*retractGroup{}, wm: MinWatermark}
	for _, c := range cfg.Calls {
		if c.Filter && (len(c.Args) == 0 || c.Args[len(c.Args)-1] < 0 || cfg.In.Field(c.Args[len(c.Args)-1]).Type.ID() != arrow.BOOL) {
			return nil, fmt.Errorf("changelog aggregate: %s: the FILTER condition is not a boolean column", c.Text)
		}
		kind, vkind, err := retractKindOf(c, cfg.In)
		if err != nil {
			return nil, fmt.Errorf("changelog aggregate: %w", err)
		}
		r.kinds, r.vkinds = append(r.kinds, kind), append(r.vkinds, vkind)
	}
	accs, err := newAccumulators(cfg.Calls)
	if err != nil {
		return nil, fmt.Errorf("changelog aggregate: %w", err)
	}
	r.accs = accs
	if cfg.Out != nil && cfg.Out.NumFields() != cfg.Keys+3+len(cfg.Calls) {
		return nil, fmt.Errorf("changelog aggregate: %d output columns, want %d", cfg.Out.NumFields(), cfg.Keys+3+len(cfg.Calls))
	}
	return r, nil
}

// ResultTypes are the types of the calls' results, in order.
func (r *RetractAgg) ResultTypes() []arrow.DataType {
	out := make([]arrow.DataType, len(r.accs))
	for i, a := range r.accs {
		out[i] = a.ResultType()
	}
	return out
}

// retractKindOf says how call c over input in keeps its state, and for min and max the type
// of its argument.
func retractKindOf(c AggCall, in *arrow.Schema) (retractKind, arrow.Type, error) {
	if c.Filter { // the condition is the last argument; the others are the call's own
		c.Args = c.Args[:len(c.Args)-1]
	}
	argType := func() (arrow.DataType, error) {
		if len(c.Args) != 1 || c.Args[0] < 0 || c.Args[0] >= in.NumFields() {
			return nil, fmt.Errorf("%s takes one column", c.Text)
		}
		return in.Field(c.Args[0]).Type, nil
	}
	name := strings.ToLower(c.Name)
	if name == "count" && (len(c.Args) == 0 || c.Args[0] < 0) {
		return retractCountStar, 0, nil
	}
	t, err := argType()
	if err != nil {
		return 0, 0, err
	}
	switch name {
	case "count":
		return retractCount, 0, nil
	case "count_if":
		if t.ID() != arrow.BOOL {
			return 0, 0, fmt.Errorf("%s takes true or false, not %s", c.Text, t)
		}
		return retractCountIf, 0, nil
	case "sum", "avg":
		switch t.ID() {
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.BOOL:
			return retractIntSum, 0, nil
		case arrow.FLOAT32, arrow.FLOAT64:
			return retractFloatSum, 0, nil
		case arrow.DECIMAL128:
			return retractDecimalSum, 0, nil
		}
	case "min", "max":
		switch t.ID() {
		case arrow.INT32, arrow.INT64, arrow.TIMESTAMP, arrow.DATE32, arrow.FLOAT64, arrow.DECIMAL128, arrow.STRING:
			return retractMinMax, t.ID(), nil
		}
	default:
		return 0, 0, fmt.Errorf("%s cannot take a row back: over a changelog, aggregates are count, count_if, sum, avg, min and max", c.Text)
	}
	return 0, 0, fmt.Errorf("%s over a changelog does not take %s", c.Text, t)
}

// Open keeps the allocator.
func (r *RetractAgg) Open(ctx Context) error {
	r.ctx = ctx
	r.ctx.Mem = allocator(ctx)
	return nil
}

// Keys is the number of groups held.
func (r *RetractAgg) Keys() int { return len(r.groups) }

// StateBytes estimates the memory of the groups held: their keys, states, and the values
// min and max keep.
func (r *RetractAgg) StateBytes() int64 {
	const perGroup, perCall = 16 + 8 + 24 + 48, 8 + 8 + 8 + 16 + 24
	return r.size + int64(len(r.groups))*(perGroup+int64(len(r.cfg.Calls))*perCall)
}

// sign reads the change of row i: +1 for a row added, -1 for a row taken back.
func sign(ops *array.String, i int) (int64, error) {
	if ops.IsNull(i) {
		return 0, fmt.Errorf("row %d has no change", i)
	}
	switch ops.Value(i) {
	case OpInsert, OpUpdateAfter:
		return 1, nil
	case OpUpdateBefore, OpDelete:
		return -1, nil
	}
	return 0, fmt.Errorf("row %d: change %q is none of %s, %s, %s, %s", i, ops.Value(i), OpInsert, OpUpdateBefore, OpUpdateAfter, OpDelete)
}

// Process adds or takes back each row of rec in its group and, with EmitUpdates, emits the
// results of the groups the batch changed.
func (r *RetractAgg) Process(_ int, rec arrow.RecordBatch, out Collector) error {
	defer rec.Release()
	if err := r.keyEnc.Reset(rec.Columns()[:r.cfg.Keys]); err != nil {
		return fmt.Errorf("changelog aggregate: %w", err)
	}
	ops := rec.Column(r.cfg.Keys).(*array.String)
	for i := range int(rec.NumRows()) {
		s, err := sign(ops, i)
		if err != nil {
			return fmt.Errorf("changelog aggregate: %w", err)
		}
		k := r.keyEnc.Key(i)
		g := r.groups[string(k)]
		if g == nil {
			g = &retractGroup{calls: make([]retractState, len(r.cfg.Calls))}
			r.groups[string(k)] = g
			r.size += int64(len(k))
		}
		if !g.touched {
			g.touched = true
			r.touched = append(r.touched, string(k))
		}
		g.rows += s
		if g.rows < 0 {
			return fmt.Errorf("changelog aggregate: key %x: row %d takes back a row the group does not hold", k, i)
		}
		for c := range r.cfg.Calls {
			if err := r.update(&g.calls[c], c, rec, i, s); err != nil {
				return fmt.Errorf("changelog aggregate: %s of key %x, row %d: %w", r.cfg.Calls[c].Text, k, i, err)
			}
		}
	}
	if !r.cfg.EmitUpdates {
		for _, k := range r.touched {
			r.groups[k].touched = false
			r.forget(k)
		}
		r.touched = r.touched[:0]
		return nil
	}
	return r.emitTouched(out)
}

// update adds (s = 1) or takes back (s = -1) row i's argument of call c in state st.
func (r *RetractAgg) update(st *retractState, c int, rec arrow.RecordBatch, i int, s int64) error {
	kind, call := r.kinds[c], r.cfg.Calls[c]
	if call.Filter {
		if cond := rec.Column(call.Args[len(call.Args)-1]).(*array.Boolean); !cond.IsValid(i) || !cond.Value(i) {
			return nil // the row is not among those the call aggregates
		}
	}
	if kind == retractCountStar {
		st.n += s
		return nil
	}
	col := rec.Column(call.Args[0])
	if col.IsNull(i) {
		return nil
	}
	switch kind {
	case retractCount:
		st.n += s
	case retractCountIf:
		if col.(*array.Boolean).Value(i) {
			st.n += s
		}
	case retractIntSum:
		v := intValue(col, i) * s
		sum := st.i + v
		if (sum^st.i)&(sum^v) < 0 {
			return fmt.Errorf("the sum leaves int64")
		}
		st.i, st.n = sum, st.n+s
	case retractFloatSum:
		st.f += floatValue(col, i) * float64(s)
		st.n += s
	case retractDecimalSum:
		v := col.(*array.Decimal128).Value(i)
		if s < 0 {
			v = v.Negate()
		}
		sum := st.d.Add(v)
		if !sum.FitsInPrecision(38) {
			return fmt.Errorf("the sum needs more than 38 digits")
		}
		st.d, st.n = sum, st.n+s
	case retractMinMax:
		return r.count(st, c, value(col, i), s)
	}
	if st.n < 0 {
		return fmt.Errorf("takes back a value the group does not hold")
	}
	return nil
}

// count adds s to the count of v among the values of state st of call c.
func (r *RetractAgg) count(st *retractState, c int, v topValue, s int64) error {
	kind := r.vkinds[c]
	at, found := slices.BinarySearchFunc(st.vals, v, func(x retractValue, v topValue) int { return compareValue(kind, x.v, v) })
	switch {
	case found:
		st.vals[at].n += s
		if st.vals[at].n == 0 {
			st.vals = slices.Delete(st.vals, at, at+1)
			r.size -= retractValueBytes + int64(len(v.s))
		}
	case s > 0:
		st.vals = slices.Insert(st.vals, at, retractValue{v: v.detached(), n: s})
		r.size += retractValueBytes + int64(len(v.s))
	default:
		return fmt.Errorf("takes back a value the group does not hold")
	}
	return nil
}

// compareValue orders two non-null values of type kind; floats order NaN above every
// number, as min and max do.
func compareValue(kind arrow.Type, a, b topValue) int {
	switch kind {
	case arrow.FLOAT64:
		if an, bn := math.IsNaN(a.f), math.IsNaN(b.f); an || bn {
			return cmp.Compare(btoi(an), btoi(bn))
		}
		return cmp.Compare(a.f, b.f)
	case arrow.DECIMAL128:
		return a.d.Cmp(b.d)
	case arrow.STRING:
		return cmp.Compare(a.s, b.s)
	}
	return cmp.Compare(a.i, b.i)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// intValue reads row i of an integer or boolean column (true is 1).
func intValue(col arrow.Array, i int) int64 {
	switch a := col.(type) {
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return int64(a.Value(i))
	case *array.Uint16:
		return int64(a.Value(i))
	case *array.Uint32:
		return int64(a.Value(i))
	case *array.Boolean:
		return int64(btoi(a.Value(i)))
	}
	return 0
}

// floatValue reads row i of a float column.
func floatValue(col arrow.Array, i int) float64 {
	if a, ok := col.(*array.Float32); ok {
		return float64(a.Value(i))
	}
	return col.(*array.Float64).Value(i)
}

// forget drops group k when it holds no rows.
func (r *RetractAgg) forget(k string) {
	if g := r.groups[k]; g.rows == 0 {
		delete(r.groups, k)
		r.size -= int64(len(k))
	}
}

// emitTouched emits the groups the batch changed and forgets those left without rows.
func (r *RetractAgg) emitTouched(out Collector) error {
	if len(r.touched) == 0 {
		return nil
	}
	keys := r.touched
	r.touched = r.touched[:0]
	if err := r.emit(keys, out); err != nil {
		return err
	}
	for _, k := range keys {
		r.groups[k].touched = false
		r.forget(k)
	}
	return nil
}

// Finish emits, without EmitUpdates, every group that holds rows, in the order of their
// keys' bytes.
func (r *RetractAgg) Finish(out Collector) error {
	if r.cfg.EmitUpdates {
		return nil
	}
	keys := make([]string, 0, len(r.groups))
	for k := range r.groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for len(keys) > 0 {
		n := min(len(keys), 4096)
		if err := r.emit(keys[:n], out); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// OnWatermark keeps the watermark, for snapshots.
func (r *RetractAgg) OnWatermark(wm int64, _ Collector) error {
	r.wm = max(r.wm, wm)
	return nil
}

// emit sends the results of the groups keys as one batch.
func (r *RetractAgg) emit(keys []string, out Collector) error {
	n := len(keys)
	cols := make([]arrow.Array, 0, r.cfg.Out.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	builders := make([]array.Builder, r.cfg.Keys)
	for i := range builders {
		builders[i] = array.NewBuilder(r.ctx.Mem, r.cfg.Out.Field(i).Type)
		defer builders[i].Release()
	}
	for _, k := range keys {
		if err := AppendKey([]byte(k), builders); err != nil {
			return fmt.Errorf("changelog aggregate: key %x: %w", k, err)
		}
	}
	for _, b := range builders {
		cols = append(cols, b.NewArray())
	}
	tb := array.NewTimestampBuilder(r.ctx.Mem, r.cfg.Out.Field(r.cfg.Keys).Type.(*arrow.TimestampType))
	defer tb.Release()
	for _, t := range []int64{window.WholeStart, window.WholeEnd} {
		for range n {
			tb.Append(arrow.Timestamp(t))
		}
		cols = append(cols, tb.NewArray())
	}
	r.ids = slices.Grow(r.ids[:0], n)[:n]
	for i := range r.ids {
		r.ids[i] = uint32(i)
	}
	for c, acc := range r.accs {
		res, err := r.result(c, acc, keys)
		if err != nil {
			return fmt.Errorf("changelog aggregate: %s: %w", r.cfg.Calls[c].Text, err)
		}
		cols = append(cols, res)
	}
	live := array.NewBooleanBuilder(r.ctx.Mem)
	defer live.Release()
	for _, k := range keys {
		live.Append(r.groups[k].rows > 0)
	}
	cols = append(cols, live.NewArray())
	rec := array.NewRecordBatch(r.cfg.Out, cols, int64(n))
	return out.Collect(rec)
}

// result computes call c's results for the groups keys: their states, written as the
// partial states of acc, merged into it and finalised.
func (r *RetractAgg) result(c int, acc agg.Accumulator, keys []string) (arrow.Array, error) {
	b := array.NewBuilder(r.ctx.Mem, acc.StateType())
	defer b.Release()
	for _, k := range keys {
		if err := r.appendState(b, c, &r.groups[k].calls[c]); err != nil {
			return nil, err
		}
	}
	states := b.NewArray()
	defer states.Release()
	ids := r.ids[:len(keys)]
	if err := acc.MergePartial(ids, states); err != nil {
		return nil, err
	}
	defer acc.Reset(ids)
	return acc.Final(ids)
}

// appendState appends state st of call c as package agg encodes it.
func (r *RetractAgg) appendState(b array.Builder, c int, st *retractState) error {
	switch r.kinds[c] {
	case retractCountStar, retractCount, retractCountIf:
		b.(*array.Int64Builder).Append(st.n)
		return nil
	case retractMinMax:
		if len(st.vals) == 0 {
			b.AppendNull()
			return nil
		}
		v := st.vals[0].v
		if strings.EqualFold(r.cfg.Calls[c].Name, "max") {
			v = st.vals[len(st.vals)-1].v
		}
		return appendValue(b, v)
	}
	sb, ok := b.(*array.StructBuilder)
	if !ok || sb.NumField() != 2 {
		return fmt.Errorf("state type %s is not struct<sum, count>", b.Type())
	}
	sb.Append(true)
	switch r.kinds[c] {
	case retractIntSum:
		sb.FieldBuilder(0).(*array.Int64Builder).Append(st.i)
	case retractFloatSum:
		sb.FieldBuilder(0).(*array.Float64Builder).Append(st.f)
	case retractDecimalSum:
		sb.FieldBuilder(0).(*array.Decimal128Builder).Append(st.d)
	}
	sb.FieldBuilder(1).(*array.Int64Builder).Append(st.n)
	return nil
}

// appendValue appends v to a builder of its type.
func appendValue(b array.Builder, v topValue) error {
	switch b := b.(type) {
	case *array.Int32Builder:
		b.Append(int32(v.i))
	case *array.Int64Builder:
		b.Append(v.i)
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(v.i))
	case *array.Date32Builder:
		b.Append(arrow.Date32(v.i))
	case *array.Float64Builder:
		b.Append(v.f)
	case *array.Decimal128Builder:
		b.Append(v.d)
	case *array.StringBuilder:
		b.Append(v.s)
	default:
		return fmt.Errorf("min and max do not hold %s", b.Type())
	}
	return nil
}

// Close releases nothing: the operator builds its output batch by batch.
func (r *RetractAgg) Close() error { return nil }

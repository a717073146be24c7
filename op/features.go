package op

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"millrace/take"
)

// Features adds feature columns to every input row: figures of the rows of the same key
// that came before it in event time. It emits one row per input row, the input's columns
// followed by one column per feature call, not windowed output.
//
// Order. Rows are held until the watermark passes them (event time < watermark), then each
// key's rows are taken in event-time order, so that what a row sees does not depend on the
// order rows arrived in, nor on the parallelism. Rows of one key with the same event time are
// peers: each sees the range with all of them in it, and the running figures as they stood
// before any of them; the running figures then take them in the order of their argument
// values, so floating-point sums are the same whatever order the peers arrived in.
//
// Range features (count, count_if, sum, avg, count_distinct) cover the key's rows with event
// time in (t - Range, t], t the row's own: the row and its peers are in. Running features
// (zscore, first_seen, seconds_since_prev, km_from_prev, kmh_from_prev) see every earlier row
// of the key, forgotten when TTL (if set) or more passes between two of its rows.
//
// State. A key's range rows are dropped as they leave the range, and a key is forgotten
// once the watermark shows no later row could see anything it holds. A checkpoint keeps the
// keys' state and the rows not yet emitted, by key, so it can move by key group.
type Features struct {
	Base
	cfg    FeaturesConfig
	calls  []featCall
	out    *arrow.Schema
	ctx    Context
	rangeM int64 // Range in milliseconds, 0 with Rows
	rowsN  int   // Rows, 0 with Range
	ttlM   int64 // TTL in milliseconds, 0 for none
	fp     string

	keyEnc  KeyEncoder
	argEnc  KeyEncoder
	slots   map[string]uint32
	keys    []featKey
	free    []uint32
	pend    []*featBatch
	running bool // some call keeps running figures

	lastSweep int64
	sizes     featSizes
	kept      featCopy // the keys' state as the captures copied it; its mu guards the state

	// Buffers of one emission.
	refs  []featRef
	order []uint64
	run   []int32
	res   []featRes
}

// FeaturesConfig says what a Features computes.
type FeaturesConfig struct {
	// In is the schema of the input rows; their first Pass columns (all of them when Pass is
	// 0) pass through first in the output, the others being there for the calls' arguments.
	In   *arrow.Schema
	Pass int
	// Keys are the input columns of the key; Time the input column of the event time, a
	// timestamp in milliseconds.
	Keys []int
	Time int
	// Range is how far back range features look; TTL, when not zero, how long a key's
	// running figures outlive its last row.
	Range, TTL time.Duration
	// Rows, instead of Range, makes range features cover the key's last Rows rows, the row
	// included: each row of the key in event-time order (rows at one event time in the
	// order of their argument values) sees the rows before it, one by one, peers included.
	// The frame's rows are kept for the whole run, or with TTL until TTL passes after the
	// key's last row.
	Rows int
	// Calls are the feature columns, in output order.
	Calls []FeatureCall
}

// FeatureCall is one feature column.
type FeatureCall struct {
	// Name is the output column's.
	Name string
	// Func is the feature function (count, count_if, sum, avg, count_distinct, zscore,
	// first_seen, seconds_since_prev, km_from_prev, kmh_from_prev); Star marks count(*).
	Func string
	Star bool
	// Args compute the function's arguments from input rows, ArgTypes being their types.
	Args     []Evaluator
	ArgTypes []arrow.DataType
	// Text is the call as written, for errors.
	Text string
}

// featKind is what a feature call computes.
type featKind uint8

const (
	fCount featKind = iota
	fCountIf
	fSum
	fAvg
	fCountDistinct
	fZScore
	fFirstSeen
	fSecondsSincePrev
	fKmFromPrev
	fKmhFromPrev
)

// windowed tells the range features from the running ones.
func (k featKind) windowed() bool { return k <= fCountDistinct }

// featCall is a FeatureCall as the operator runs it.
type featCall struct {
	FeatureCall
	kind  featKind
	exact bool  // sum and avg of integers and decimals: exact, in decimal128
	isInt bool  // exact sums of integers, emitted as int64
	scale int32 // of exact values
	st    featState
	// same is an earlier call whose argument values this one's are, or -1.
	same int
}

// repr says how a call keeps its argument values: calls with the same arguments and repr
// share them.
func (c *featCall) repr() int {
	switch c.kind {
	case fCountIf:
		return 1
	case fSum, fAvg:
		if c.exact {
			return 2
		}
		return 3
	case fZScore, fKmFromPrev, fKmhFromPrev:
		return 3
	case fCountDistinct, fFirstSeen:
		return 4
	}
	return 0
}

// sameArgs reports whether two calls compute the same argument values: the same evaluators
// kept the same way.
func sameArgs(a, b *featCall) bool {
	if a.repr() != b.repr() || len(a.Args) != len(b.Args) || len(a.Args) == 0 {
		return false
	}
	for i := range a.Args {
		x, y := a.Args[i], b.Args[i]
		if t := reflect.TypeOf(x); t != reflect.TypeOf(y) || !t.Comparable() || x != y {
			return false
		}
	}
	return true
}

// featureFuncs maps the names of the feature functions to their kinds and argument counts.
var featureFuncs = map[string]struct {
	kind featKind
	args int
}{
	"count": {fCount, 0}, "count_if": {fCountIf, 1}, "sum": {fSum, 1}, "avg": {fAvg, 1},
	"count_distinct": {fCountDistinct, 1}, "zscore": {fZScore, 1}, "first_seen": {fFirstSeen, 1},
	"seconds_since_prev": {fSecondsSincePrev, 0}, "km_from_prev": {fKmFromPrev, 2}, "kmh_from_prev": {fKmhFromPrev, 2},
}

// IsFeatureFunc reports whether name is a feature function of a Features.
func IsFeatureFunc(name string) bool {
	_, ok := featureFuncs[strings.ToLower(name)]
	return ok
}

// FeatureFuncs lists the feature functions, for messages.
func FeatureFuncs() []string {
	names := make([]string, 0, len(featureFuncs))
	for n := range featureFuncs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// NewFeatures checks cfg and returns a Features.
func NewFeatures(cfg FeaturesConfig) (*Features, error) {
	switch {
	case cfg.Rows < 0:
		return nil, fmt.Errorf("features: rows must be 1 or more, got %d", cfg.Rows)
	case cfg.Rows > 0 && cfg.Range != 0:
		return nil, fmt.Errorf("features: a frame of rows (%d) or a range (%s), not both", cfg.Rows, cfg.Range)
	case cfg.Rows == 0 && cfg.Range <= 0:
		return nil, fmt.Errorf("features: range must be longer than 0, got %s", cfg.Range)
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("features: ttl must not be negative, got %s", cfg.TTL)
	}
	if len(cfg.Keys) == 0 {
		return nil, fmt.Errorf("features: no key columns")
	}
	if cfg.Time < 0 || cfg.Time >= cfg.In.NumFields() {
		return nil, fmt.Errorf("features: no event time column %d among %d", cfg.Time, cfg.In.NumFields())
	}
	if tt, ok := cfg.In.Field(cfg.Time).Type.(*arrow.TimestampType); !ok || tt.Unit != arrow.Millisecond {
		return nil, fmt.Errorf("features: the event time %q is %s, not a timestamp in milliseconds", cfg.In.Field(cfg.Time).Name, cfg.In.Field(cfg.Time).Type)
	}
	if cfg.Pass <= 0 || cfg.Pass > cfg.In.NumFields() {
		cfg.Pass = cfg.In.NumFields()
	}
	f := &Features{cfg: cfg, rangeM: cfg.Range.Milliseconds(), rowsN: cfg.Rows, ttlM: cfg.TTL.Milliseconds(), slots: map[string]uint32{}, lastSweep: MinWatermark}
	f.kept.gen = 1
	fields := slices.Clone(cfg.In.Fields()[:cfg.Pass])
	fpParts := []string{"features", schemaString(cfg.In), fmt.Sprint(cfg.Keys, cfg.Time, cfg.Pass, f.rangeM, f.ttlM)}
	if f.rowsN > 0 {
		fpParts = append(fpParts, fmt.Sprintf("rows %d", f.rowsN))
	}
	for _, c := range cfg.Calls {
		fc, t, err := newFeatCall(c)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(fields, func(f arrow.Field) bool { return f.Name == c.Name }) {
			return nil, fmt.Errorf("feature %s: the output already has a column %q", c.Text, c.Name)
		}
		fc.same = -1
		for j := range f.calls {
			if sameArgs(&f.calls[j], &fc) {
				fc.same = j
				break
			}
		}
		f.calls = append(f.calls, fc)
		f.running = f.running || !fc.kind.windowed()
		fields = append(fields, arrow.Field{Name: c.Name, Type: t, Nullable: true})
		types := make([]string, len(c.ArgTypes))
		for i, at := range c.ArgTypes {
			types[i] = at.String()
		}
		fpParts = append(fpParts, strings.ToLower(c.Func), strings.Join(types, ","))
	}
	f.out = arrow.NewSchema(fields, nil)
	f.fp = fingerprint(fpParts...)
	return f, nil
}

// newFeatCall checks a call's function and argument types, and returns its result type.
func newFeatCall(c FeatureCall) (featCall, arrow.DataType, error) {
	fn, ok := featureFuncs[strings.ToLower(c.Func)]
	if !ok {
		return featCall{}, nil, fmt.Errorf("feature %s: unknown function %q (feature functions: %s)", c.Text, c.Func, strings.Join(FeatureFuncs(), ", "))
	}
	fc := featCall{FeatureCall: c, kind: fn.kind}
	want := fn.args
	if fc.kind == fCount && !c.Star {
		return fc, nil, fmt.Errorf("feature %s: count takes *, as in count(*); count rows that match with count_if", c.Text)
	}
	if len(c.Args) != want || len(c.ArgTypes) != want {
		return fc, nil, fmt.Errorf("feature %s: %s takes %d argument(s), got %d", c.Text, fn2(c.Func), want, len(c.Args))
	}
	bad := func(i int, what string) error {
		return fmt.Errorf("feature %s: argument %d is %s; %s takes %s", c.Text, i+1, c.ArgTypes[i], fn2(c.Func), what)
	}
	switch fc.kind {
	case fCount, fCountDistinct:
		if fc.kind == fCountDistinct && !keyable(c.ArgTypes[0]) {
			return fc, nil, bad(0, "a string, integer, decimal, boolean, date, timestamp or float64")
		}
		return fc, arrow.PrimitiveTypes.Int64, nil
	case fCountIf:
		if c.ArgTypes[0].ID() != arrow.BOOL {
			return fc, nil, bad(0, "a condition (true or false)")
		}
		return fc, arrow.PrimitiveTypes.Int64, nil
	case fSum, fAvg:
		switch t := c.ArgTypes[0].(type) {
		case *arrow.Int32Type, *arrow.Int64Type, *arrow.BooleanType:
			fc.exact, fc.isInt = true, true
		case *arrow.Decimal128Type:
			fc.exact, fc.scale = true, t.Scale
		case *arrow.Float64Type:
		default:
			return fc, nil, bad(0, "a number or a boolean")
		}
		if fc.kind == fAvg {
			return fc, arrow.PrimitiveTypes.Float64, nil
		}
		switch {
		case fc.isInt:
			return fc, arrow.PrimitiveTypes.Int64, nil
		case fc.exact:
			return fc, &arrow.Decimal128Type{Precision: 38, Scale: fc.scale}, nil
		}
		return fc, arrow.PrimitiveTypes.Float64, nil
	case fZScore:
		if !numeric(c.ArgTypes[0]) {
			return fc, nil, bad(0, "a number")
		}
		return fc, arrow.PrimitiveTypes.Float64, nil
	case fFirstSeen:
		if !keyable(c.ArgTypes[0]) {
			return fc, nil, bad(0, "a string, integer, decimal, boolean, date, timestamp or float64")
		}
		return fc, arrow.FixedWidthTypes.Boolean, nil
	case fKmFromPrev, fKmhFromPrev:
		for i := range 2 {
			if !numeric(c.ArgTypes[i]) {
				return fc, nil, bad(i, "latitude and longitude in degrees")
			}
		}
	}
	return fc, arrow.PrimitiveTypes.Float64, nil
}

func fn2(name string) string { return strings.ToLower(name) }

func numeric(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT32, arrow.INT64, arrow.FLOAT64, arrow.DECIMAL128:
		return true
	}
	return false
}

func keyable(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.INT32, arrow.INT64, arrow.TIMESTAMP, arrow.DATE32, arrow.BOOL, arrow.FLOAT64, arrow.DECIMAL128:
		return true
	}
	return false
}

// Schema is the schema of the rows a Features emits: the input's columns, then the features.
func (f *Features) Schema() *arrow.Schema { return f.out }

// StateFingerprint names the keys, range, ttl, functions and input columns.
func (f *Features) StateFingerprint() string { return f.fp }

// Open keeps the context.
func (f *Features) Open(ctx Context) error { f.ctx = ctx; return nil }

// featBatch is an input batch some of whose rows wait for the watermark.
type featBatch struct {
	rec  arrow.RecordBatch
	slot []uint32
	ts   []int64
	args []featArgs // per call
	left []int32    // rows not yet emitted, ascending
	min  int64      // least and greatest event time of left
	max  int64
	// bytes estimates the memory of the batch and its arguments.
	bytes int64
	// arrived is the Context's Hold mark of the batch's arrival.
	arrived int64
}

// featArgs holds a call's argument values for the rows of one batch, by row.
type featArgs struct {
	f, g []float64 // float values; latitude and longitude
	d    []decimal128.Num
	s    []string // values of count_distinct and first_seen, as key bytes
	ok   []bool   // the value is not null; for count_if, the condition is true
}

// Process holds the rows of rec until the watermark passes them.
func (f *Features) Process(_ int, rec arrow.RecordBatch, _ Collector) error {
	if rec.NumRows() == 0 {
		rec.Release()
		return nil
	}
	return f.add(rec)
}

// add takes rec, whose columns are the input's, into the pending rows.
func (f *Features) add(rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	b := &featBatch{rec: rec, slot: make([]uint32, n), ts: make([]int64, n), args: make([]featArgs, len(f.calls)), left: make([]int32, n)}
	for i := range b.left {
		b.left[i] = int32(i)
	}
	for i, c := range f.calls {
		if j := f.calls[i].same; j >= 0 {
			b.args[i] = b.args[j] // read only: the calls share their values
			continue
		}
		if err := f.evalArgs(rec, &f.calls[i], &b.args[i]); err != nil {
			rec.Release()
			return fmt.Errorf("feature %s: %w", c.Text, err)
		}
	}
	cols := make([]arrow.Array, len(f.cfg.Keys))
	for i, k := range f.cfg.Keys {
		cols[i] = rec.Column(k)
	}
	if err := f.keyEnc.Reset(cols); err != nil {
		rec.Release()
		return fmt.Errorf("features: key: %w", err)
	}
	ts := rec.Column(f.cfg.Time).(*array.Timestamp)
	b.min, b.max = math.MaxInt64, math.MinInt64
	f.kept.mu.Lock()
	for i := range n {
		s := f.slot(f.keyEnc.Key(i))
		f.keys[s].pending++
		b.slot[i] = s
		t := int64(ts.Value(i))
		b.ts[i] = t
		b.min, b.max = min(b.min, t), max(b.max, t)
	}
	f.kept.mu.Unlock()
	f.pend = append(f.pend, b)
	if f.ctx.Hold != nil {
		b.arrived = f.ctx.Hold.Arrived()
	}
	b.bytes = int64(recBytes(rec)) + int64(n)*(4+8+4)
	for i, a := range b.args {
		if f.calls[i].same >= 0 {
			continue
		}
		b.bytes += int64(len(a.ok) + 8*(len(a.f)+len(a.g)) + 16*(len(a.d)+len(a.s)))
		for _, v := range a.s {
			b.bytes += int64(len(v))
		}
	}
	f.sizes.pending += b.bytes
	return nil
}

// evalArgs computes the arguments of call c over rec into a.
func (f *Features) evalArgs(rec arrow.RecordBatch, c *featCall, a *featArgs) error {
	if len(c.Args) == 0 {
		return nil
	}
	n := int(rec.NumRows())
	vals := make([]arrow.Array, len(c.Args))
	defer func() {
		for _, v := range vals {
			if v != nil {
				v.Release()
			}
		}
	}()
	for i, e := range c.Args {
		v, err := e.Eval(rec)
		if err != nil {
			return err
		}
		vals[i] = v
	}
	a.ok = make([]bool, n)
	switch c.kind {
	case fCountIf:
		b := vals[0].(*array.Boolean)
		for i := range n {
			a.ok[i] = b.IsValid(i) && b.Value(i)
		}
	case fSum, fAvg:
		if c.exact {
			a.d = make([]decimal128.Num, n)
			exactValues(vals[0], a.d, a.ok)
		} else {
			a.f = make([]float64, n)
			floatValues(vals[0], a.f, a.ok)
		}
	case fZScore:
		a.f = make([]float64, n)
		floatValues(vals[0], a.f, a.ok)
	case fKmFromPrev, fKmhFromPrev:
		a.f, a.g = make([]float64, n), make([]float64, n)
		okLon := make([]bool, n)
		floatValues(vals[0], a.f, a.ok)
		floatValues(vals[1], a.g, okLon)
		for i := range n {
			a.ok[i] = a.ok[i] && okLon[i]
		}
	case fCountDistinct, fFirstSeen:
		a.s = make([]string, n)
		if s, ok := vals[0].(*array.String); ok {
			for i := range n {
				if a.ok[i] = s.IsValid(i); a.ok[i] {
					a.s[i] = strings.Clone(s.Value(i))
				}
			}
			break
		}
		if err := f.argEnc.Reset(vals[:1]); err != nil {
			return err
		}
		for i := range n {
			if a.ok[i] = vals[0].IsValid(i); a.ok[i] {
				a.s[i] = string(f.argEnc.Key(i))
			}
		}
	}
	return nil
}

// floatValues writes the values of a numeric array as float64s, and which are not null.
func floatValues(v arrow.Array, out []float64, ok []bool) {
	for i := range out {
		ok[i] = v.IsValid(i)
	}
	switch a := v.(type) {
	case *array.Float64:
		copy(out, a.Float64Values())
	case *array.Int64:
		for i, x := range a.Int64Values() {
			out[i] = float64(x)
		}
	case *array.Int32:
		for i, x := range a.Int32Values() {
			out[i] = float64(x)
		}
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		for i := range out {
			out[i] = a.Value(i).ToFloat64(scale)
		}
	}
}

// exactValues writes the values of an integer or decimal array as decimal128s.
func exactValues(v arrow.Array, out []decimal128.Num, ok []bool) {
	for i := range out {
		ok[i] = v.IsValid(i)
	}
	switch a := v.(type) {
	case *array.Decimal128:
		copy(out, a.Values())
	case *array.Int64:
		for i, x := range a.Int64Values() {
			out[i] = decimal128.FromI64(x)
		}
	case *array.Int32:
		for i, x := range a.Int32Values() {
			out[i] = decimal128.FromI64(int64(x))
		}
	case *array.Boolean:
		for i := range out {
			if a.Value(i) {
				out[i] = decimal128.FromI64(1)
			}
		}
	}
}

// recBytes is the bytes of a batch's buffers.
func recBytes(rec arrow.RecordBatch) int {
	n := 0
	for _, c := range rec.Columns() {
		n += dataSize(c.Data())
	}
	return n
}

// OnWatermark emits the rows the watermark passed, with their features, and forgets keys
// no later row could see.
func (f *Features) OnWatermark(wm int64, out Collector) error {
	if err := f.emit(wm, false, out); err != nil {
		return err
	}
	f.kept.mu.Lock()
	f.sweep(wm)
	f.kept.mu.Unlock()
	return nil
}

// Finish emits every row still held: the input has ended.
func (f *Features) Finish(out Collector) error {
	return f.emit(math.MaxInt64, true, out)
}

// Close releases the rows still held.
func (f *Features) Close() error {
	for _, b := range f.pend {
		b.rec.Release()
	}
	f.pend = nil
	return nil
}

// featRef is a row of a pending batch: batch index and row.
type featRef struct{ b, i int32 }

// emit computes the features of the pending rows with event time before limit (all of them
// when all is set) and sends them on, batch by batch in arrival order.
func (f *Features) emit(limit int64, all bool, out Collector) error {
	f.refs = f.refs[:0]
	type part struct {
		b      int
		lo, hi int
		rows   []int32
	}
	var parts []part
	for bi, b := range f.pend {
		if !all && b.min >= limit {
			continue
		}
		lo := len(f.refs)
		var rows []int32
		if all || b.max < limit {
			rows = b.left
			b.left = nil
		} else {
			keep := b.left[:0:0]
			b.min, b.max = math.MaxInt64, math.MinInt64
			for _, r := range b.left {
				if t := b.ts[r]; t < limit {
					rows = append(rows, r)
				} else {
					keep = append(keep, r)
					b.min, b.max = min(b.min, t), max(b.max, t)
				}
			}
			b.left = keep
		}
		for _, r := range rows {
			f.refs = append(f.refs, featRef{int32(bi), r})
		}
		parts = append(parts, part{bi, lo, len(f.refs), rows})
	}
	if len(f.refs) == 0 {
		return nil
	}
	f.kept.mu.Lock()
	err := f.compute()
	f.kept.mu.Unlock()
	if err != nil {
		return err
	}
	featCols, err := f.resultArrays()
	if err != nil {
		return err
	}
	defer releaseAll(featCols)
	for _, p := range parts {
		b := f.pend[p.b]
		if f.ctx.Hold != nil {
			f.ctx.Hold.Released(b.arrived, len(p.rows))
		}
		pass, err := take.Rows(b.rec, p.rows)
		if err != nil {
			return fmt.Errorf("features: %w", err)
		}
		cols := make([]arrow.Array, 0, f.out.NumFields())
		cols = append(cols, pass.Columns()[:f.cfg.Pass]...)
		var slices []arrow.Array
		for _, c := range featCols {
			s := array.NewSlice(c, int64(p.lo), int64(p.hi))
			slices = append(slices, s)
			cols = append(cols, s)
		}
		rec := array.NewRecordBatch(f.out, cols, int64(p.hi-p.lo))
		pass.Release()
		releaseAll(slices)
		if err := out.Collect(rec); err != nil {
			return err
		}
	}
	kept := f.pend[:0]
	for _, b := range f.pend {
		if len(b.left) > 0 {
			kept = append(kept, b)
			continue
		}
		f.sizes.pending -= b.bytes
		b.rec.Release()
	}
	clear(f.pend[len(kept):])
	f.pend = kept
	return nil
}

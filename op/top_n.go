package op

import (
	"bytes"
	"cmp"
	"fmt"
	"iter"
	"math"
	"sort"
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
	kinds []arrow.Type // of the ranking columns: By, then the Then columns
	descs []bool       // of the ranking columns
	ctx   Context
	out   *arrow.Schema
	wm    int64

	// The state holds no pointer per partition or row. A partition (by its key's id) owns
	// a run of row slots, in rank order; a slot has its row's bytes in rows and its ranking
	// values in vals (len(kinds) per slot), whose strings are in strs.
	keys  keyIndex
	parts []topPart        // by key id
	slots pagedSlice[span] // by slot: the row, as KeyEncoder encodes its columns, in rows
	vals  pagedSlice[rankValue]
	holes int // slots of runs that partitions left as they grew, or skipped
	rows  byteArena
	strs  byteArena

	keyEnc, rowEnc KeyEncoder
	rank           []arrow.Array // the ranking columns of the batch being ranked
	cand           []rankValue   // the ranking values of the row being ranked
	b              *array.RecordBuilder
	emitted        int
}

// topPart is a partition's run of slots: at is its first, n the rows it holds, room the
// slots it owns.
type topPart struct {
	at      int
	n, room int32
}

// rankValue is a ranking value that holds no pointer: an integer, timestamp or date in lo,
// a float64's bits in lo, a decimal's low and high bits in lo and hi, a string's place in
// TopN.strs in lo (chunk and offset) and hi (length).
type rankValue struct {
	lo, hi uint64
	null   bool
}

// topValue is a ranking value as read from a batch (see value) and as the changelog
// aggregate keeps it; which field holds it depends on the column's type.
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
	for _, c := range append([]int{cfg.By}, thenColumns(cfg.Then)...) {
		if c < 0 || c >= cfg.In.NumFields() {
			return nil, fmt.Errorf("top: the rows have no column %d to rank by", c)
		}
		switch t := cfg.In.Field(c).Type; t.ID() {
		case arrow.INT32, arrow.INT64, arrow.TIMESTAMP, arrow.DATE32, arrow.FLOAT64, arrow.DECIMAL128, arrow.STRING:
			kinds = append(kinds, t.ID())
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
	descs := []bool{cfg.Desc}
	for _, o := range cfg.Then {
		descs = append(descs, o.Desc)
	}
	t := &TopN{cfg: cfg, kinds: kinds, descs: descs, out: arrow.NewSchema(fields, nil), keys: newKeyIndex(), wm: MinWatermark}
	t.slots, t.vals = t.newSlots()
	return t, nil
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

// newSlots returns empty slots and ranking values for them, in pages of at least 4096
// slots and at least N, so that a partition's run fits in one page.
func (t *TopN) newSlots() (pagedSlice[span], pagedSlice[rankValue]) {
	page := max(4096, t.cfg.N)
	return newPagedSlice[span](page, 1), newPagedSlice[rankValue](page, len(t.kinds))
}

// StateBytes estimates the memory of the rows kept and their partitions' keys.
func (t *TopN) StateBytes() int64 {
	const perPart, perSlot, perValue = 16, 12, 24
	return t.keys.sizeBytes() + int64(cap(t.parts))*perPart + t.slots.sizeBytes(perSlot) +
		t.vals.sizeBytes(perValue) + t.rows.sizeBytes() + t.strs.sizeBytes()
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

// compareRanks compares ranking values a and b (one per ranking column): negative when
// a ranks before b, positive after it, zero when they are equal.
func (t *TopN) compareRanks(a, b []rankValue) int {
	for c, kind := range t.kinds {
		if r := t.compareRank(kind, t.descs[c], a[c], b[c]); r != 0 {
			return r
		}
	}
	return 0
}

// compareRank ranks values of a column of type kind: nulls last, then the largest first
// when desc, else the smallest.
func (t *TopN) compareRank(kind arrow.Type, desc bool, a, b rankValue) int {
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
		c = cmp.Compare(math.Float64frombits(a.lo), math.Float64frombits(b.lo))
	case arrow.DECIMAL128:
		c = decimal128.New(int64(a.hi), a.lo).Cmp(decimal128.New(int64(b.hi), b.lo))
	case arrow.STRING:
		c = bytes.Compare(t.strs.bytes(a.str()), t.strs.bytes(b.str()))
	default:
		c = cmp.Compare(int64(a.lo), int64(b.lo))
	}
	if desc {
		return -c
	}
	return c
}

// str is the place of a string value in TopN.strs.
func (v rankValue) str() span {
	return span{chunk: uint32(v.lo >> 32), off: uint32(v.lo), n: uint32(v.hi)}
}

// rankValueOf is the rankValue of the string at s in TopN.strs.
func rankValueOf(s span) rankValue {
	return rankValue{lo: uint64(s.chunk)<<32 | uint64(s.off), hi: uint64(s.n)}
}

// ranked turns v, a value of a column of type kind, into a rankValue; a string is copied
// into t.strs.
func (t *TopN) ranked(kind arrow.Type, v topValue) rankValue {
	switch {
	case v.null:
		return rankValue{null: true}
	case kind == arrow.FLOAT64:
		return rankValue{lo: math.Float64bits(v.f)}
	case kind == arrow.DECIMAL128:
		return rankValue{lo: v.d.LowBits(), hi: uint64(v.d.HighBits())}
	case kind == arrow.STRING:
		return rankValueOf(t.strs.add([]byte(v.s)))
	}
	return rankValue{lo: uint64(v.i)}
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
	t.rank = append(t.rank[:0], rec.Column(t.cfg.By))
	for _, o := range t.cfg.Then {
		t.rank = append(t.rank, rec.Column(o.Col))
	}
	for i := range int(rec.NumRows()) {
		mark := t.strs.mark()
		t.cand = t.cand[:0]
		for c, col := range t.rank {
			t.cand = append(t.cand, t.ranked(t.kinds[c], value(col, i)))
		}
		k := t.keyEnc.Key(i)
		id, ok := t.keys.find(k)
		if ok && int(t.parts[id].n) == t.cfg.N && t.compareRanks(t.slotValues(t.parts[id].at+t.cfg.N-1), t.cand) < 0 {
			t.strs.truncate(mark) // ranked after every row kept: the row is not encoded
			continue
		}
		if !ok {
			id = t.partition(k)
		}
		entered, err := t.add(id, t.rowEnc.Key(i))
		if err != nil {
			return err
		}
		if !entered {
			t.strs.truncate(mark)
		}
	}
	t.compact()
	return t.flush(out)
}

// partition gives key k an empty partition and returns its id.
func (t *TopN) partition(k []byte) uint32 {
	id, _ := t.keys.intern(k)
	if int(id) == len(t.parts) {
		t.parts = append(t.parts, topPart{})
	}
	return id
}

// slotValues returns the ranking values of slot j.
func (t *TopN) slotValues(j int) []rankValue { return t.vals.run(j, 1) }

// compareSlot ranks slot j against a row with ranking values vals and bytes row: by the
// values, then by the bytes.
func (t *TopN) compareSlot(j int, vals []rankValue, row []byte) int {
	if c := t.compareRanks(t.slotValues(j), vals); c != 0 {
		return c
	}
	return bytes.Compare(t.rows.bytes(*t.slots.at(j)), row)
}

// add ranks row, whose ranking values are t.cand, into the top rows of partition id, after
// every row ranked before it or equal to it (an equal row does not displace another), emits
// the changes and reports whether the row entered.
func (t *TopN) add(id uint32, row []byte) (bool, error) {
	p := &t.parts[id]
	at := sort.Search(int(p.n), func(j int) bool { return t.compareSlot(p.at+j, t.cand, row) > 0 })
	if at >= t.cfg.N {
		return false, nil
	}
	if last := p.at + int(p.n) - 1; int(p.n) == t.cfg.N {
		if err := t.emit(OpDelete, t.rows.bytes(*t.slots.at(last))); err != nil {
			return false, err
		}
		t.drop(last)
		p.n--
	}
	t.place(id, at, row)
	return true, t.emit(OpInsert, row)
}

// place puts row, whose ranking values are t.cand, at rank at of partition id, behind the
// rows ranked before it, growing the partition's run if it is full.
func (t *TopN) place(id uint32, at int, row []byte) {
	p := &t.parts[id]
	if p.n == p.room {
		t.grow(p)
	}
	n, w := int(p.n), len(t.kinds)
	slots, vals := t.slots.run(p.at, n+1), t.vals.run(p.at, n+1)
	copy(slots[at+1:], slots[at:n])
	copy(vals[(at+1)*w:], vals[at*w:n*w])
	slots[at] = t.rows.add(row)
	copy(vals[at*w:], t.cand)
	p.n++
}

// drop counts the bytes of slot j's row and strings as dead.
func (t *TopN) drop(j int) {
	t.rows.drop(*t.slots.at(j))
	for c, v := range t.slotValues(j) {
		if t.kinds[c] == arrow.STRING && !v.null {
			t.strs.drop(v.str())
		}
	}
}

// grow moves p's run to a new one with twice the room (and at most N).
func (t *TopN) grow(p *topPart) {
	room := min(max(2*p.room, 2), int32(t.cfg.N))
	t.move(p, room, &t.slots, &t.vals)
	t.holes += int(p.room)
	p.room = room
}

// move copies p's rows to a new run of room slots in slots and vals, and points p at it.
func (t *TopN) move(p *topPart, room int32, slots *pagedSlice[span], vals *pagedSlice[rankValue]) {
	at, skipped := slots.alloc(int(room))
	vals.alloc(int(room))
	copy(slots.run(at, int(p.n)), t.slots.run(p.at, int(p.n)))
	copy(vals.run(at, int(p.n)), t.vals.run(p.at, int(p.n)))
	t.holes += skipped
	p.at = at
}

// kept yields the slots of the rows kept, partition by partition in order of id.
func (t *TopN) kept() iter.Seq[int] {
	return func(yield func(int) bool) {
		for _, p := range t.parts {
			for j := p.at; j < p.at+int(p.n); j++ {
				if !yield(j) {
					return
				}
			}
		}
	}
}

// compact moves the runs, rows and strings into fresh pages and arenas once the runs
// partitions left behind as they grew, or the rows and strings pushed out, fill over half.
func (t *TopN) compact() {
	if t.holes > 1024 && 2*t.holes > t.slots.len() {
		slots, vals := t.newSlots()
		t.holes = 0
		for i := range t.parts {
			t.move(&t.parts[i], t.parts[i].room, &slots, &vals)
		}
		t.slots, t.vals = slots, vals
	}
	if t.rows.wasteful() {
		t.rows.compact(func(move func(span) span) {
			for j := range t.kept() {
				s := t.slots.at(j)
				*s = move(*s)
			}
		})
	}
	if t.strs.wasteful() {
		t.strs.compact(func(move func(span) span) {
			for j := range t.kept() {
				vals := t.slotValues(j)
				for c, v := range vals {
					if t.kinds[c] == arrow.STRING && !v.null {
						vals[c] = rankValueOf(move(v.str()))
					}
				}
			}
		})
	}
}

// emit appends one output row: op, then the row's columns decoded from row.
func (t *TopN) emit(op string, row []byte) error {
	if t.b == nil {
		t.b = array.NewRecordBuilder(t.ctx.Mem, t.out)
	}
	fields := t.b.Fields()
	fields[0].(*array.StringBuilder).Append(op)
	if err := AppendKey(row, fields[1:]); err != nil {
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

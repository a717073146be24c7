package op

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/take"
)

// Dedup drops rows that repeat a key within an interval of event time. Rows of a key must all
// reach one subtask (a keyed exchange on the key).
//
// The rows a key keeps open intervals: a row whose event time is within Within of the start
// of an open interval of its key (|t - start| <= Within, bounds included) is a duplicate;
// any other row opens an interval starting at its own time. An interval closes once the
// watermark passes start + Within, when no row that could fall in it can come any more.
//
// Keeping the first (the default), the row that opens an interval is emitted at once and its
// duplicates are dropped. Keeping the last, nothing is emitted until the interval closes;
// then its row of the latest event time (of those, the last to arrive) is, and the others are
// dropped. Either way every row dropped is counted by Duplicates, and every interval emits
// exactly one row, the input's columns unchanged. A kept-last row comes out behind the
// watermark that closed its interval, so the operator then holds its output watermark back
// (HeldWatermark) to the earliest open interval's start.
type Dedup struct {
	Base
	cfg   DedupConfig
	ctx   Context
	keys  keyIndex
	lists []dedupList         // by key id: its open intervals
	ivs   []dedupInterval     // the open intervals of every key, and free entries
	free  int32               // the first free entry of ivs, chained by next; -1 for none
	rows  byteArena           // keeping the last: the rows the intervals keep
	due   joinHeap[uint32]    // per open interval: (the watermark that closes it, its key's id)
	fire  []joinTimer[uint32] // the timers a watermark passed
	wm    int64
	open  int64 // open intervals

	enc, rowEnc KeyEncoder
	out         []array.Builder // keep last: the rows emitted on a watermark
	keep        []int32
	dups        int64
}

// DedupConfig says what a Dedup compares.
type DedupConfig struct {
	// Key lists the key columns and Time the event-time column (timestamp, ms).
	Key  []int
	Time int
	// Within is the length of an interval, in ms.
	Within int64
	// KeepLast keeps the last row of each interval instead of the first.
	KeepLast bool
	// Schema is the input's, and the output's.
	Schema *arrow.Schema
}

// dedupList chains the open intervals of a key through dedupInterval.next, in order of
// their starts' arrival: first and last are indexes into Dedup.ivs, -1 for none.
type dedupList struct{ first, last int32 }

// dedupInterval is an open interval: its start and, keeping the last, the time and
// columns (as KeyEncoder encodes them, in Dedup.rows) of the row it keeps.
type dedupInterval struct {
	start, last int64
	row         span
	next        int32
}

// NewDedup checks cfg and returns the operator.
func NewDedup(cfg DedupConfig) (*Dedup, error) {
	if cfg.Within < 0 {
		return nil, fmt.Errorf("dedup: interval of %d ms", cfg.Within)
	}
	if len(cfg.Key) == 0 {
		return nil, fmt.Errorf("dedup: no key columns")
	}
	if cfg.KeepLast {
		for _, f := range cfg.Schema.Fields() {
			if !KeyType(f.Type) {
				return nil, fmt.Errorf("dedup: column %q is %s, which the state of keep: last cannot hold", f.Name, f.Type)
			}
		}
	}
	return &Dedup{cfg: cfg, keys: newKeyIndex(), free: -1, wm: MinWatermark}, nil
}

// Open keeps the allocator.
func (d *Dedup) Open(ctx Context) error {
	d.ctx = ctx
	d.ctx.Mem = allocator(ctx)
	return nil
}

// Duplicates counts the rows dropped for repeating a key.
func (d *Dedup) Duplicates() int64 { return d.dups }

// StateBytes estimates the memory of the keys, open intervals, kept rows and timers.
func (d *Dedup) StateBytes() int64 {
	const perList, perInterval, perTimer = 8, 32, 16
	return d.keys.sizeBytes() + int64(cap(d.lists))*perList + int64(cap(d.ivs))*perInterval +
		d.rows.sizeBytes() + int64(cap(d.due))*perTimer
}

// HeldWatermark is the latest watermark the output may carry: keeping the last, the
// earliest start of an open interval, whose row comes out when it closes.
func (d *Dedup) HeldWatermark() int64 {
	if !d.cfg.KeepLast || len(d.due) == 0 {
		return MaxWatermark
	}
	return d.due[0].at - d.cfg.Within
}

// Process drops the duplicates among the rows of rec and, keeping the first, emits the rest.
func (d *Dedup) Process(_ int, rec arrow.RecordBatch, out Collector) error {
	defer rec.Release()
	cols := make([]arrow.Array, len(d.cfg.Key))
	for i, c := range d.cfg.Key {
		cols[i] = rec.Column(c)
	}
	if err := d.enc.Reset(cols); err != nil {
		return fmt.Errorf("dedup: %w", err)
	}
	if d.cfg.KeepLast {
		if err := d.rowEnc.Reset(rec.Columns()); err != nil {
			return fmt.Errorf("dedup: %w", err)
		}
	}
	times, ok := rec.Column(d.cfg.Time).(*array.Timestamp)
	if !ok {
		return fmt.Errorf("dedup: event-time column %q is %s, not a timestamp", rec.ColumnName(d.cfg.Time), rec.Column(d.cfg.Time).DataType())
	}
	d.keep = d.keep[:0]
	n := int(rec.NumRows())
	for r := range n {
		if times.IsNull(r) {
			return fmt.Errorf("dedup: row %d has no event time", r)
		}
		t := int64(times.Value(r))
		id := d.key(d.enc.Key(r))
		if i := d.find(id, t); i >= 0 {
			d.dups++
			if iv := &d.ivs[i]; d.cfg.KeepLast && t >= iv.last {
				iv.last, iv.row = t, d.rows.replace(iv.row, d.rowEnc.Key(r))
			}
			continue
		}
		var row span
		if d.cfg.KeepLast {
			row = d.rows.add(d.rowEnc.Key(r))
		} else {
			d.keep = append(d.keep, int32(r))
		}
		d.openInterval(id, dedupInterval{start: t, last: t, row: row})
	}
	d.compactRows()
	if len(d.keep) == 0 {
		return nil
	}
	if len(d.keep) == n {
		rec.Retain()
		return out.Collect(rec)
	}
	kept, err := take.Rows(rec, d.keep)
	if err != nil {
		return fmt.Errorf("dedup: %w", err)
	}
	return out.Collect(kept)
}

// key returns the id of key k, with an empty list of intervals if it is new.
func (d *Dedup) key(k []byte) uint32 {
	id, added := d.keys.intern(k)
	if added {
		if int(id) == len(d.lists) {
			d.lists = append(d.lists, dedupList{})
		}
		d.lists[id] = dedupList{first: -1, last: -1}
	}
	return id
}

// find returns the index of the open interval of key id that a row at t falls in, or -1.
func (d *Dedup) find(id uint32, t int64) int32 {
	for i := d.lists[id].first; i >= 0; i = d.ivs[i].next {
		if diff := t - d.ivs[i].start; diff <= d.cfg.Within && diff >= -d.cfg.Within {
			return i
		}
	}
	return -1
}

// openInterval appends iv to the intervals of key id and sets its timer.
func (d *Dedup) openInterval(id uint32, iv dedupInterval) {
	iv.next = -1
	i := d.free
	if i >= 0 {
		d.free = d.ivs[i].next
		d.ivs[i] = iv
	} else {
		i = int32(len(d.ivs))
		d.ivs = append(d.ivs, iv)
	}
	if l := &d.lists[id]; l.last >= 0 {
		d.ivs[l.last].next, l.last = i, i
	} else {
		l.first, l.last = i, i
	}
	d.due.push(joinTimer[uint32]{at: iv.start + d.cfg.Within, key: id})
	d.open++
}

// compactRows copies the kept rows into a fresh arena once dead bytes fill most of it.
func (d *Dedup) compactRows() {
	if !d.rows.wasteful() {
		return
	}
	d.rows.compact(func(move func(span) span) {
		for id := range d.keys.ids() {
			for i := d.lists[id].first; i >= 0; i = d.ivs[i].next {
				d.ivs[i].row = move(d.ivs[i].row)
			}
		}
	})
}

// OnWatermark closes the intervals the watermark passed and, keeping the last, emits their
// rows: key by key in the order of their earliest closing intervals (ties in the order of
// the keys' bytes), each key's intervals in the order they opened.
func (d *Dedup) OnWatermark(wm int64, out Collector) error {
	if wm <= d.wm {
		return nil
	}
	d.wm = wm
	if d.cfg.KeepLast && d.out == nil {
		for _, f := range d.cfg.Schema.Fields() {
			d.out = append(d.out, array.NewBuilder(d.ctx.Mem, f.Type))
		}
	}
	d.fire = d.fire[:0]
	for len(d.due) > 0 && d.due[0].at < wm {
		d.fire = append(d.fire, d.due.pop())
	}
	all := len(d.due) == 0 && len(d.fire) > 0 // every interval closes: forget the keys at once
	d.sortTies(d.fire)
	rows := 0
	for _, t := range d.fire {
		if !d.keys.live(t.key) {
			continue // closed by an earlier timer of its key
		}
		n, err := d.close(t.key, wm, !all)
		if err != nil {
			return err
		}
		if rows += n; rows >= dedupBatchRows {
			if err := d.emit(rows, out); err != nil {
				return err
			}
			rows = 0
		}
	}
	if all {
		d.forget()
	}
	d.compactRows()
	return d.emit(rows, out)
}

// dedupBatchRows bounds the rows of a batch of kept rows, which the final watermark of a
// bounded input would otherwise emit all in one.
const dedupBatchRows = 1 << 14

// emit sends the rows appended to the output builders, if any.
func (d *Dedup) emit(rows int, out Collector) error {
	if rows == 0 {
		return nil
	}
	cols := make([]arrow.Array, len(d.out))
	for i, b := range d.out {
		cols[i] = newArrayWithRoom(b)
	}
	rec := array.NewRecordBatch(d.cfg.Schema, cols, int64(rows))
	releaseAll(cols)
	return out.Collect(rec)
}

// forget drops every key and interval, once none is open.
func (d *Dedup) forget() {
	d.keys = newKeyIndex()
	d.lists, d.ivs, d.free, d.rows = d.lists[:0], d.ivs[:0], -1, byteArena{}
}

// sortTies orders timers of equal time, which the heap gives in the order of their ids, by
// their keys' bytes instead, so that the output does not depend on the ids keys were given.
func (d *Dedup) sortTies(fire []joinTimer[uint32]) {
	for i := 0; i < len(fire); {
		j := i + 1
		for j < len(fire) && fire[j].at == fire[i].at {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(fire[i:j], func(a, b joinTimer[uint32]) int {
				return bytes.Compare(d.keys.key(a.key), d.keys.key(b.key))
			})
		}
		i = j
	}
}

// close closes the intervals of key id that watermark wm passed, appending their rows to
// the output when keeping the last, and with remove set forgets the key once it has none
// open. It returns the rows appended.
func (d *Dedup) close(id uint32, wm int64, remove bool) (int, error) {
	l := &d.lists[id]
	rows := 0
	prev := int32(-1)
	for i := l.first; i >= 0; {
		iv := d.ivs[i]
		if iv.start+d.cfg.Within >= wm {
			prev, i = i, iv.next
			continue
		}
		if d.cfg.KeepLast {
			if err := AppendKey(d.rows.bytes(iv.row), d.out); err != nil {
				return rows, fmt.Errorf("dedup: kept row: %w", err)
			}
			d.rows.drop(iv.row)
			rows++
		}
		if prev >= 0 {
			d.ivs[prev].next = iv.next
		} else {
			l.first = iv.next
		}
		if l.last == i {
			l.last = prev
		}
		d.ivs[i] = dedupInterval{next: d.free}
		d.free = i
		d.open--
		i = iv.next
	}
	if l.first < 0 && remove {
		d.keys.remove(id)
	}
	return rows, nil
}

// Close releases the output builders.
func (d *Dedup) Close() error {
	for _, b := range d.out {
		b.Release()
	}
	return nil
}

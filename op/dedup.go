package op

import (
	"fmt"

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
	cfg  DedupConfig
	ctx  Context
	keys map[string]*dedupKey
	due  joinHeap // per open interval: (the watermark that closes it, its key)
	wm   int64
	open int64 // open intervals
	size int64 // bytes of keys and kept rows

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

// dedupKey holds the open intervals of a key, in order of their starts' arrival.
type dedupKey struct {
	key       string
	intervals []dedupInterval
}

// dedupInterval is an open interval: its start and, keeping the last, the time and
// columns (as KeyEncoder encodes them) of the row it keeps.
type dedupInterval struct {
	start, last int64
	cols        string
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
	return &Dedup{cfg: cfg, keys: map[string]*dedupKey{}, wm: MinWatermark}, nil
}

// Open keeps the allocator.
func (d *Dedup) Open(ctx Context) error {
	d.ctx = ctx
	d.ctx.Mem = allocator(ctx)
	return nil
}

// Duplicates counts the rows dropped for repeating a key.
func (d *Dedup) Duplicates() int64 { return d.dups }

// StateBytes estimates the memory of the keys, open intervals and timers.
func (d *Dedup) StateBytes() int64 {
	const perKey, perInterval = 16 + 48 + 40, 40 + 24
	return d.size + int64(len(d.keys))*perKey + d.open*perInterval
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
		kb := d.enc.Key(r)
		k, ok := d.keys[string(kb)]
		if !ok {
			k = &dedupKey{key: string(kb)}
			d.keys[k.key] = k
			d.size += int64(len(k.key))
		}
		if i := d.find(k, t); i >= 0 {
			d.dups++
			if iv := &k.intervals[i]; d.cfg.KeepLast && t >= iv.last {
				d.size += int64(len(d.rowEnc.Key(r)) - len(iv.cols))
				iv.last, iv.cols = t, string(d.rowEnc.Key(r))
			}
			continue
		}
		iv := dedupInterval{start: t, last: t}
		if d.cfg.KeepLast {
			iv.cols = string(d.rowEnc.Key(r))
			d.size += int64(len(iv.cols))
		} else {
			d.keep = append(d.keep, int32(r))
		}
		k.intervals = append(k.intervals, iv)
		d.due.push(joinTimer{at: t + d.cfg.Within, key: k.key})
		d.open++
	}
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

// find returns the index of the open interval of k that a row at t falls in, or -1.
func (d *Dedup) find(k *dedupKey, t int64) int {
	for i, iv := range k.intervals {
		if diff := t - iv.start; diff <= d.cfg.Within && diff >= -d.cfg.Within {
			return i
		}
	}
	return -1
}

// OnWatermark closes the intervals the watermark passed and, keeping the last, emits their
// rows.
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
	rows := 0
	for len(d.due) > 0 && d.due[0].at < wm {
		t := d.due.pop()
		k, ok := d.keys[t.key]
		if !ok {
			continue
		}
		keep := k.intervals[:0]
		for _, iv := range k.intervals {
			if iv.start+d.cfg.Within >= wm {
				keep = append(keep, iv)
				continue
			}
			d.open--
			d.size -= int64(len(iv.cols))
			if d.cfg.KeepLast {
				if err := AppendKey([]byte(iv.cols), d.out); err != nil {
					return fmt.Errorf("dedup: kept row: %w", err)
				}
				rows++
			}
		}
		clear(k.intervals[len(keep):])
		k.intervals = keep
		if len(keep) == 0 {
			delete(d.keys, k.key)
			d.size -= int64(len(k.key))
		}
	}
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

// Close releases the output builders.
func (d *Dedup) Close() error {
	for _, b := range d.out {
		b.Release()
	}
	return nil
}

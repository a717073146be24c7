package op

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// The kinds of change a changelog row carries in its _op column, as Flink names them.
const (
	// OpInsert adds a row for a key that had none.
	OpInsert = "+I"
	// OpUpdateBefore retracts a key's row, immediately followed by its OpUpdateAfter.
	OpUpdateBefore = "-U"
	// OpUpdateAfter is a key's new row, after the OpUpdateBefore that retracted the old one.
	OpUpdateAfter = "+U"
	// OpDelete removes a key's row.
	OpDelete = "-D"
)

// OpColumn is the name of the column that says what a changelog row does.
const OpColumn = "_op"

// ChangelogConfig describes a Changelog.
type ChangelogConfig struct {
	// In is the schema of the input: the key columns first (Keys of them), then the row's
	// other columns, among which Keep when it is not -1.
	In   *arrow.Schema
	Keys int
	// Keep is a boolean column that says whether a row belongs in the table (a having
	// clause): a key whose row stops belonging is deleted, and a null counts as false. -1
	// when every row belongs.
	Keep int
	// OnWatermark holds the changes back until the watermark advances (or the input ends),
	// and then emits for each key only what its latest row changed. Otherwise each batch's
	// changes come out at once.
	OnWatermark bool
}

// Changelog turns a stream of the current rows of keys, such as a continuous aggregation's
// results for the keys a batch touched, into the changes of a table keyed by those keys: a
// key's first row is an insert (+I), a row that differs from the key's previous one an
// update (-U with the old row, then +U with the new), and a row that no longer belongs (Keep
// false) a delete (-D with the old row). A row equal to the key's previous one, and a row
// that does not belong for a key without one, change nothing and emit nothing. Applying the
// changes in order, per key, gives the table of every key's latest row that belongs.
//
// Output rows are the _op column, then the input's columns without Keep. Rows of a key must
// all reach one subtask (a keyed exchange on the key). The state holds, per key, the row last
// emitted (and with OnWatermark the row waiting for the watermark), encoded as KeyEncoder
// encodes key columns; it snapshots, rescales and splits by key like a Dedup's.
type Changelog struct {
	Base
	cfg  ChangelogConfig
	ctx  Context
	out  *arrow.Schema
	vals []int // the input columns of the row other than the keys and Keep, in order
	rows map[string]*changelogRow
	// waiting lists the keys whose latest row waits for the watermark, in arrival order.
	waiting []string
	wm      int64
	size    int64 // bytes of the keys and rows held

	keyEnc, valEnc KeyEncoder
	b              *array.RecordBuilder
	emitted        int
}

// changelogRow is what a Changelog holds for a key: the row it last emitted (valid when has),
// and with OnWatermark the latest row received since (valid when pending).
type changelogRow struct {
	row           string
	has           bool
	next          string
	nextKeep      bool
	pending       bool
	waitingListed bool
}

// NewChangelog checks cfg and returns the operator.
func NewChangelog(cfg ChangelogConfig) (*Changelog, error) {
	if cfg.Keys < 0 || cfg.Keys > cfg.In.NumFields() {
		return nil, fmt.Errorf("changelog: %d key columns of %d", cfg.Keys, cfg.In.NumFields())
	}
	if cfg.Keep >= 0 && (cfg.Keep < cfg.Keys || cfg.Keep >= cfg.In.NumFields() || cfg.In.Field(cfg.Keep).Type.ID() != arrow.BOOL) {
		return nil, fmt.Errorf("changelog: column %d cannot say whether a row belongs: it must be a boolean column after the keys", cfg.Keep)
	}
	c := &Changelog{cfg: cfg, rows: map[string]*changelogRow{}, wm: MinWatermark}
	fields := []arrow.Field{{Name: OpColumn, Type: arrow.BinaryTypes.String}}
	for i, f := range cfg.In.Fields() {
		if !KeyType(f.Type) {
			return nil, fmt.Errorf("changelog: column %q is %s, which a changelog's state cannot hold", f.Name, f.Type)
		}
		if i == cfg.Keep {
			continue
		}
		if i >= cfg.Keys {
			c.vals = append(c.vals, i)
		}
		fields = append(fields, f)
	}
	c.out = arrow.NewSchema(fields, nil)
	return c, nil
}

// ChangelogSchema is the schema of a Changelog's output for cfg: _op, then the input's
// columns without Keep.
func ChangelogSchema(cfg ChangelogConfig) (*arrow.Schema, error) {
	c, err := NewChangelog(cfg)
	if err != nil {
		return nil, err
	}
	return c.out, nil
}

// Open keeps the allocator.
func (c *Changelog) Open(ctx Context) error {
	c.ctx = ctx
	c.ctx.Mem = allocator(ctx)
	return nil
}

// Keys is the number of keys the operator holds a row for, or a waiting row.
func (c *Changelog) Keys() int { return len(c.rows) }

// StateBytes estimates the memory of the keys and rows held.
func (c *Changelog) StateBytes() int64 {
	const perKey = 16 + 16 + 16 + 8 + 48
	return c.size + int64(len(c.rows))*perKey
}

// Process takes the current rows of the keys in rec and emits what they change, or with
// OnWatermark keeps them until the watermark advances.
func (c *Changelog) Process(_ int, rec arrow.RecordBatch, out Collector) error {
	defer rec.Release()
	if err := c.keyEnc.Reset(rec.Columns()[:c.cfg.Keys]); err != nil {
		return fmt.Errorf("changelog: %w", err)
	}
	vals := make([]arrow.Array, len(c.vals))
	for i, col := range c.vals {
		vals[i] = rec.Column(col)
	}
	if err := c.valEnc.Reset(vals); err != nil {
		return fmt.Errorf("changelog: %w", err)
	}
	var keep *array.Boolean
	if c.cfg.Keep >= 0 {
		keep = rec.Column(c.cfg.Keep).(*array.Boolean)
	}
	for i := range int(rec.NumRows()) {
		belongs := keep == nil || (keep.IsValid(i) && keep.Value(i))
		k, v := c.keyEnc.Key(i), c.valEnc.Key(i)
		if !c.cfg.OnWatermark {
			if err := c.change(k, string(v), belongs); err != nil {
				return err
			}
			continue
		}
		r := c.rows[string(k)]
		if r == nil {
			r = &changelogRow{}
			c.rows[string(k)] = r
			c.size += int64(len(k))
		}
		c.size += int64(len(v) - len(r.next))
		r.next, r.nextKeep, r.pending = string(v), belongs, true
		if !r.waitingListed {
			r.waitingListed = true
			c.waiting = append(c.waiting, string(k))
		}
	}
	return c.flush(out)
}

// change applies key k's new row v, which belongs to the table or not, and appends the
// changes it makes to the output being built.
func (c *Changelog) change(k []byte, v string, belongs bool) error {
	r := c.rows[string(k)]
	switch {
	case belongs && r == nil:
		if err := c.emit(OpInsert, k, v); err != nil {
			return err
		}
		c.rows[string(k)] = &changelogRow{row: v, has: true}
		c.size += int64(len(k) + len(v))
	case belongs && !r.has:
		if err := c.emit(OpInsert, k, v); err != nil {
			return err
		}
		c.size += int64(len(v))
		r.row, r.has = v, true
	case belongs && r.row != v:
		if err := c.emit(OpUpdateBefore, k, r.row); err != nil {
			return err
		}
		if err := c.emit(OpUpdateAfter, k, v); err != nil {
			return err
		}
		c.size += int64(len(v) - len(r.row))
		r.row = v
	case !belongs && r != nil && r.has:
		if err := c.emit(OpDelete, k, r.row); err != nil {
			return err
		}
		c.size -= int64(len(r.row))
		r.row, r.has = "", false
		if !r.pending {
			delete(c.rows, string(k))
			c.size -= int64(len(k))
		}
	case r != nil && !r.has && !r.pending:
		delete(c.rows, string(k))
		c.size -= int64(len(k))
	}
	return nil
}

// emit appends one output row: op, the key's columns from k and the row's from v.
func (c *Changelog) emit(op string, k []byte, v string) error {
	if c.b == nil {
		c.b = array.NewRecordBuilder(c.ctx.Mem, c.out)
	}
	fields := c.b.Fields()
	fields[0].(*array.StringBuilder).Append(op)
	if err := AppendKey(k, fields[1:1+c.cfg.Keys]); err != nil {
		return fmt.Errorf("changelog: key %x: %w", k, err)
	}
	if err := AppendKey([]byte(v), fields[1+c.cfg.Keys:]); err != nil {
		return fmt.Errorf("changelog: row of key %x: %w", k, err)
	}
	c.emitted++
	return nil
}

// flush sends the rows built so far, if any.
func (c *Changelog) flush(out Collector) error {
	if c.emitted == 0 {
		return nil
	}
	c.emitted = 0
	return out.Collect(newRecordWithRoom(c.b))
}

// OnWatermark emits, with OnWatermark, what the rows waiting since the last watermark
// change, key by key in the order the keys first waited.
func (c *Changelog) OnWatermark(wm int64, out Collector) error {
	if wm <= c.wm {
		return nil
	}
	c.wm = wm
	return c.release(out)
}

// Finish emits what the rows still waiting change: the input has ended.
func (c *Changelog) Finish(out Collector) error { return c.release(out) }

// release applies every waiting row and emits the changes.
func (c *Changelog) release(out Collector) error {
	if len(c.waiting) == 0 {
		return nil
	}
	for _, k := range c.waiting {
		r := c.rows[k]
		next, keep := r.next, r.nextKeep
		c.size -= int64(len(r.next))
		r.next, r.pending, r.waitingListed = "", false, false
		if err := c.change([]byte(k), next, keep); err != nil {
			return err
		}
	}
	c.waiting = c.waiting[:0]
	return c.flush(out)
}

// Close releases the output builder.
func (c *Changelog) Close() error {
	if c.b != nil {
		c.b.Release()
		c.b = nil
	}
	return nil
}

// sortedKeys lists the keys held in the order of their bytes.
func (c *Changelog) sortedKeys() []string {
	keys := make([]string, 0, len(c.rows))
	for k := range c.rows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

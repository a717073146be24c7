package spec

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Over makes a view add features to every input row, computed from the earlier rows of the
// same key in event-time order: `over: {key: card_id, range: 10m, ttl: 30d}`. Select then
// holds feature functions (count(*), count_if, sum, avg, count_distinct over the range;
// zscore, first_seen, seconds_since_prev, km_from_prev, kmh_from_prev over the key's history);
// the view emits its input's columns followed by select's.
type Over struct {
	// Key names the key columns.
	Key []string
	// Range is how far before a row its range features look: rows in (t - Range, t].
	Range time.Duration
	// Rows, instead of Range, makes the range features look at the key's last Rows rows,
	// the row included: `over: {key: seller, rows: 10}`.
	Rows int
	// TTL, when not zero, is how long a key's running figures (zscore, first_seen and the
	// *_prev functions) outlive its last row: a row TTL or more after the key's previous
	// row starts afresh, as the key's first.
	TTL time.Duration
	// Pos is where the over key stands in the file.
	Pos Pos
}

// over decodes `{key: card_id, range: 10m, ttl: 30d}` or `{key: seller, rows: 10}`.
func (d *decoder) over(n *yaml.Node, path string) *Over {
	pairs, ok := d.mapping(n, path, "a mapping such as {key: card_id, range: 10m}")
	if !ok {
		return nil
	}
	o := &Over{Pos: d.pos(deref(n))}
	if at, ok := d.at[path]; ok {
		o.Pos = at
	}
	decodeFields(d, o, pairs, path, overFields, "", "over")
	var hasKey, hasRange, hasRows bool
	for _, p := range pairs {
		hasKey = hasKey || p.key == "key"
		hasRange = hasRange || p.key == "range"
		hasRows = hasRows || p.key == "rows"
	}
	if !hasKey {
		d.errorf(n, path, "key is required: the column, or list of columns, whose rows a row's features come from")
	}
	switch {
	case hasRange && hasRows:
		d.errorf(n, path, "range or rows, not both: a row's range features look back over a time or over a number of rows")
	case !hasRange && !hasRows:
		d.errorf(n, path, "range is required: how far before a row count, sum and the other range features look, such as 10m "+
			"(or rows: N, over the key's last N rows)")
	}
	return o
}

// overFields are the keys of over.
var overFields = map[string]field[Over]{
	"key": {set: func(d *decoder, o *Over, n *yaml.Node, p string) {
		items, _ := d.list(n, p, "a key column, or a list of them")
		for _, it := range items {
			if c, ok := d.ident(it.node, it.path, "a column name"); ok {
				o.Key = append(o.Key, c)
			}
		}
	}},
	"range": {set: func(d *decoder, o *Over, n *yaml.Node, p string) {
		if v, ok := d.duration(n, p); ok {
			if v < time.Millisecond {
				d.errorf(n, p, "must be at least 1ms")
				return
			}
			o.Range = v
		}
	}},
	"rows": {set: func(d *decoder, o *Over, n *yaml.Node, p string) {
		v, ok := d.integer(n, p)
		if ok && (v < 1 || v > 1_000_000) {
			d.errorf(n, p, "%d rows: want 1 to 1000000", v)
			return
		}
		o.Rows = int(v)
	}},
	"ttl": {set: func(d *decoder, o *Over, n *yaml.Node, p string) {
		if v, ok := d.duration(n, p); ok {
			if v > 0 && v < time.Millisecond {
				d.errorf(n, p, "must be at least 1ms, or 0 to keep running figures")
				return
			}
			o.TTL = v
		}
	}},
}

// checkOver refuses the clauses an over view cannot have: it keeps every input row, so it
// neither groups nor windows.
func (d *decoder) checkOver(has map[string]*yaml.Node, path string) {
	if has["over"] == nil {
		return
	}
	for _, k := range []string{"group_by", "window", "having", "qualify"} {
		if n := has[k]; n != nil {
			d.errorf(n, joinPath(path, k), "cannot be combined with over: an over view adds features to every input row, it does not aggregate")
		}
	}
	if has["select"] == nil {
		d.errorf(has["over"], joinPath(path, "over"), "needs select: the feature columns to add, such as {n_10m: count(*)}")
	}
}

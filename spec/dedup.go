package spec

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Dedup drops a view's rows that repeat a key within an interval of event time, written
// `{key: tx_id, within: 24h}` or `{key: [a, b], within: 1h, keep: last}`.
type Dedup struct {
	// Key lists the key columns.
	Key []string
	// Within is the interval: a row within it of the row that opened its key's interval
	// (before or after) is a duplicate.
	Within time.Duration
	// Keep says which row of an interval stays: DedupFirst (the default) at once, DedupLast
	// when the watermark passes the interval's start plus Within.
	Keep DedupKeep
	// Pos is where the dedup key stands in the file.
	Pos Pos
}

// DedupKeep says which row of each interval a dedup keeps.
type DedupKeep string

// The rows a dedup keeps.
const (
	DedupFirst DedupKeep = "first"
	DedupLast  DedupKeep = "last"
)

// dedup decodes a view's dedup clause.
func (d *decoder) dedup(n *yaml.Node, path string) *Dedup {
	pairs, ok := d.mapping(n, path, "a mapping such as {key: tx_id, within: 24h}")
	if !ok {
		return nil
	}
	dd := &Dedup{Keep: DedupFirst, Pos: d.pos(deref(n))}
	if at, ok := d.at[path]; ok {
		dd.Pos = at
	}
	decodeFields(d, dd, pairs, path, dedupFields, "", "dedup")
	has := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		has[p.key] = true
	}
	if !has["key"] {
		d.errorf(n, path, "key is required: the column, or a list of them, whose repeats are duplicates")
	}
	if !has["within"] {
		d.errorf(n, path, "within is required: how far apart in event time two rows of one key are duplicates, such as 24h")
	}
	return dd
}

// dedupFields are the keys of a dedup.
var dedupFields = map[string]field[Dedup]{
	"key": {set: func(d *decoder, dd *Dedup, n *yaml.Node, p string) {
		items, _ := d.list(n, p, "a key column, or a list of them")
		for _, it := range items {
			if c, ok := d.ident(it.node, it.path, "a column name"); ok {
				dd.Key = append(dd.Key, c)
			}
		}
	}},
	"within": {set: func(d *decoder, dd *Dedup, n *yaml.Node, p string) {
		dd.Within, _ = d.duration(n, p)
	}},
	"keep": {set: func(d *decoder, dd *Dedup, n *yaml.Node, p string) {
		if k, ok := enum(d, n, p, "row to keep", []DedupKeep{DedupFirst, DedupLast}); ok {
			dd.Keep = k
		}
	}},
}

package spec

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// Top keeps, per group_by key, the N rows ranked first by a column, written
// `{n: 10, by: price desc}`, or by several, the later ones breaking ties of the earlier,
// written `{n: 1, by: [price desc, date_time asc]}`; the view emits the changes of those rows
// as a changelog.
type Top struct {
	// N is how many rows each key keeps.
	N int
	// By is the column the rows are ranked by; Desc ranks the largest first (else the
	// smallest).
	By   string
	Desc bool
	// Then lists the columns after the first of a list, in order.
	Then []TopBy
	// Pos is where the top key stands in the file.
	Pos Pos
}

// TopBy is a column rows are ranked by; Desc ranks the largest first.
type TopBy struct {
	Col  string
	Desc bool
}

// top decodes a view's top clause.
func (d *decoder) top(n *yaml.Node, path string) *Top {
	pairs, ok := d.mapping(n, path, "a mapping such as {n: 10, by: price desc}")
	if !ok {
		return nil
	}
	t := &Top{Pos: d.pos(deref(n))}
	if at, ok := d.at[path]; ok {
		t.Pos = at
	}
	decodeFields(d, t, pairs, path, topFields, "", "top")
	has := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		has[p.key] = true
	}
	if !has["n"] {
		d.errorf(n, path, "n is required: how many rows each key keeps")
	}
	if !has["by"] {
		d.errorf(n, path, "by is required: the column to rank rows by, then asc or desc, such as price desc")
	}
	return t
}

// topFields are the keys of a top.
var topFields = map[string]field[Top]{
	"n": {set: func(d *decoder, t *Top, n *yaml.Node, p string) {
		v, ok := d.integer(n, p)
		if ok && (v < 1 || v > 100_000) {
			d.errorf(n, p, "%d rows: want 1 to 100000", v)
			return
		}
		t.N = int(v)
	}},
	"by": {set: func(d *decoder, t *Top, n *yaml.Node, p string) {
		items, ok := d.list(n, p, "a column, then asc or desc, such as price desc, or a list of them")
		if !ok {
			return
		}
		for i, it := range items {
			by, ok := d.topBy(it.node, it.path)
			if !ok {
				return
			}
			if i == 0 {
				t.By, t.Desc = by.Col, by.Desc
			} else {
				t.Then = append(t.Then, by)
			}
		}
	}},
}

// topBy decodes one column to rank by: `price desc`, `date_time asc` or `price` (ascending).
func (d *decoder) topBy(n *yaml.Node, p string) (TopBy, bool) {
	v, ok := d.str(n, p, "a column, then asc or desc, such as price desc")
	if !ok {
		return TopBy{}, false
	}
	var by TopBy
	words := strings.Fields(v)
	if len(words) == 2 {
		switch strings.ToLower(words[1]) {
		case "desc":
			by.Desc = true
			words = words[:1]
		case "asc":
			words = words[:1]
		}
	}
	if len(words) != 1 || !isIdent(words[0]) {
		d.errorf(n, p, "%q is not a column, then asc or desc, such as price desc", v)
		return TopBy{}, false
	}
	by.Col = words[0]
	return by, true
}

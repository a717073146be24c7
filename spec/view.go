package spec

import (
	"go.yaml.in/yaml/v3"
)

// view decodes the view called name, whose name key is key and clauses val.
func (d *decoder) view(name string, key, val *yaml.Node, path string) *View {
	v := &View{Name: name, Pos: d.pos(key)}
	pairs, ok := d.mapping(val, path, "a mapping of view clauses, such as {from: tx, where: amount > 0}")
	if !ok {
		return nil
	}
	decodeFields(d, v, pairs, path, viewFields, "", "view")
	has := make(map[string]*yaml.Node, len(pairs))
	for _, p := range pairs {
		has[p.key] = p.keyNode
	}
	if has["from"] == nil {
		d.errorf(key, path, "from is required: the source or view it reads")
	}
	if n := has["having"]; n != nil && has["group_by"] == nil && has["window"] == nil {
		d.errorf(n, joinPath(path, "having"), "needs group_by or window: having filters aggregated rows (use where to filter input rows)")
	}
	d.checkOver(has, path)
	if n := has["top"]; n != nil {
		for _, k := range []string{"window", "having", "qualify", "dedup", "over", "emit"} {
			if has[k] != nil {
				d.errorf(n, joinPath(path, "top"), "cannot be combined with %s: top keeps each group_by key's first rows, as a changelog", k)
			}
		}
	}
	if n := has["emit"]; n != nil && has["window"] != nil {
		d.errorf(n, joinPath(path, "emit"), "is for views without a window: a window's rows come out when the watermark passes its end")
	}
	if n := has["qualify"]; n != nil {
		qp := joinPath(path, "qualify")
		for _, k := range []string{"group_by", "having"} {
			if has[k] != nil {
				d.errorf(n, qp, "cannot be combined with %s: qualify keeps input rows, it does not aggregate", k)
			}
		}
		if v.Window != nil && v.Window.Kind != Tumble {
			d.errorf(n, qp, "needs a tumble window, not %s: write window: {tumble: D}, or leave window out to qualify a window view's rows", v.Window.Kind)
		}
	}
	return v
}

// viewFields are the clauses of a view.
var viewFields = map[string]field[View]{
	"from": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		items, _ := d.list(n, p, "a source or view name, or a list of them")
		seen := make(map[string]bool, len(items))
		for _, it := range items {
			ref, ok := d.str(it.node, it.path, "a source or view name")
			if !ok {
				continue
			}
			if seen[ref] {
				d.errorf(it.node, it.path, "%q is listed twice", ref)
				continue
			}
			seen[ref] = true
			v.From = append(v.From, ref)
		}
	}},
	"where": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		v.Where, _ = d.expr(n, p)
	}},
	"select": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		pairs, ok := d.mapping(n, p, "a mapping of output column names to expressions, such as {n: count(*)}")
		if !ok {
			return
		}
		if len(pairs) == 0 {
			d.errorf(n, p, "is empty; want at least one output column, or leave select out to keep the input columns")
			return
		}
		for _, f := range pairs {
			if !isIdent(f.key) {
				d.errorf(f.keyNode, f.path, "%q is not a valid column name: use %s", f.key, identRule)
				continue
			}
			if e, ok := d.expr(f.val, f.path); ok {
				v.Select = append(v.Select, Field{Name: f.key, Expr: e})
			}
		}
	}},
	"group_by": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		v.GroupBy = d.exprs(n, p, "a list of grouping expressions")
	}},
	"window": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		v.Window = d.window(n, p)
	}},
	"having": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		v.Having, _ = d.expr(n, p)
	}},
	"emit": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		v.Emit, _ = enum(d, n, p, "emit", []Emit{EmitFinal, EmitBatch, EmitWatermark})
	}},
	"top": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		v.Top = d.top(n, p)
	}},
	"qualify": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		v.Qualify, _ = d.expr(n, p)
	}},
	"join": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		v.Join = d.join(n, p)
	}},
	"dedup": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		v.Dedup = d.dedup(n, p)
	}},
	"over": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		v.Over = d.over(n, p)
	}},
	"on_error": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		v.OnError = d.onError(n, p)
	}},
	"score": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		v.Score = d.score(n, p)
	}},
	"rules": {set: func(d *decoder, v *View, n *yaml.Node, p string) {
		v.Rules = d.rules(n, p)
	}},
}

// onError decodes on_error at path.
func (d *decoder) onError(n *yaml.Node, path string) OnError {
	v, ok := d.str(n, path, "continue or fail")
	if !ok {
		return ""
	}
	switch o := OnError(v); o {
	case OnErrorContinue, OnErrorFail:
		return o
	}
	d.errorf(n, path, "%q is not continue or fail", v)
	return ""
}

// join decodes `{table: merchants, on: merchant_id, type: left}` or
// `{stream: settlements, on: tx_id, within: [0s, 72h], type: inner}`.
func (d *decoder) join(n *yaml.Node, path string) *Join {
	pairs, ok := d.mapping(n, path, "a mapping such as {table: merchants, on: merchant_id}")
	if !ok {
		return nil
	}
	j := &Join{Pos: d.pos(deref(n))}
	if at, ok := d.at[path]; ok {
		j.Pos = at
	}
	decodeFields(d, j, pairs, path, joinFields, "", "join")
	has := make(map[string]*yaml.Node, len(pairs))
	for _, p := range pairs {
		has[p.key] = p.keyNode
	}
	d.checkJoin(j, n, has, path)
	return j
}

// joinFields are the keys of a join.
var joinFields = map[string]field[Join]{
	"table": {set: func(d *decoder, j *Join, n *yaml.Node, p string) {
		j.Table, _ = d.ident(n, p, "a table source name")
	}},
	"on": {set: func(d *decoder, j *Join, n *yaml.Node, p string) {
		items, _ := d.list(n, p, "a key column, or a list of them")
		for _, it := range items {
			if c, ok := d.ident(it.node, it.path, "a column name"); ok {
				j.On = append(j.On, c)
			}
		}
	}},
	"type": {set: func(d *decoder, j *Join, n *yaml.Node, p string) {
		if t, ok := enum(d, n, p, "join type", []JoinType{LeftJoin, InnerJoin, RightJoin, FullJoin}); ok {
			j.Type = t
		}
	}},
	"stream": {set: func(d *decoder, j *Join, n *yaml.Node, p string) {
		j.Stream, _ = d.str(n, p, "a source or view name")
	}},
	"within": {set: func(d *decoder, j *Join, n *yaml.Node, p string) {
		j.Within, j.Until, _ = d.within(n, p)
	}},
	"window": {set: func(d *decoder, j *Join, n *yaml.Node, p string) {
		j.Window = d.window(n, p)
	}},
	"ttl": {set: func(d *decoder, j *Join, n *yaml.Node, p string) {
		j.TTL, _ = d.duration(n, p)
	}},
	"as_of": {set: func(d *decoder, j *Join, n *yaml.Node, p string) {
		j.AsOf, _ = d.boolean(n, p)
	}},
}

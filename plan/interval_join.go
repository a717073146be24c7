package plan

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/op"
	"millrace/spec"
)

// The kinds of the steps of an interval join view and a dedup view.
const (
	KindIntervalJoin StepKind = "interval join"
	KindDedup        StepKind = "dedup"
)

// JoinTimeColumn is the column an interval join adds to its rows: the row's event time, the
// later of the two joined rows' times (the one row's for an unmatched row). It is the join
// view's event time, which views after it window by.
const JoinTimeColumn = "event_time"

// refuseWith refuses the clauses of v that do not go with clause (a join with a stream, or
// dedup): they aggregate, or keep other state; a view that reads this one can.
func (b *builder) refuseWith(v *spec.View, clause string) error {
	path := "views." + v.Name
	other := map[string]bool{"group_by": len(v.GroupBy) > 0, "window": v.Window != nil, "having": !v.Having.IsZero(),
		"qualify": !v.Qualify.IsZero(), "dedup": v.Dedup != nil, "join": v.Join != nil && clause == "dedup",
		"over": v.Over != nil, "score": v.Score != nil, "rules": v.Rules != nil}
	for _, k := range []string{"group_by", "window", "having", "qualify", "dedup", "join", "over", "score", "rules"} {
		if other[k] && k != clause {
			return b.spec.Errorf(path+"."+k, "cannot be combined with %s in one view; put it in a view that reads %s", describeClause(clause), v.Name)
		}
	}
	if clause != "dedup" && hasAggregates(v) {
		return b.spec.Errorf(path+".select", "cannot aggregate in a view that joins a stream; aggregate in a view that reads %s", v.Name)
	}
	return nil
}

func describeClause(clause string) string {
	if clause == "dedup" {
		return "dedup"
	}
	return "a join with a stream"
}

// joinedRows is the where and select of a join view, over joined rows. It hides the rows
// its where drops from the view's ledger line, whose filtered counts input rows: the rows of
// an inner side that joined nothing.
type joinedRows struct{ op.Operator }

// intervalJoin adds the node of a view that joins its input with another stream: both
// inputs go through a keyed exchange on the join key into one step, which joins (in an
// interval of event time, in windows, regularly with a TTL, or as of the input's time),
// then applies where and select to the joined rows.
func (b *builder) intervalJoin(v *spec.View, inputs []stream) error {
	if err := b.refuseWith(v, "join"); err != nil {
		return err
	}
	switch j := v.Join; {
	case j.Window != nil:
		return b.windowJoin(v, inputs)
	case j.AsOf:
		return b.temporalJoin(v, inputs)
	}
	outer := [2]bool{v.Join.Type == spec.LeftJoin || v.Join.Type == spec.FullJoin, v.Join.Type == spec.RightJoin || v.Join.Type == spec.FullJoin}
	sides, err := b.joinSides(v, inputs, outer)
	if err != nil {
		return err
	}
	jp := "views." + v.Name + ".join"
	cfg := op.IntervalJoinConfig{Left: sides.left, Right: sides.right.schema, Lower: v.Join.Within[0].Milliseconds(), Upper: v.Join.Within[1].Milliseconds(),
		Outer: outer, Key: sides.key, Time: sides.time, Carry: sides.carry}
	does := fmt.Sprintf("%s join %s on %s within [%s, %s], the later event time as %s",
		v.Join.Type, v.Join.Stream, strings.Join(v.Join.On, ", "), v.Join.Within[0], v.Join.Within[1], JoinTimeColumn)
	if until := v.Join.Until; until != "" {
		if cfg.Until, err = untilColumn(sides.left, until); err != nil {
			return b.spec.Errorf(jp+".within", "%v", err)
		}
		cfg.UntilColumn = true
		does = fmt.Sprintf("%s join %s on %s from %s after the input's event time to its %s, the later event time as %s",
			v.Join.Type, v.Join.Stream, strings.Join(v.Join.On, ", "), v.Join.Within[0], until, JoinTimeColumn)
	}
	if ttl := v.Join.TTL; ttl > 0 {
		// A regular join keeps each row ttl of event time, and joins the rows of equal keys
		// whose times are at most ttl apart: whichever arrives first, its partner comes
		// while it is kept, so the pairs do not depend on the order rows arrive in.
		cfg.Lower, cfg.Upper = -ttl.Milliseconds(), ttl.Milliseconds()
		does = fmt.Sprintf("inner join %s on %s, rows kept %s of event time (pairs at most %s apart), the later event time as %s",
			v.Join.Stream, strings.Join(v.Join.On, ", "), ttl, ttl, JoinTimeColumn)
	}
	if sides.taken[JoinTimeColumn] {
		return b.spec.Errorf(jp, "the join adds the column %s, the joined row's event time, but an input has one: rename it in a view", JoinTimeColumn)
	}
	cfg.Out = arrow.NewSchema(append(sides.fields, arrow.Field{Name: JoinTimeColumn, Type: sides.left.Field(cfg.Time[0]).Type}), nil)
	if _, err := op.NewIntervalJoin(cfg); err != nil {
		return b.spec.Errorf(jp, "%v", err)
	}
	b.timeCols[v.Name] = JoinTimeColumn
	return b.joinStep(v, inputs, sides.right, cfg.Out, KindIntervalJoin, does, func() (op.Operator, error) { return op.NewIntervalJoin(cfg) })
}

// joinSides is what the two inputs of a join with a stream give its step: the key and
// event-time columns of each, the right's columns carried (all but the key), and the output
// fields they make, the left's then the carried ones.
type joinSides struct {
	left   *arrow.Schema
	right  stream
	key    [2][]int
	time   [2]int
	carry  []int
	fields []arrow.Field
	taken  map[string]bool // the names of fields
}

// joinSides finds the columns of a join with a stream. A carried column named like a left
// one gets the stream's name in front; outer says, per side, whether its rows may come out
// alone, which makes the other side's columns nullable.
func (b *builder) joinSides(v *spec.View, inputs []stream, outer [2]bool) (joinSides, error) {
	jp := "views." + v.Name + ".join"
	left := inputs[0].schema
	right, err := b.lookup(v.Join.Stream)
	if err != nil {
		return joinSides{}, err
	}
	rs := right.schema
	out := joinSides{left: left, right: right, taken: map[string]bool{}}
	isKey := map[string]bool{}
	for _, k := range v.Join.On {
		li, ri := left.FieldIndices(k), rs.FieldIndices(k)
		if len(li) == 0 || len(ri) == 0 {
			return out, b.spec.Errorf(jp+".on", "column %q must be in both the input (%s) and stream %s (%s)", k, columnList(left), v.Join.Stream, columnList(rs))
		}
		lt, rt := left.Field(li[0]).Type, rs.Field(ri[0]).Type
		if !arrow.TypeEqual(lt, rt) {
			return out, b.spec.Errorf(jp+".on", "column %q is %s in the input but %s in stream %s", k, lt, rt, v.Join.Stream)
		}
		if !op.KeyType(lt) {
			return out, b.spec.Errorf(jp+".on", "column %q is %s, which cannot be a key", k, lt)
		}
		out.key[0], out.key[1] = append(out.key[0], li[0]), append(out.key[1], ri[0])
		isKey[k] = true
	}
	for side, ref := range []string{v.From[0], v.Join.Stream} {
		s := [2]*arrow.Schema{left, rs}[side]
		col := b.eventTime(ref, s)
		if col == "" {
			return out, b.spec.Errorf(jp, "%s has no event time column to join in time by", ref)
		}
		i := s.FieldIndices(col)[0]
		if s.Field(i).Type.ID() != arrow.TIMESTAMP {
			return out, b.spec.Errorf(jp, "the event time column %q of %s is %s, not a timestamp", col, ref, s.Field(i).Type)
		}
		out.time[side] = i
	}
	for _, f := range left.Fields() {
		f.Nullable = f.Nullable || outer[1] && !isKey[f.Name]
		out.fields = append(out.fields, f)
		out.taken[f.Name] = true
	}
	for i, f := range rs.Fields() {
		if isKey[f.Name] {
			continue
		}
		if out.taken[f.Name] {
			f.Name = v.Join.Stream + "_" + f.Name
			if out.taken[f.Name] {
				return out, b.spec.Errorf(jp, "column %s of stream %s is named like an input column, and so is %s, its name with the stream's in front: rename one in a view", strings.TrimPrefix(f.Name, v.Join.Stream+"_"), v.Join.Stream, f.Name)
			}
		}
		f.Nullable = f.Nullable || outer[0]
		out.fields = append(out.fields, f)
		out.taken[f.Name] = true
		out.carry = append(out.carry, i)
	}
	for _, f := range append(append([]arrow.Field{}, left.Fields()...), rs.Fields()...) {
		if !op.KeyType(f.Type) {
			return out, b.spec.Errorf(jp, "column %q is %s, which a join with a stream cannot hold; leave it out in a view before the join", f.Name, f.Type)
		}
	}
	return out, nil
}

// joinStep adds the step of a join with a stream, whose joined rows have the schema joined:
// the join newJoin makes, then the view's where and select; both inputs reach it through a
// keyed exchange on the join key.
func (b *builder) joinStep(v *spec.View, inputs []stream, right stream, joined *arrow.Schema, kind StepKind, does string, newJoin func() (op.Operator, error)) error {
	path := "views." + v.Name
	if err := checkSelectNames(v, joined, false); err != nil {
		return err
	}
	m, out, mdoes, err := b.mapStep(path, joined, v.Where, v.Select, v.OnError)
	if err != nil {
		return err
	}
	all := []string{does}
	if v.OnError.Fails() {
		all = append(all, "a row an expression fails on fails the run (on_error: fail)")
	}
	ops := []func() (op.Operator, error){newJoin}
	if !v.Where.IsZero() || len(v.Select) > 0 {
		ops = append(ops, func() (op.Operator, error) { return joinedRows{m()}, nil })
	}
	n := &engine.Node{Name: v.Name, Parallelism: b.opts.Parallelism, Operator: chain(ops)}
	b.addNode(n, kind, out, append(all, mdoes...)...)
	for _, s := range inputs {
		b.connect(s, n, 0, engine.Hash, v.Join.On...)
	}
	b.connect(right, n, 1, engine.Hash, v.Join.On...)
	b.streams[v.Name] = stream{node: n, port: engine.MainPort, schema: out}
	b.errorStream(v, n)
	b.plan.Views = append(b.plan.Views, ViewNodes{Name: v.Name, First: n.Name, Last: n.Name})
	return nil
}

// untilColumn finds the column of the input whose value bounds a join's interval from above.
func untilColumn(left *arrow.Schema, name string) (int, error) {
	idx := left.FieldIndices(name)
	if len(idx) == 0 {
		return 0, fmt.Errorf("the upper bound %q is neither a duration nor a column of the input (%s)", name, columnList(left))
	}
	if t := left.Field(idx[0]).Type; t.ID() != arrow.TIMESTAMP {
		return 0, fmt.Errorf("the upper bound's column %q is %s, not a timestamp", name, t)
	}
	return idx[0], nil
}

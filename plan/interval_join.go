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
		"qualify": !v.Qualify.IsZero()}
	for _, k := range []string{"group_by", "window", "having", "qualify"} {
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

// intervalJoin adds the node of a view that joins its input with another stream in an
// interval of event time: both inputs go through a keyed exchange on the join key into one
// step, which joins, then applies where and select to the joined rows.
func (b *builder) intervalJoin(v *spec.View, inputs []stream) error {
	path := "views." + v.Name
	jp := path + ".join"
	if err := b.refuseWith(v, "join"); err != nil {
		return err
	}
	left := inputs[0].schema
	right, err := b.lookup(v.Join.Stream)
	if err != nil {
		return err
	}
	rs := right.schema
	cfg := op.IntervalJoinConfig{Left: left, Right: rs, Lower: v.Join.Within[0].Milliseconds(), Upper: v.Join.Within[1].Milliseconds(),
		Outer: [2]bool{v.Join.Type == spec.LeftJoin || v.Join.Type == spec.FullJoin, v.Join.Type == spec.RightJoin || v.Join.Type == spec.FullJoin}}
	isKey := map[string]bool{}
	for _, k := range v.Join.On {
		li, ri := left.FieldIndices(k), rs.FieldIndices(k)
		if len(li) == 0 || len(ri) == 0 {
			return b.spec.Errorf(jp+".on", "column %q must be in both the input (%s) and stream %s (%s)", k, columnList(left), v.Join.Stream, columnList(rs))
		}
		lt, rt := left.Field(li[0]).Type, rs.Field(ri[0]).Type
		if !arrow.TypeEqual(lt, rt) {
			return b.spec.Errorf(jp+".on", "column %q is %s in the input but %s in stream %s", k, lt, rt, v.Join.Stream)
		}
		if !op.KeyType(lt) {
			return b.spec.Errorf(jp+".on", "column %q is %s, which cannot be a key", k, lt)
		}
		cfg.Key[0], cfg.Key[1] = append(cfg.Key[0], li[0]), append(cfg.Key[1], ri[0])
		isKey[k] = true
	}
	for side, ref := range []string{v.From[0], v.Join.Stream} {
		s := [2]*arrow.Schema{left, rs}[side]
		col := b.eventTime(ref, s)
		if col == "" {
			return b.spec.Errorf(jp, "%s has no event time column to join in time by", ref)
		}
		i := s.FieldIndices(col)[0]
		if s.Field(i).Type.ID() != arrow.TIMESTAMP {
			return b.spec.Errorf(jp, "the event time column %q of %s is %s, not a timestamp", col, ref, s.Field(i).Type)
		}
		cfg.Time[side] = i
	}
	fields := make([]arrow.Field, 0, left.NumFields()+rs.NumFields())
	taken := map[string]bool{}
	for _, f := range left.Fields() {
		f.Nullable = f.Nullable || cfg.Outer[1] && !isKey[f.Name]
		fields = append(fields, f)
		taken[f.Name] = true
	}
	for i, f := range rs.Fields() {
		if isKey[f.Name] {
			continue
		}
		if taken[f.Name] {
			f.Name = v.Join.Stream + "_" + f.Name
			if taken[f.Name] {
				return b.spec.Errorf(jp, "column %s of stream %s is named like an input column, and so is %s, its name with the stream's in front: rename one in a view", strings.TrimPrefix(f.Name, v.Join.Stream+"_"), v.Join.Stream, f.Name)
			}
		}
		f.Nullable = f.Nullable || cfg.Outer[0]
		fields = append(fields, f)
		taken[f.Name] = true
		cfg.Carry = append(cfg.Carry, i)
	}
	if taken[JoinTimeColumn] {
		return b.spec.Errorf(jp, "the join adds the column %s, the joined row's event time, but an input has one: rename it in a view", JoinTimeColumn)
	}
	for _, f := range append(append([]arrow.Field{}, left.Fields()...), rs.Fields()...) {
		if !op.KeyType(f.Type) {
			return b.spec.Errorf(jp, "column %q is %s, which a join with a stream cannot hold; leave it out in a view before the join", f.Name, f.Type)
		}
	}
	cfg.Out = arrow.NewSchema(append(fields, arrow.Field{Name: JoinTimeColumn, Type: left.Field(cfg.Time[0]).Type}), nil)
	if _, err := op.NewIntervalJoin(cfg); err != nil {
		return b.spec.Errorf(jp, "%v", err)
	}
	b.timeCols[v.Name] = JoinTimeColumn
	if err := checkSelectNames(v, cfg.Out, false); err != nil {
		return err
	}
	m, out, mdoes, err := b.mapStep(path, cfg.Out, v.Where, v.Select, v.OnError)
	if err != nil {
		return err
	}
	does := []string{fmt.Sprintf("%s join %s on %s within [%s, %s], the later event time as %s",
		v.Join.Type, v.Join.Stream, strings.Join(v.Join.On, ", "), v.Join.Within[0], v.Join.Within[1], JoinTimeColumn)}
	if v.OnError.Fails() {
		does = append(does, "a row an expression fails on fails the run (on_error: fail)")
	}
	ops := []func() (op.Operator, error){func() (op.Operator, error) { return op.NewIntervalJoin(cfg) }}
	if !v.Where.IsZero() || len(v.Select) > 0 {
		ops = append(ops, func() (op.Operator, error) { return joinedRows{m()}, nil })
	}
	n := &engine.Node{Name: v.Name, Parallelism: b.opts.Parallelism, Operator: chain(ops)}
	b.addNode(n, KindIntervalJoin, out, append(does, mdoes...)...)
	for _, s := range inputs {
		b.connect(s, n, 0, engine.Hash, v.Join.On...)
	}
	b.connect(right, n, 1, engine.Hash, v.Join.On...)
	b.streams[v.Name] = stream{node: n, port: engine.MainPort, schema: out}
	b.errorStream(v, n)
	b.plan.Views = append(b.plan.Views, ViewNodes{Name: v.Name, First: n.Name, Last: n.Name})
	return nil
}

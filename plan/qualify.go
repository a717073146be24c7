package plan

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/expr"
	"millrace/op"
	"millrace/spec"
)

// qualifyColumn reads a qualify clause, which must be `COL = max(COL)`, and returns COL.
func qualifyColumn(q spec.Expr) (string, error) {
	n, err := expr.Parse(q.Text)
	if err != nil {
		return "", q.Errorf("%v", err)
	}
	bad := q.Errorf("must be COLUMN = max(COLUMN): qualify keeps each window's rows of the largest COLUMN")
	b, ok := n.(*expr.Binary)
	if !ok || b.Op != "=" {
		return "", bad
	}
	col, ok := b.L.(*expr.Column)
	if !ok {
		return "", bad
	}
	call, ok := b.R.(*expr.Call)
	if !ok || call.Name != "max" || call.Star || call.Distinct || len(call.Args) != 1 {
		return "", bad
	}
	if arg, ok := call.Args[0].(*expr.Column); !ok || arg.Name != col.Name {
		return "", bad
	}
	return col.Name, nil
}

// qualify adds the two nodes of a view that keeps each window's rows of the largest value of
// a column: a WindowTop in every subtask, fused with the view's join, where, select and, for
// a tumbling window, the computation of window_end; then one WindowTop over their outputs.
// Without a window, the input must be a window view and its window_end says the window.
func (b *builder) qualify(v *spec.View, inputs []stream, in *arrow.Schema, first []func() (op.Operator, error), does []string) error {
	path := "views." + v.Name
	name, err := qualifyColumn(v.Qualify)
	if err != nil {
		return err
	}
	if hasAggregates(v) {
		return b.spec.Errorf(path+".select", "cannot aggregate in a view with qualify: qualify keeps input rows")
	}
	sel := v.Select
	if v.Window != nil {
		if v.Window.Kind != spec.Tumble {
			return b.spec.Errorf(path+".window", "qualify needs a tumble window, not %s", v.Window.Kind)
		}
		timeCol := b.eventTime(v.From[0], in)
		if timeCol == "" {
			return b.spec.Errorf(path+".window", "input %s has no event time column to window by", v.From[0])
		}
		if len(sel) == 0 {
			for _, f := range in.Fields() {
				sel = append(sel, spec.Field{Name: f.Name, Expr: spec.Expr{Text: quoteIdent(f.Name), Path: path}})
			}
		}
		for _, f := range sel {
			if f.Name == "window_end" {
				return b.spec.Errorf(path+".select."+f.Name, "a windowed view makes window_end itself; name this column otherwise")
			}
		}
		t, size := quoteIdent(timeCol), v.Window.Size.Milliseconds()
		end := fmt.Sprintf("to_timestamp_ms(epoch_ms(%s) - epoch_ms(%s) %% %d + %d)", t, t, size, size)
		sel = append(sel[:len(sel):len(sel)], spec.Field{Name: "window_end", Expr: spec.Expr{Text: end, Path: path + ".window", Pos: v.Window.Pos}})
	}
	m, out, mdoes, err := b.mapStep(path, in, v.Where, sel, v.OnError)
	if err != nil {
		return err
	}
	if v.Window == nil {
		if b.eventTime(v.From[0], in) != "window_end" || len(out.FieldIndices("window_end")) == 0 {
			return b.spec.Errorf(path+".qualify", "needs window: {tumble: D}, or an input window view whose window_end it keeps")
		}
	}
	endCol := out.FieldIndices("window_end")[0]
	vi := out.FieldIndices(name)
	if len(vi) == 0 {
		return v.Qualify.Errorf("unknown column %q (columns: %s)", name, columnList(out))
	}
	if t := out.Field(vi[0]).Type; t.ID() != arrow.INT64 {
		return v.Qualify.Errorf("column %q is %s; qualify compares int64 columns", name, t)
	}
	if out.Field(endCol).Type.ID() != arrow.TIMESTAMP {
		return b.spec.Errorf(path+".qualify", "column window_end is %s, not a timestamp", out.Field(endCol).Type)
	}
	value := vi[0]
	ops := first
	if v.Window != nil || !v.Where.IsZero() || len(v.Select) > 0 {
		ops = append(ops, func() (op.Operator, error) { return m(), nil })
	}
	ops = append(ops, func() (op.Operator, error) { return op.NewWindowTop(endCol, value), nil })
	per := "per window_end"
	if v.Window != nil {
		per = fmt.Sprintf("per tumble(%s)", v.Window.Size)
	}
	top := fmt.Sprintf("keep the rows of max(%s) %s", name, per)
	local := &engine.Node{Name: v.Name + ".local", Parallelism: b.opts.Parallelism, Operator: chain(ops)}
	b.addNode(local, KindWindowTop, out, append(append(does, mdoes...), top+" in each subtask")...)
	for i, s := range inputs {
		b.connect(s, local, i, follow(s, local.Parallelism))
	}
	global := &engine.Node{Name: v.Name, Parallelism: 1, Operator: func(int) (op.Operator, error) { return op.NewWindowTop(endCol, value), nil }}
	b.addNode(global, KindWindowTop, out, top+", fired by the watermark")
	b.connect(stream{node: local, schema: out}, global, 0, engine.Rebalance)
	b.streams[v.Name] = stream{node: global, port: engine.MainPort, schema: out}
	b.errorStream(v, local)
	b.plan.Views = append(b.plan.Views, ViewNodes{Name: v.Name, First: local.Name, Last: global.Name})
	return nil
}

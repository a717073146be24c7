package plan

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/agg"
	"millrace/engine"
	"millrace/expr"
	"millrace/format"
	"millrace/op"
	"millrace/schema"
	"millrace/spec"
	"millrace/window"
)

// planView adds the nodes of a view.
func (b *builder) planView(v *spec.View) error {
	path := "views." + v.Name
	var inputs []stream
	for i, ref := range v.From {
		s, err := b.lookup(ref)
		if err != nil {
			return err
		}
		if i > 0 && !sameColumns(inputs[0].schema, s.schema) {
			return b.spec.Errorf(fmt.Sprintf("%s.from[%d]", path, i), "cannot union %s with %s: their columns differ (%s vs %s)",
				ref, v.From[0], columnList(s.schema), columnList(inputs[0].schema))
		}
		inputs = append(inputs, s)
	}
	if ok, err := b.readsChangelog(v, inputs); ok || err != nil {
		if err != nil {
			return err
		}
		return b.changelogAggregate(v, inputs)
	}
	if v.Join != nil && v.Join.Stream != "" {
		if err := b.perRow(v, false); err != nil {
			return err
		}
		return b.intervalJoin(v, inputs)
	}
	if v.Dedup != nil {
		return b.dedup(v, inputs)
	}
	in := inputs[0].schema
	var first []func() (op.Operator, error)
	var does []string
	if v.OnError.Fails() {
		does = append(does, "a row an expression fails on fails the run (on_error: fail)")
	}
	if v.Join != nil {
		join, joined, err := b.join(v, in)
		if err != nil {
			return err
		}
		first = append(first, join)
		does = append(does, fmt.Sprintf("%s join %s on %s", v.Join.Type, v.Join.Table, strings.Join(v.Join.On, ", ")))
		in = joined
	}
	grouped := v.Window != nil || len(v.GroupBy) > 0 || hasAggregates(v)
	if v.Emit != "" && !grouped {
		return b.spec.Errorf(path+".emit", "needs group_by or aggregates: emit says when an aggregation without a window emits")
	}
	if err := b.perRow(v, grouped); err != nil {
		return err
	}
	if v.Top != nil {
		return b.top(v, inputs, in, first, does)
	}
	if !v.Qualify.IsZero() {
		return b.qualify(v, inputs, in, first, does)
	}
	if v.Over != nil {
		return b.over(v, inputs, in, first, does)
	}
	if err := checkSelectNames(v, in, grouped); err != nil {
		return err
	}
	if grouped {
		return b.aggregate(v, inputs, in, first, does)
	}
	m, out, mdoes, err := b.mapStep(path, in, v.Where, v.Select, v.OnError)
	if err != nil {
		return err
	}
	ops := append(first, func() (op.Operator, error) { return m(), nil })
	scoring, out, sdoes, err := b.scoring(v, out)
	if err != nil {
		return err
	}
	ops, mdoes = append(ops, scoring...), append(mdoes, sdoes...)
	n := &engine.Node{Name: v.Name, Parallelism: b.opts.Parallelism, Operator: chain(ops)}
	b.addNode(n, KindView, out, append(does, mdoes...)...)
	for i, s := range inputs {
		b.connect(s, n, i, follow(s, n.Parallelism))
	}
	b.streams[v.Name] = stream{node: n, port: engine.MainPort, schema: out}
	b.errorStream(v, n)
	b.plan.Views = append(b.plan.Views, ViewNodes{Name: v.Name, First: n.Name, Last: n.Name})
	return nil
}

// errorStream makes the error outputs of a view's nodes its errors side stream, unless the
// view fails on errors.
func (b *builder) errorStream(v *spec.View, nodes ...*engine.Node) {
	if v.OnError.Fails() {
		return
	}
	b.streams[v.Name+"."+spec.ErrorRows] = stream{node: nodes[0], also: nodes[1:], port: engine.ErrorPort, schema: op.ErrorSchema()}
}

// chain makes an operator factory of a sequence of operator factories.
func chain(parts []func() (op.Operator, error)) func(int) (op.Operator, error) {
	return func(int) (op.Operator, error) {
		ops := make([]op.Operator, 0, len(parts))
		for _, p := range parts {
			o, err := p()
			if err != nil {
				return nil, err
			}
			ops = append(ops, o)
		}
		if len(ops) == 1 {
			return ops[0], nil
		}
		return op.NewChain(ops...), nil
	}
}

// mapStep compiles where and select over schema in into a Map factory and its output
// schema. An empty select passes the input columns on. Unless onError fails, the Map sends
// rows its expressions fail on to the errors of its step.
func (b *builder) mapStep(path string, in *arrow.Schema, where spec.Expr, sel []spec.Field, onError spec.OnError, opts ...expr.Option) (func() op.Operator, *arrow.Schema, []string, error) {
	newMap := func(where op.Evaluator, cols []op.Evaluator, out *arrow.Schema) *op.Map {
		m := op.NewMap(where, cols, out)
		if !onError.Fails() {
			m.WithErrors()
		}
		return m
	}
	var does []string
	var pred op.Evaluator
	if !where.IsZero() {
		e, err := compile(where, in, opts...)
		if err != nil {
			return nil, nil, nil, err
		}
		if e.Type().ID() != arrow.BOOL {
			return nil, nil, nil, where.Errorf("must be true or false, not %s", e.Type())
		}
		pred = e
		does = append(does, "where "+where.Text)
	}
	if len(sel) == 0 {
		return func() op.Operator { return newMap(pred, nil, nil) }, in, does, nil
	}
	cols := make([]op.Evaluator, len(sel))
	fields := make([]arrow.Field, len(sel))
	for i, f := range sel {
		e, err := compile(f.Expr, in, opts...)
		if err != nil {
			return nil, nil, nil, err
		}
		cols[i] = e
		fields[i] = arrow.Field{Name: f.Name, Type: e.Type(), Nullable: e.Nullable()}
		does = append(does, fmt.Sprintf("%s = %s", f.Name, f.Expr.Text))
	}
	out := arrow.NewSchema(fields, nil)
	return func() op.Operator { return newMap(pred, cols, out) }, out, does, nil
}

// hasAggregates reports whether a view's select or having calls an aggregate.
func hasAggregates(v *spec.View) bool {
	found := false
	for _, e := range append(fieldExprs(v.Select), v.Having) {
		if n, err := expr.Parse(e.Text); err == nil && !e.IsZero() {
			expr.Walk(n, func(n expr.Node) bool {
				if c, ok := n.(*expr.Call); ok && agg.IsAggregate(c.Name) {
					found = true
				}
				return !found
			})
		}
	}
	return found
}

func fieldExprs(fs []spec.Field) []spec.Expr {
	out := make([]spec.Expr, len(fs))
	for i, f := range fs {
		out[i] = f.Expr
	}
	return out
}

// aggregate adds the two nodes of an aggregating view: partial aggregation fused with the
// view's join and where before the keyed exchange, final aggregation and select after it.
func (b *builder) aggregate(v *spec.View, inputs []stream, in *arrow.Schema, first []func() (op.Operator, error), does []string) error {
	path := "views." + v.Name
	w, err := b.viewWindow(v, inputs)
	if err != nil {
		return err
	}
	whole := w.Kind == window.Whole
	mode := spec.EmitFinal
	if whole {
		if mode, err = b.emitMode(v, inputs); err != nil {
			return err
		}
		if mode == spec.EmitWatermark && b.eventTime(v.From[0], in) == "" {
			return b.spec.Errorf(path+".emit", "watermark needs an event time, and input %s has none; write emit: batch", v.From[0])
		}
	}
	changelog := mode.Changelog()
	timeCol := ""
	if !whole {
		if timeCol = b.eventTime(v.From[0], in); timeCol == "" {
			return b.spec.Errorf(path+".window", "input %s has no event time column to window by", v.From[0])
		}
	}

	// The step before the exchange computes keys, event time and aggregate arguments.
	pre, keys := groupKeys(v)
	timeIdx := -1 // the whole input needs no event time
	if !whole {
		timeIdx = len(pre)
		pre = append(pre, spec.Field{Name: "__time", Expr: spec.Expr{Text: timeCol, Path: path + ".window", Pos: v.Window.Pos}})
	}
	calls, index, err := b.aggregateCalls(v)
	if err != nil {
		return err
	}
	var aggCalls []op.AggCall
	argTypes := map[int][]arrow.DataType{}
	for k, c := range calls {
		ac, more, err := aggCall(k, c, pre)
		if err != nil {
			return err
		}
		pre = more
		aggCalls = append(aggCalls, ac)
	}
	preMap, preSchema, preDoes, err := b.mapStep(path, in, v.Where, pre, v.OnError)
	if err != nil {
		return err
	}
	for k := range aggCalls {
		aggCalls[k].ArgTypes = fillTypes(aggCalls[k], preSchema)
		argTypes[k] = aggCalls[k].ArgTypes
		if err := checkFilter(calls[k], aggCalls[k], preSchema); err != nil {
			return err
		}
	}
	nk := len(keys)
	probe, err := op.NewWindowAgg(op.WindowAggConfig{Window: w, Keys: nk, Time: timeIdx, Calls: aggCalls, Phase: op.Single})
	if err != nil {
		return b.spec.Errorf(path+".select", "%v", err)
	}
	keyFields := preSchema.Fields()[:nk]
	stateFields := append(append([]arrow.Field{}, keyFields...), arrow.Field{Name: "window_start", Type: schema.Timestamp})
	for k, t := range probe.StateTypes() {
		stateFields = append(stateFields, arrow.Field{Name: fmt.Sprintf("__state_%d", k), Type: t, Nullable: true})
	}
	stateSchema := arrow.NewSchema(stateFields, nil)
	reject := !v.OnError.Fails()
	partialCfg := op.WindowAggConfig{Window: w, Keys: nk, Time: timeIdx, Calls: aggCalls, Phase: op.Partial, Out: stateSchema, RejectOverflow: reject}
	if !changelog {
		// A window's row (or the table) comes out when the window ends: the partial phase
		// folds many batches into one state per group before the exchange. A changelog hands
		// on every batch's changes.
		partialCfg.Hold = partialHold
	}

	// Two phases pay when rows fold together before the exchange. A hopping window sliced
	// into panes (`panes: true`) has them: the partial phase folds each row into its pane,
	// and the final phase merges each pane into the Size/Every windows holding it. Any other
	// hopping window would multiply each row into its windows' partial states, more than the
	// raw row costs to ship, and a session's bounds are only known per key after the
	// exchange, so for those the raw rows go through the exchange and one phase aggregates
	// them.
	pane, sliced := w.Panes()
	twoPhase := w.Kind == window.Tumble || whole || sliced
	firstOps := append(first, func() (op.Operator, error) { return preMap(), nil })
	firstName, firstKind, firstSchema := v.Name+".prepare", KindPrepare, preSchema
	firstDoes := append(does, preDoes...)
	if twoPhase {
		firstOps = append(firstOps, func() (op.Operator, error) { return op.NewWindowAgg(partialCfg) })
		firstName, firstKind, firstSchema = v.Name+".partial", KindPartial, stateSchema
		per := w.String()
		if sliced {
			per = pane.Size.String() + " pane"
		}
		firstDoes = append(firstDoes, "partial "+describeCalls(calls)+" per "+per)
	}
	partial := &engine.Node{Name: firstName, Parallelism: b.opts.Parallelism, Operator: chain(firstOps)}
	b.addNode(partial, firstKind, firstSchema, firstDoes...)
	for i, s := range inputs {
		b.connect(s, partial, i, follow(s, partial.Parallelism))
	}

	// The final step merges states, fires windows, and computes select and having.
	interFields := append(append([]arrow.Field{}, keyFields...),
		arrow.Field{Name: "window_start", Type: schema.Timestamp}, arrow.Field{Name: "window_end", Type: schema.Timestamp})
	for k, t := range probe.ResultTypes() {
		interFields = append(interFields, arrow.Field{Name: fmt.Sprintf("__agg_%d", k), Type: t, Nullable: true})
	}
	inter := arrow.NewSchema(interFields, nil)
	finalCalls := make([]op.AggCall, len(aggCalls))
	for k, c := range aggCalls {
		finalCalls[k] = op.AggCall{Name: c.Name, Text: c.Text, ArgTypes: argTypes[k], Const: c.Const, Filter: c.Filter}
	}
	finalCfg := op.WindowAggConfig{Window: w, Keys: nk, Calls: finalCalls, Phase: op.Final, Out: inter, RejectOverflow: reject}
	if !twoPhase {
		finalCfg = op.WindowAggConfig{Window: w, Keys: nk, Time: timeIdx, Calls: aggCalls, Phase: op.Single, Out: inter, RejectOverflow: reject}
	}
	finalParallelism := b.opts.Parallelism
	if nk == 0 {
		finalParallelism = 1
	}
	if changelog {
		finalCfg.EmitUpdates = true // its groups stay in memory: the spill backend fires them
	} else {
		finalCfg.Spill = b.spillConfig(w, finalParallelism)
	}
	resolve := aggregateColumns(index, nk)
	var sel []spec.Field
	isKey := map[string]bool{}
	for _, k := range keys {
		isKey[k] = true
		sel = append(sel, spec.Field{Name: k, Expr: spec.Expr{Text: quoteIdent(k), Path: path + ".group_by"}})
	}
	if !whole { // a table of the whole input has no window bounds to show
		sel = append(sel, spec.Field{Name: "window_start", Expr: spec.Expr{Text: "window_start"}}, spec.Field{Name: "window_end", Expr: spec.Expr{Text: "window_end"}})
	}
	for _, f := range v.Select {
		if !isKey[f.Name] {
			sel = append(sel, f)
		}
	}
	// having may name select's columns (tx_count > 20) or aggregates (count(*) > 20).
	finalOps := []func() (op.Operator, error){func() (op.Operator, error) { return op.NewWindowAgg(finalCfg) }}
	post, out, postDoes, err := b.mapStep(path, inter, spec.Expr{}, sel, v.OnError, resolve)
	if err != nil {
		return err
	}
	var cl *changelogStream
	if changelog {
		ops, clOut, cdoes, err := b.changelogOps(v, mode, inter, out, post, sel, resolve, nk)
		if err != nil {
			return err
		}
		finalOps, out, postDoes = append(finalOps, ops...), clOut, append(postDoes, cdoes...)
		cl = &changelogStream{keys: keys}
	} else {
		finalOps = append(finalOps, func() (op.Operator, error) { return post(), nil })
	}
	if !v.Having.IsZero() && !changelog {
		having, _, hdoes, herr := b.mapStep(path, out, v.Having, nil, v.OnError)
		if herr != nil {
			if having, _, hdoes, err = b.mapStep(path, inter, v.Having, nil, v.OnError, resolve); err != nil {
				return herr
			}
			finalOps = []func() (op.Operator, error){finalOps[0], func() (op.Operator, error) { return having(), nil }, finalOps[1]}
		} else {
			finalOps = append(finalOps, func() (op.Operator, error) { return having(), nil })
		}
		postDoes = append(postDoes, strings.Replace(hdoes[0], "where", "having", 1))
	}
	final := &engine.Node{Name: v.Name, Parallelism: finalParallelism, Operator: chain(finalOps)}
	partitioning := engine.Hash
	if nk == 0 {
		partitioning = engine.Rebalance
	}
	phase := "final "
	if !twoPhase {
		phase = ""
	}
	fired := ", fired by the watermark"
	switch {
	case mode == spec.EmitBatch:
		fired = ", updated each batch"
	case mode == spec.EmitWatermark:
		fired = ", updated as the watermark advances"
	case whole:
		fired = ", emitted once the input has ended"
	}
	b.addNode(final, KindWindowAggregate, out, append([]string{phase + describeCalls(calls) + " per " + w.String() + fired}, postDoes...)...)
	b.connect(stream{node: partial, schema: firstSchema}, final, 0, partitioning, keys...)
	b.streams[v.Name] = stream{node: final, port: engine.MainPort, schema: out, changelog: cl}
	b.errorStream(v, partial, final)
	b.plan.Views = append(b.plan.Views, ViewNodes{Name: v.Name, First: partial.Name, Last: final.Name})
	return nil
}

// partialHold is how many bytes of states the partial phase of an aggregation that emits
// no changelog folds before it hands them on (op.WindowAggConfig.Hold).
const partialHold = 16 << 20

// viewWindow returns the windows of an aggregating view. Without a window the view
// aggregates its whole input, and emits its table when the input ends or a changelog as it
// goes (see emitMode).
func (b *builder) viewWindow(v *spec.View, inputs []stream) (window.Spec, error) {
	path := "views." + v.Name
	if v.Window == nil {
		return window.Spec{Kind: window.Whole}, nil
	}
	w := window.Spec{Size: v.Window.Size, Every: v.Window.Every, Gap: v.Window.Gap, Sliced: v.Window.Panes}
	switch v.Window.Kind {
	case spec.Tumble:
		w.Kind = window.Tumble
	case spec.Hop:
		w.Kind = window.Hop
	case spec.Session:
		w.Kind = window.Session
	default:
		return window.Spec{}, b.spec.Errorf(path+".window", "%s windows are not available yet", v.Window.Kind)
	}
	return w, nil
}

// unbounded names a source upstream of the streams whose input never ends, and its kind;
// empty when every source upstream is bounded.
func (b *builder) unbounded(streams []stream) (name, kind string) {
	into := map[*engine.Node][]*engine.Node{}
	for _, e := range b.plan.Graph.Edges {
		into[e.To] = append(into[e.To], e.From)
	}
	seen := map[*engine.Node]bool{}
	var todo []*engine.Node
	for _, s := range streams {
		todo = append(todo, s.node)
		todo = append(todo, s.also...)
	}
	for len(todo) > 0 {
		n := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		if n.Source != nil {
			if !n.Source.Capabilities().Bounded {
				kind = "unbounded"
				if src := b.spec.Source(n.Name); src != nil {
					kind = string(src.Kind)
				}
				return n.Name, kind
			}
			continue
		}
		todo = append(todo, into[n]...)
	}
	return "", ""
}

// fillTypes gives constant arguments their literal type and returns the call's types.
func fillTypes(c op.AggCall, pre *arrow.Schema) []arrow.DataType {
	out := make([]arrow.DataType, len(c.Args))
	for j, col := range c.Args {
		if col >= 0 {
			out[j] = pre.Field(col).Type
		} else {
			out[j] = arrow.PrimitiveTypes.Float64
		}
	}
	return out
}

// plannedCall is one distinct aggregate call of a view.
type plannedCall struct {
	call *expr.Call
	at   spec.Expr
}

// aggregateCalls lists the distinct aggregate calls of select and having, and indexes them
// by their canonical text.
func (b *builder) aggregateCalls(v *spec.View) ([]plannedCall, map[string]int, error) {
	var calls []plannedCall
	index := map[string]int{}
	for _, e := range append(fieldExprs(v.Select), v.Having) {
		if e.IsZero() {
			continue
		}
		n, err := expr.Parse(e.Text)
		if err != nil {
			return nil, nil, e.Errorf("%v", err)
		}
		expr.Walk(n, func(n expr.Node) bool {
			c, ok := n.(*expr.Call)
			if !ok || !agg.IsAggregate(c.Name) {
				return true
			}
			if _, seen := index[c.String()]; !seen {
				index[c.String()] = len(calls)
				calls = append(calls, plannedCall{call: c, at: e})
			}
			return false
		})
	}
	return calls, index, nil
}

func describeCalls(calls []plannedCall) string {
	names := make([]string, len(calls))
	for i, c := range calls {
		call := *c.call
		if strings.EqualFold(call.Name, "quantile") {
			// Named for what it computes, so that a step planned when quantile was a sketch
			// has another fingerprint and its state is not read as exact values.
			call.Name = "quantile_disc"
		}
		if call.Distinct && strings.EqualFold(call.Name, "count") {
			// Named for what it computes, so that a step planned when count(DISTINCT x)
			// counted every value has another fingerprint and its counts are not read as
			// sets of values.
			call.Name, call.Distinct = "count_distinct", false
		}
		names[i] = call.String()
	}
	return strings.Join(names, ", ")
}

// quoteIdent writes a column name so the expression parser reads it back as that column.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// eventTime names the event-time column of a stream, if schema (the stream's) holds it: a
// source's event_time, a window view's window_end, and for other views their first input's.
func (b *builder) eventTime(ref string, schema *arrow.Schema) string {
	col := b.timeColumn(ref)
	if col != "" && len(schema.FieldIndices(col)) == 0 {
		return ""
	}
	return col
}

// timeColumn follows a stream back through the views without a window to the source or
// window view its event time comes from, and returns that column's name. It remembers each
// answer, so that planning a long chain of views stays linear.
func (b *builder) timeColumn(ref string) string {
	var path []string // the views walked through, whose answer is the one found
	col := ""
	for {
		if c, ok := b.timeCols[ref]; ok {
			col = c
			break
		}
		name, side := spec.SplitRef(ref)
		if src := b.spec.Source(name); src != nil {
			if side != spec.DeadLetters {
				col = src.EventTime
			}
			break
		}
		v := b.spec.View(name)
		if v == nil || side == spec.ErrorRows { // error rows carry no event time of their own
			break
		}
		if v.Window != nil {
			col = "window_end"
			break
		}
		path = append(path, ref)
		ref = v.From[0]
	}
	for _, r := range path {
		b.timeCols[r] = col
	}
	return col
}

// join makes the lookup join of a view and returns its output schema. The table is read
// once, when the first subtask starts, and shared.
func (b *builder) join(v *spec.View, in *arrow.Schema) (func() (op.Operator, error), *arrow.Schema, error) {
	path := "views." + v.Name + ".join"
	src := b.spec.Source(v.Join.Table)
	ts, err := src.ArrowSchema()
	if err != nil {
		return nil, nil, b.spec.Errorf(path, "%v", err)
	}
	var inKey, tableKey []int
	onKey := map[string]bool{}
	for _, k := range v.Join.On {
		ii, ti := in.FieldIndices(k), ts.FieldIndices(k)
		if len(ii) == 0 || len(ti) == 0 {
			return nil, nil, b.spec.Errorf(path+".on", "column %q must be in both the input and table %s", k, v.Join.Table)
		}
		if !arrow.TypeEqual(in.Field(ii[0]).Type, ts.Field(ti[0]).Type) {
			return nil, nil, b.spec.Errorf(path+".on", "column %q is %s in the input but %s in table %s", k, in.Field(ii[0]).Type, ts.Field(ti[0]).Type, v.Join.Table)
		}
		inKey, tableKey = append(inKey, ii[0]), append(tableKey, ti[0])
		onKey[k] = true
	}
	fields := append([]arrow.Field{}, in.Fields()...)
	for _, f := range ts.Fields() {
		if onKey[f.Name] {
			continue
		}
		if len(in.FieldIndices(f.Name)) > 0 {
			return nil, nil, b.spec.Errorf(path, "table %s and the input both have a column %q", v.Join.Table, f.Name)
		}
		f.Nullable = true
		fields = append(fields, f)
	}
	out := arrow.NewSchema(fields, nil)
	load := sync.OnceValues(func() (arrow.RecordBatch, error) { return loadTable(src, ts) })
	inner := v.Join.Type == spec.InnerJoin
	return func() (op.Operator, error) {
		table, err := load()
		if err != nil {
			return nil, err
		}
		j, err := op.NewLookupJoin(table, tableKey, inKey, inner, out)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", v.Join.Table, err)
		}
		return j, nil
	}, out, nil
}

// loadTable reads a table source whole. A record it cannot decode is an error: a lookup
// table with holes would give wrong answers silently.
func loadTable(src *spec.Source, s *arrow.Schema) (arrow.RecordBatch, error) {
	r, err := format.OpenAll(src.Path, src.Format, s, format.ReadOptions{Zone: src.Zone})
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", src.Name, err)
	}
	defer r.Close()
	var recs []arrow.RecordBatch
	for {
		rec, dead, err := r.Read()
		if len(dead) > 0 {
			return nil, fmt.Errorf("table %s: %s", src.Name, dead[0])
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", src.Name, err)
		}
		recs = append(recs, rec)
	}
	return concat(s, recs)
}

// groupKeys gives the fields that compute a view's group_by keys in the step before its
// exchange, each named as its column when it is one and key_N otherwise, and their names.
func groupKeys(v *spec.View) ([]spec.Field, []string) {
	var fields []spec.Field
	var names []string
	for i, g := range v.GroupBy {
		name := fmt.Sprintf("key_%d", i)
		if n, err := expr.Parse(g.Text); err == nil {
			if c, ok := n.(*expr.Column); ok {
				name = c.Name
			}
		}
		names = append(names, name)
		fields = append(fields, spec.Field{Name: name, Expr: g})
	}
	return fields, names
}

// aggregateColumns resolves each aggregate call of a view's select to its column in the
// aggregation's rows, which hold nk keys, the window's bounds, then the calls in the order
// index gives them.
func aggregateColumns(index map[string]int, nk int) expr.Option {
	return expr.WithAggregates(func(c *expr.Call) (int, error) {
		k, ok := index[c.String()]
		if !ok {
			return 0, fmt.Errorf("aggregate %s was not planned", c)
		}
		return nk + 2 + k, nil
	})
}

package expr

import (
	"errors"
	"fmt"
	"math"
	"millrace/civil"
	"millrace/spelling"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Expr is a compiled expression: type-checked against a schema and ready to evaluate over
// batches of that schema. It is immutable and safe for concurrent use.
type Expr struct {
	node     Node
	root     evaluator
	t        typ
	nullable bool
	cols     []int
	schema   *arrow.Schema
	memo     int
}

// Option configures Compile.
type Option func(*config)

type config struct {
	aggs func(*Call) (int, error)
}

// WithAggregates lets the expression contain aggregate calls, which the caller has computed:
// resolve maps each aggregate call to the index of the schema column holding its result, so
// an expression such as sum(amount) / count(*) can be evaluated over aggregated batches.
// Without this option Compile refuses aggregates.
func WithAggregates(resolve func(call *Call) (column int, err error)) Option {
	return func(c *config) { c.aggs = resolve }
}

// Compile type-checks n against schema s and prepares it for evaluation. Parts that do not
// depend on any column are evaluated once here. Errors name the offending column, function
// or types, with a suggestion for misspelt names. A tree higher than MaxDepth, which Parse
// never returns, is refused.
func Compile(n Node, s *arrow.Schema, opts ...Option) (*Expr, error) {
	if err := checkDepth(n); err != nil {
		return nil, err
	}
	c := &compiler{schema: s}
	for _, o := range opts {
		o(&c.cfg)
	}
	op, err := c.compile(n)
	if err != nil {
		return nil, err
	}
	slices.Sort(c.used)
	return &Expr{node: n, root: op.ev, t: op.t, nullable: op.nullable || op.t.k == kNull,
		cols: c.used, schema: s, memo: c.memo}, nil
}

// CompileString parses src and compiles it against s.
func CompileString(src string, s *arrow.Schema, opts ...Option) (*Expr, error) {
	n, err := Parse(src)
	if err != nil {
		return nil, err
	}
	return Compile(n, s, opts...)
}

// Type returns the Arrow type of the values Eval returns. Timestamps are milliseconds in UTC;
// an expression that is the bare NULL has type arrow.Null.
func (e *Expr) Type() arrow.DataType { return e.t.arrowType() }

// Nullable reports whether Eval may return NULLs.
func (e *Expr) Nullable() bool { return e.nullable }

// Columns returns the indexes of the schema columns the expression reads, in ascending order.
func (e *Expr) Columns() []int { return slices.Clone(e.cols) }

// Node returns the expression as parsed.
func (e *Expr) Node() Node { return e.node }

// String renders the expression as canonical SQL.
func (e *Expr) String() string { return e.node.String() }

// Eval evaluates the expression over every row of rec, whose schema must have the columns the
// expression was compiled against at the same positions and types. It returns a new array of
// rec's length that the caller releases. Failures such as decimal overflow are *EvalError
// values naming the row.
func (e *Expr) Eval(rec arrow.RecordBatch) (arrow.Array, error) {
	v, err := e.evalVec(rec)
	if err != nil {
		return nil, err
	}
	return toArray(v, e.t), nil
}

func (e *Expr) evalVec(rec arrow.RecordBatch) (*vec, error) {
	if err := e.checkBatch(rec); err != nil {
		return nil, err
	}
	c := &evalCtx{rec: rec, n: int(rec.NumRows()), cols: make([]*vec, rec.NumCols()), memo: make([]*vec, e.memo)}
	return e.root.eval(c, nil)
}

// checkBatch verifies that the columns the expression reads have the compiled types.
func (e *Expr) checkBatch(rec arrow.RecordBatch) error {
	for _, i := range e.cols {
		if i >= int(rec.NumCols()) {
			return fmt.Errorf("expr: %s: batch has %d columns, expression reads column %d (%q)",
				e, rec.NumCols(), i, e.schema.Field(i).Name)
		}
		want := e.schema.Field(i).Type
		if got := rec.Column(i).DataType(); !arrow.TypeEqual(got, want) {
			return fmt.Errorf("expr: %s: column %d (%q) is %s in the batch but %s when compiled",
				e, i, e.schema.Field(i).Name, got, want)
		}
	}
	return nil
}

// operand is a compiled sub-expression.
type operand struct {
	ev       evaluator
	t        typ
	nullable bool
	konst    *vec // the value, computed at compile time, when the operand is constant
	node     Node
}

// compiler type-checks a tree and builds its evaluators.
type compiler struct {
	schema *arrow.Schema
	cfg    config
	used   []int
	memo   int
}

func (c *compiler) compile(n Node) (*operand, error) {
	switch n := n.(type) {
	case *Column:
		return c.column(n)
	case *Literal:
		return c.literal(n)
	case *Unary:
		return c.unary(n)
	case *Binary:
		return c.binary(n)
	case *Call:
		return c.call(n)
	case *Case:
		return c.caseExpr(n)
	case *Cast:
		x, err := c.compile(n.X)
		if err != nil {
			return nil, err
		}
		to, ok := typeOf(n.Type)
		if !ok || to.k == kNull {
			return nil, fmt.Errorf("cannot cast to %s", n.Type)
		}
		return c.cast(x, to, n, false)
	case *In:
		return c.in(n)
	case *Between:
		return c.between(n)
	case *Like:
		return c.like(n)
	case *IsNull:
		return c.isNull(n)
	case *IsBool:
		return c.isBool(n)
	case nil:
		return nil, errors.New("expr: nil expression")
	}
	return nil, fmt.Errorf("expr: unknown node %T", n)
}

// compileAll compiles several nodes.
func (c *compiler) compileAll(ns []Node) ([]*operand, error) {
	out := make([]*operand, len(ns))
	for i, n := range ns {
		op, err := c.compile(n)
		if err != nil {
			return nil, err
		}
		out[i] = op
	}
	return out, nil
}

// column resolves a name: exactly first, then ignoring case when that is unambiguous.
func (c *compiler) column(n *Column) (*operand, error) {
	idx := c.schema.FieldIndices(n.Name)
	if len(idx) == 0 {
		for i, f := range c.schema.Fields() {
			if strings.EqualFold(f.Name, n.Name) {
				idx = append(idx, i)
			}
		}
	}
	switch len(idx) {
	case 0:
		names := make([]string, 0, c.schema.NumFields())
		for _, f := range c.schema.Fields() {
			names = append(names, f.Name)
		}
		return nil, fmt.Errorf("unknown column %q%s", n.Name, spelling.DidYouMean(n.Name, names))
	case 1:
	default:
		return nil, fmt.Errorf("column name %q is ambiguous: the schema has it %d times", n.Name, len(idx))
	}
	return c.columnAt(idx[0], n)
}

func (c *compiler) columnAt(i int, n Node) (*operand, error) {
	f := c.schema.Field(i)
	t, ok := typeOf(f.Type)
	if !ok {
		return nil, fmt.Errorf("column %q has type %s, which expressions do not support", f.Name, f.Type)
	}
	if !slices.Contains(c.used, i) {
		c.used = append(c.used, i)
	}
	return &operand{ev: &colEval{idx: i, name: f.Name}, t: t, nullable: f.Nullable || t.k == kNull, node: n}, nil
}

// constant wraps a one-row vec as a constant operand.
func constant(v *vec, t typ, n Node) *operand {
	v.n, v.konst, v.scratch = 1, true, false
	return &operand{ev: &constEval{v: v}, t: t, nullable: v.null(0), konst: v, node: n}
}

// nullOf is the constant NULL of type t.
func nullOf(t typ, n Node) *operand { return constant(nullVec(1), t, n) }

func (c *compiler) literal(n *Literal) (*operand, error) {
	switch n.Kind {
	case LitNull:
		return nullOf(tNull, n), nil
	case LitBool:
		b := bitmap{0}
		if n.Value == "true" {
			b[0] = 1
		}
		return constant(&vec{bits: b}, tBool, n), nil
	case LitString:
		return constant(&vec{offs: []int32{0, int32(len(n.Value))}, data: []byte(n.Value)}, tString, n), nil
	case LitTimestamp:
		ms, err := civil.ParseTimestamp(n.Value)
		if err != nil {
			return nil, err
		}
		return constant(&vec{i64: []int64{ms}}, tTimestamp, n), nil
	case LitDate:
		d, err := civil.ParseDate(n.Value)
		if err != nil {
			return nil, err
		}
		return constant(&vec{i32: []int32{d}}, tDate, n), nil
	case LitInterval:
		ms, err := parseInterval(n.Value)
		if err != nil {
			return nil, err
		}
		return constant(&vec{i64: []int64{ms}}, tInterval, n), nil
	case LitNumber:
		return numberLiteral(n)
	}
	return nil, fmt.Errorf("expr: unknown literal kind %d", n.Kind)
}

// numberLiteral types a number: with an exponent it is float64, with a point an exact
// decimal, and otherwise int64, or a decimal when it does not fit.
func numberLiteral(n *Literal) (*operand, error) {
	text := n.Value
	if strings.ContainsAny(text, "eE") {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %s is out of the range of float64", text)
		}
		return constant(&vec{f64: []float64{f}}, tFloat64, n), nil
	}
	if !strings.Contains(text, ".") {
		if v, err := strconv.ParseInt(text, 10, 64); err == nil {
			return constant(&vec{i64: []int64{v}}, tInt64, n), nil
		}
	}
	t, v, err := decimalLiteral(text)
	if err != nil {
		return nil, err
	}
	return constant(&vec{dec: []num{v}}, t, n), nil
}

// finish folds op when every input is constant: it is evaluated once, here, and becomes a
// constant. Errors found while folding are compile errors.
func (c *compiler) finish(op *operand, kids ...*operand) (*operand, error) {
	for _, k := range kids {
		if k.konst == nil {
			return op, nil
		}
	}
	ctx := &evalCtx{n: 1, memo: make([]*vec, c.memo)}
	v, err := op.ev.eval(ctx, nil)
	if err != nil {
		var ee *EvalError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("%s: %s", ee.Expr, ee.Msg)
		}
		return nil, err
	}
	if v.borrowed {
		return nil, fmt.Errorf("expr: constant %s aliases a column", op.node)
	}
	return constant(v, op.t, op.node), nil
}

// strictNull reports whether one of the inputs is the NULL constant, in which case an
// operation that is NULL whenever an input is NULL is itself the NULL constant.
func strictNull(kids ...*operand) bool {
	for _, k := range kids {
		if k.konst != nil && k.konst.isNullConst() {
			return true
		}
	}
	return false
}

func anyNullable(kids ...*operand) bool {
	for _, k := range kids {
		if k.nullable {
			return true
		}
	}
	return false
}

// coerce converts op implicitly to t: NULL becomes a NULL of t, numbers widen, a date
// becomes a timestamp at midnight, and a string constant is parsed as a timestamp, date or
// interval.
func (c *compiler) coerce(op *operand, t typ) (*operand, error) {
	switch {
	case op.t == t:
		return op, nil
	case op.t.k == kNull:
		return nullOf(t, op.node), nil
	}
	return c.cast(op, t, op.node, true)
}

// coerceAll converts every operand to the common type of all of them; what names the
// construct for the error message ("compare", "combine").
func (c *compiler) coerceAll(ops []*operand, what string) (typ, error) {
	temporal := temporalOf(ops)
	t := tNull
	for _, op := range ops {
		ot := op.t
		if ot.k == kString && op.konst != nil && temporal.k != kNull {
			ot = temporal
		}
		u, ok := commonType(t, ot)
		if !ok {
			return typ{}, fmt.Errorf("cannot %s %s with %s", what, t, op.t)
		}
		t = u
	}
	for i, op := range ops {
		o, err := c.coerce(op, t)
		if err != nil {
			return typ{}, err
		}
		ops[i] = o
	}
	return t, nil
}

// temporalOf returns the timestamp, date or interval type among ops (timestamp winning over
// date), or tNull. String constants met alongside it are read as that type, so that in
// ts >= '2024-01-01T00:00:00Z' the string is a timestamp.
func temporalOf(ops []*operand) typ {
	t := tNull
	for _, op := range ops {
		switch op.t.k {
		case kTimestamp, kDate, kInterval:
			if t.k != kTimestamp {
				t = op.t
			}
		}
	}
	return t
}

func (c *compiler) unary(n *Unary) (*operand, error) {
	x, err := c.compile(n.X)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case "NOT":
		return c.not(x, n)
	case "+":
		if !x.t.isNumeric() && x.t.k != kInterval && x.t.k != kNull {
			return nil, fmt.Errorf("cannot apply unary + to %s", x.t)
		}
		return x, nil
	case "-":
		return c.negate(x, n)
	}
	return nil, fmt.Errorf("expr: unknown unary operator %q", n.Op)
}

func (c *compiler) binary(n *Binary) (*operand, error) {
	l, err := c.compile(n.L)
	if err != nil {
		return nil, err
	}
	r, err := c.compile(n.R)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case "AND", "OR":
		return c.logic(n.Op, l, r, n)
	case "=", "<>", "<", "<=", ">", ">=":
		return c.compare(n.Op, l, r, n)
	case "+", "-", "*", "/", "%":
		return c.arith(n.Op, l, r, n)
	case "||":
		return c.concat(l, r, n)
	}
	return nil, fmt.Errorf("expr: unknown operator %q", n.Op)
}

// memoize wraps op so that it is evaluated once per batch however often it is used.
func (c *compiler) memoize(op *operand) *operand {
	if op.konst != nil {
		return op
	}
	if _, ok := op.ev.(*colEval); ok {
		return op
	}
	m := *op
	m.ev = &memoEval{slot: c.memo, x: op.ev}
	c.memo++
	return &m
}

func (c *compiler) call(n *Call) (*operand, error) {
	if IsAggregate(n.Name) {
		if c.cfg.aggs == nil {
			return nil, fmt.Errorf("aggregate %s() is not allowed here", n.Name)
		}
		i, err := c.cfg.aggs(n)
		if err != nil {
			return nil, err
		}
		if i < 0 || i >= c.schema.NumFields() {
			return nil, fmt.Errorf("aggregate %s resolved to column %d, which the schema does not have", n, i)
		}
		return c.columnAt(i, n)
	}
	f, ok := functions[n.Name]
	if !ok {
		return nil, fmt.Errorf("function %q does not exist%s", n.Name, spelling.DidYouMean(n.Name, functionNames()))
	}
	if n.Star {
		return nil, fmt.Errorf("%s(*) is not allowed: * is only for count(*)", n.Name)
	}
	if n.Distinct {
		return nil, fmt.Errorf("%s(DISTINCT ...) is not allowed: DISTINCT is only for aggregates", n.Name)
	}
	if n.Filter != nil {
		return nil, fmt.Errorf("%s(...) FILTER (WHERE ...) is not allowed: FILTER is only for aggregates", n.Name)
	}
	if len(n.Args) < f.min || (f.max >= 0 && len(n.Args) > f.max) {
		return nil, fmt.Errorf("%s() takes %s, not %d", n.Name, f.arity(), len(n.Args))
	}
	args, err := c.compileAll(n.Args)
	if err != nil {
		return nil, err
	}
	return f.build(c, args, n)
}

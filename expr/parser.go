package expr

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/civil"
	"millrace/schema"
)

// MaxDepth is how deeply an expression may nest: both the parentheses, function calls,
// CASEs, NOTs and signs open at any point of its text, and the height of its syntax tree,
// where a chain such as a + b + c + d counts one level per operator. Deeper expressions are
// refused before anything walks them, so that no expression can exhaust the stack.
const MaxDepth = 256

// Parse parses one SQL expression. Keywords are case-insensitive; precedence follows
// PostgreSQL: OR, AND, NOT, IS, comparisons, BETWEEN/IN/LIKE, ||, + -, * / %, unary minus, ::.
// Errors are *SyntaxError values naming the 1-based character position and what was expected;
// an expression nested deeper than MaxDepth is one too.
func Parse(src string) (Node, error) {
	p := &parser{lex: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	n, err := p.orExpr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.expected("end of expression")
	}
	if err := checkDepth(n); err != nil {
		return nil, &SyntaxError{Pos: 1, Msg: err.Error()}
	}
	return n, nil
}

// parser is a recursive-descent parser with one token of lookahead beyond the current one.
// depth counts the nested constructs open at the current token.
type parser struct {
	lex    lexer
	tok    token
	peeked *token
	depth  int
}

// errTooDeep is the message of an expression nested deeper than MaxDepth.
var errTooDeep = fmt.Errorf("expression nested deeper than %d levels", MaxDepth)

// nest enters a nested construct at the current token, refusing to go deeper than MaxDepth;
// the caller leaves it with p.depth--.
func (p *parser) nest() error {
	if p.depth >= MaxDepth {
		return errAt(p.lex.src, p.tok.pos, "%v", errTooDeep)
	}
	p.depth++
	return nil
}

// chained counts one more operator of a chain that a loop of the parser builds, such as
// a + b + c, refusing the one that would make the chain alone deeper than MaxDepth: each
// operator adds a level above the ones before it. So a chain of a million operators is
// refused as soon as it passes the limit, without building its tree.
func (p *parser) chained(n *int) error {
	if *n++; *n >= MaxDepth {
		return errAt(p.lex.src, p.tok.pos, "%v", errTooDeep)
	}
	return nil
}

// checkDepth refuses a syntax tree higher than MaxDepth. It walks the tree with a stack of
// its own, so the height of the tree does not matter to it.
func checkDepth(n Node) error {
	type at struct {
		n     Node
		depth int
	}
	stack := []at{{n, 1}}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if top.depth > MaxDepth {
			return errTooDeep
		}
		for _, c := range children(top.n) {
			if c != nil {
				stack = append(stack, at{c, top.depth + 1})
			}
		}
	}
	return nil
}

func (p *parser) advance() error {
	if p.peeked != nil {
		p.tok, p.peeked = *p.peeked, nil
		return nil
	}
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// peek returns the token after the current one without consuming anything.
func (p *parser) peek() (token, error) {
	if p.peeked == nil {
		t, err := p.lex.next()
		if err != nil {
			return token{}, err
		}
		p.peeked = &t
	}
	return *p.peeked, nil
}

// expected reports that the current token is not what the grammar needs here.
func (p *parser) expected(what string) error {
	found := "end of input"
	if p.tok.kind != tokEOF {
		found = strconv.Quote(p.tok.raw)
	}
	return errAt(p.lex.src, p.tok.pos, "expected %s but found %s", what, found)
}

// isKw reports whether the current token is the keyword kw (lower case).
func (p *parser) isKw(kw string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.text, kw)
}

func (p *parser) isOp(op string) bool { return p.tok.kind == tokOp && p.tok.text == op }

func (p *parser) expectOp(op string) error {
	if !p.isOp(op) {
		return p.expected(strconv.Quote(op))
	}
	return p.advance()
}

func (p *parser) expectKw(kw string) error {
	if !p.isKw(kw) {
		return p.expected(strings.ToUpper(kw))
	}
	return p.advance()
}

func (p *parser) orExpr() (Node, error) {
	if err := p.nest(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	return p.leftAssoc(p.andExpr, func() string {
		if p.isKw("or") {
			return "OR"
		}
		return ""
	})
}

func (p *parser) andExpr() (Node, error) {
	return p.leftAssoc(p.notExpr, func() string {
		if p.isKw("and") {
			return "AND"
		}
		return ""
	})
}

// leftAssoc parses operand (op operand)*, where op returns the operator at the current token
// or "" when there is none.
func (p *parser) leftAssoc(operand func() (Node, error), op func() string) (Node, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	chain := 0
	for {
		o := op()
		if o == "" {
			return l, nil
		}
		if err := p.chained(&chain); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: o, L: l, R: r}
	}
}

func (p *parser) notExpr() (Node, error) {
	if !p.isKw("not") {
		return p.isExpr()
	}
	if err := p.nest(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if err := p.advance(); err != nil {
		return nil, err
	}
	x, err := p.notExpr()
	if err != nil {
		return nil, err
	}
	return &Unary{Op: "NOT", X: x}, nil
}

func (p *parser) isExpr() (Node, error) {
	x, err := p.cmpExpr()
	if err != nil {
		return nil, err
	}
	chain := 0
	for p.isKw("is") {
		if err := p.chained(&chain); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		neg := p.isKw("not")
		if neg {
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		switch {
		case p.isKw("null"):
			x = &IsNull{X: x, Not: neg}
		case p.isKw("true"), p.isKw("false"):
			x = &IsBool{X: x, Value: p.isKw("true"), Not: neg}
		default:
			return nil, p.expected("NULL, TRUE or FALSE")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	return x, nil
}

func (p *parser) cmpExpr() (Node, error) {
	return p.leftAssoc(p.likeExpr, func() string {
		if p.tok.kind != tokOp {
			return ""
		}
		switch p.tok.text {
		case "=", "<>", "<", "<=", ">", ">=":
			return p.tok.text
		case "!=":
			return "<>"
		}
		return ""
	})
}

// likeExpr parses the postfix predicates [NOT] BETWEEN, [NOT] IN and [NOT] [I]LIKE.
func (p *parser) likeExpr() (Node, error) {
	x, err := p.concatExpr()
	if err != nil {
		return nil, err
	}
	chain := 0
	for {
		neg := false
		if p.isKw("not") {
			next, err := p.peek()
			if err != nil {
				return nil, err
			}
			kw := strings.ToLower(next.text)
			if next.kind != tokIdent || (kw != "between" && kw != "in" && kw != "like" && kw != "ilike") {
				return x, nil
			}
			neg = true
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		if !p.isKw("between") && !p.isKw("in") && !p.isKw("like") && !p.isKw("ilike") {
			return x, nil
		}
		if err := p.chained(&chain); err != nil {
			return nil, err
		}
		switch {
		case p.isKw("between"):
			x, err = p.between(x, neg)
		case p.isKw("in"):
			x, err = p.in(x, neg)
		default:
			x, err = p.like(x, neg)
		}
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) between(x Node, neg bool) (Node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	lo, err := p.concatExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expectKw("and"); err != nil {
		return nil, err
	}
	hi, err := p.concatExpr()
	if err != nil {
		return nil, err
	}
	return &Between{X: x, Lo: lo, Hi: hi, Not: neg}, nil
}

func (p *parser) in(x Node, neg bool) (Node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	list, err := p.list()
	if err != nil {
		return nil, err
	}
	return &In{X: x, List: list, Not: neg}, nil
}

// list parses expr (, expr)* ) after an opening parenthesis.
func (p *parser) list() ([]Node, error) {
	var list []Node
	for {
		e, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
		if p.isOp(")") {
			return list, p.advance()
		}
		if !p.isOp(",") {
			return nil, p.expected(`"," or ")"`)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
}

func (p *parser) like(x Node, neg bool) (Node, error) {
	ci := p.isKw("ilike")
	if err := p.advance(); err != nil {
		return nil, err
	}
	pat, err := p.concatExpr()
	if err != nil {
		return nil, err
	}
	n := &Like{X: x, Pattern: pat, Not: neg, Insensitive: ci}
	if p.isKw("escape") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if n.Escape, err = p.concatExpr(); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (p *parser) concatExpr() (Node, error) {
	return p.leftAssoc(p.addExpr, func() string {
		if p.isOp("||") {
			return "||"
		}
		return ""
	})
}

func (p *parser) addExpr() (Node, error) {
	return p.leftAssoc(p.mulExpr, func() string {
		if p.isOp("+") || p.isOp("-") {
			return p.tok.text
		}
		return ""
	})
}

func (p *parser) mulExpr() (Node, error) {
	return p.leftAssoc(p.unaryExpr, func() string {
		if p.isOp("*") || p.isOp("/") || p.isOp("%") {
			return p.tok.text
		}
		return ""
	})
}

// unaryExpr parses prefix signs. A minus directly before a number folds into the literal, so
// -5 is the Literal "-5" and - -5 is "5".
func (p *parser) unaryExpr() (Node, error) {
	if !p.isOp("-") && !p.isOp("+") {
		return p.postfixExpr()
	}
	op := p.tok.text
	if err := p.nest(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if err := p.advance(); err != nil {
		return nil, err
	}
	x, err := p.unaryExpr()
	if err != nil {
		return nil, err
	}
	if lit, ok := x.(*Literal); ok && lit.Kind == LitNumber {
		if op == "+" {
			return lit, nil
		}
		if v, neg := strings.CutPrefix(lit.Value, "-"); neg {
			return &Literal{Kind: LitNumber, Value: v}, nil
		}
		return &Literal{Kind: LitNumber, Value: "-" + lit.Value}, nil
	}
	return &Unary{Op: op, X: x}, nil
}

func (p *parser) postfixExpr() (Node, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	chain := 0
	for p.isOp("::") {
		if err := p.chained(&chain); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		t, err := p.parseType()
		if err != nil {
			return nil, err
		}
		x = &Cast{X: x, Type: t}
	}
	return x, nil
}

func (p *parser) primary() (Node, error) {
	t := p.tok
	switch t.kind {
	case tokNumber:
		return &Literal{Kind: LitNumber, Value: t.text}, p.advance()
	case tokString:
		return &Literal{Kind: LitString, Value: t.text}, p.advance()
	case tokQuoted:
		return &Column{Name: t.text}, p.advance()
	case tokOp:
		if t.text != "(" {
			return nil, p.expected("expression")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		return x, p.expectOp(")")
	case tokEOF:
		return nil, p.expected("expression")
	}
	kw := strings.ToLower(t.text)
	next, err := p.peek()
	if err != nil {
		return nil, err
	}
	switch kw {
	case "null":
		return &Literal{Kind: LitNull}, p.advance()
	case "true", "false":
		return &Literal{Kind: LitBool, Value: kw}, p.advance()
	case "case":
		return p.caseExpr()
	case "cast":
		return p.cast()
	case "date", "timestamp", "interval":
		if next.kind == tokString {
			return p.typedLiteral(kw, next)
		}
	case "extract":
		if next.kind == tokOp && next.text == "(" {
			return p.extract()
		}
	}
	if reserved[kw] {
		return nil, p.expected("expression")
	}
	if next.kind == tokOp && next.text == "(" {
		return p.call(kw)
	}
	return &Column{Name: t.text}, p.advance()
}

// typedLiteral parses DATE '...', TIMESTAMP '...' and INTERVAL '...', checking the text.
func (p *parser) typedLiteral(kw string, str token) (Node, error) {
	var kind LiteralKind
	var err error
	switch kw {
	case "date":
		kind = LitDate
		_, err = civil.ParseDate(str.text)
	case "timestamp":
		kind = LitTimestamp
		_, err = civil.ParseTimestamp(str.text)
	default:
		kind = LitInterval
		_, err = parseInterval(str.text)
	}
	if err != nil {
		return nil, errAt(p.lex.src, str.pos, "%v", err)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return &Literal{Kind: kind, Value: str.text}, p.advance()
}

func (p *parser) caseExpr() (Node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	n := &Case{}
	if p.isKw("end") || p.isKw("else") || p.isKw("then") {
		return nil, p.expected("WHEN")
	}
	if !p.isKw("when") {
		x, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		n.Operand = x
	}
	for p.isKw("when") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		cond, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expectKw("then"); err != nil {
			return nil, err
		}
		res, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		n.Whens = append(n.Whens, When{Cond: cond, Result: res})
	}
	if len(n.Whens) == 0 {
		return nil, p.expected("WHEN")
	}
	if p.isKw("else") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		e, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		n.Else = e
	}
	if !p.isKw("end") {
		if n.Else == nil {
			return nil, p.expected("WHEN, ELSE or END")
		}
		return nil, p.expected("END")
	}
	return n, p.advance()
}

func (p *parser) cast() (Node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	x, err := p.orExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expectKw("as"); err != nil {
		return nil, err
	}
	t, err := p.parseType()
	if err != nil {
		return nil, err
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	return &Cast{X: x, Type: t}, nil
}

// typeAliases maps SQL type names beyond schema.ParseType's to the names it knows.
var typeAliases = map[string]string{
	"integer": "int32", "int4": "int32", "int8": "int64", "float": "float64", "float8": "float64",
	"numeric": "decimal", "timestamptz": "timestamp", "date32": "date", "char": "string",
}

// parseType parses a type for CAST: a name, optionally with (P[,S]) arguments.
func (p *parser) parseType() (arrow.DataType, error) {
	if p.tok.kind != tokIdent {
		return nil, p.expected("type name")
	}
	start := p.tok.pos
	name := strings.ToLower(p.tok.text)
	if a, ok := typeAliases[name]; ok {
		name = a
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if name == "double" && p.isKw("precision") {
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	var args []string
	if p.isOp("(") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		for {
			if p.tok.kind != tokNumber {
				return nil, p.expected("number")
			}
			args = append(args, p.tok.text)
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.isOp(")") {
				break
			}
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	text := name
	switch {
	case name == "varchar" || name == "string" || name == "text":
		// A length limit is accepted and ignored: strings are unbounded.
	case len(args) > 0:
		text += "(" + strings.Join(args, ",") + ")"
	case name == "decimal":
		return nil, errAt(p.lex.src, start, "decimal needs a precision and scale, as in decimal(18,2)")
	}
	t, err := schema.ParseType(text)
	if err != nil {
		return nil, errAt(p.lex.src, start, "%v", err)
	}
	return t, nil
}

// extract parses EXTRACT(field FROM x) into the call field(x).
func (p *parser) extract() (Node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil { // "("
		return nil, err
	}
	if p.tok.kind != tokIdent {
		return nil, p.expected("field name")
	}
	field := strings.ToLower(p.tok.text)
	if field == "dow" {
		field = "day_of_week"
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expectKw("from"); err != nil {
		return nil, err
	}
	x, err := p.orExpr()
	if err != nil {
		return nil, err
	}
	return &Call{Name: field, Args: []Node{x}}, p.expectOp(")")
}

// call parses name(args), name(*), name(DISTINCT args) and substring(x FROM a FOR b).
// call parses a function call and, after it, an aggregate's FILTER (WHERE condition).
func (p *parser) call(name string) (Node, error) {
	n, err := p.callArgs(name)
	if err != nil || !p.isKw("filter") {
		return n, err
	}
	c, ok := n.(*Call)
	if !ok {
		return nil, p.expected("an operator after " + name + "(...)")
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	if err := p.expectKw("where"); err != nil {
		return nil, err
	}
	if c.Filter, err = p.orExpr(); err != nil {
		return nil, err
	}
	return c, p.expectOp(")")
}

func (p *parser) callArgs(name string) (Node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil { // "("
		return nil, err
	}
	c := &Call{Name: name}
	if p.isOp("*") {
		c.Star = true
		if err := p.advance(); err != nil {
			return nil, err
		}
		return c, p.expectOp(")")
	}
	if p.isOp(")") {
		return c, p.advance()
	}
	if p.isKw("distinct") {
		c.Distinct = true
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if name == "substring" || name == "substr" {
		return p.substring(c)
	}
	args, err := p.list()
	if err != nil {
		return nil, err
	}
	c.Args = args
	return c, nil
}

func (p *parser) substring(c *Call) (Node, error) {
	x, err := p.orExpr()
	if err != nil {
		return nil, err
	}
	c.Args = []Node{x}
	if !p.isKw("from") {
		if p.isOp(")") {
			return c, p.advance()
		}
		if err := p.expectOp(","); err != nil {
			return nil, err
		}
		rest, err := p.list()
		if err != nil {
			return nil, err
		}
		c.Args = append(c.Args, rest...)
		return c, nil
	}
	for _, kw := range []string{"from", "for"} {
		if !p.isKw(kw) {
			continue
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		a, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		c.Args = append(c.Args, a)
	}
	return c, p.expectOp(")")
}

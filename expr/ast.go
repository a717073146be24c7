package expr

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Node is a parsed SQL expression. The concrete types are Column, Literal, Unary, Binary,
// Call, Case, Cast, In, Between, Like, IsNull and IsBool. String renders canonical SQL that
// parses back to an equal tree: keywords in upper case, only the parentheses precedence needs.
type Node interface {
	String() string
	node()
}

// Column refers to a column of the input batch by name. Unquoted names keep the case they were
// written in; Compile matches them exactly first and then ignoring case.
type Column struct {
	Name string
}

// LiteralKind says what kind of constant a Literal holds.
type LiteralKind uint8

// The kinds of literal.
const (
	LitNull      LiteralKind = iota // NULL
	LitBool                         // TRUE or FALSE; Value is "true" or "false"
	LitNumber                       // Value as written, with a leading "-" when negated: "42", "-12.50", "1e3"
	LitString                       // Value is the string without quotes, '' unescaped
	LitTimestamp                    // TIMESTAMP '...'; Value is the RFC 3339 text
	LitDate                         // DATE '...'; Value is YYYY-MM-DD
	LitInterval                     // INTERVAL '...'; Value is the text, such as "5 minutes"
)

// Literal is a constant. Numbers stay as text until Compile types them: digits alone are int64
// (or an exact decimal when they do not fit), digits with a point are exact decimals, and a
// number with an exponent is float64.
type Literal struct {
	Kind  LiteralKind
	Value string
}

// Unary is a prefix operator: "-", "+" or "NOT".
type Unary struct {
	Op string
	X  Node
}

// Binary is an infix operator: "+", "-", "*", "/", "%", "||", "=", "<>", "<", "<=", ">",
// ">=", "AND" or "OR". The parser writes "!=" as "<>".
type Binary struct {
	Op   string
	L, R Node
}

// Call is a function call. Name is in lower case; Star marks count(*); Distinct marks an
// aggregate over distinct values, as in count(DISTINCT x); Filter, when not nil, is the
// condition of an aggregate's FILTER (WHERE ...) clause, which says which rows it reads.
type Call struct {
	Name     string
	Args     []Node
	Star     bool
	Distinct bool
	Filter   Node
}

// When is one WHEN ... THEN ... arm of a Case.
type When struct {
	Cond, Result Node
}

// Case is CASE [Operand] WHEN ... THEN ... [ELSE ...] END. With an Operand (the simple form),
// each When's Cond is a value compared with the operand; without one, each Cond is a predicate.
type Case struct {
	Operand Node
	Whens   []When
	Else    Node
}

// Cast converts X to Type, written CAST(X AS type) or X::type.
type Cast struct {
	X    Node
	Type arrow.DataType
}

// In is X [NOT] IN (List...).
type In struct {
	X    Node
	List []Node
	Not  bool
}

// Between is X [NOT] BETWEEN Lo AND Hi, bounds included.
type Between struct {
	X, Lo, Hi Node
	Not       bool
}

// Like is X [NOT] LIKE Pattern [ESCAPE Escape], or ILIKE when Insensitive. Escape is nil when
// not written, which means backslash.
type Like struct {
	X, Pattern  Node
	Escape      Node
	Not         bool
	Insensitive bool
}

// IsNull is X IS [NOT] NULL.
type IsNull struct {
	X   Node
	Not bool
}

// IsBool is X IS [NOT] TRUE or X IS [NOT] FALSE; unlike =, it is never NULL.
type IsBool struct {
	X     Node
	Value bool
	Not   bool
}

func (*Column) node()  {}
func (*Literal) node() {}
func (*Unary) node()   {}
func (*Binary) node()  {}
func (*Call) node()    {}
func (*Case) node()    {}
func (*Cast) node()    {}
func (*In) node()      {}
func (*Between) node() {}
func (*Like) node()    {}
func (*IsNull) node()  {}
func (*IsBool) node()  {}

// Walk calls fn for n and then, when fn returns true, for each of n's children in source
// order, depth first.
func Walk(n Node, fn func(Node) bool) {
	if n == nil || !fn(n) {
		return
	}
	for _, c := range children(n) {
		Walk(c, fn)
	}
}

// children lists the direct sub-expressions of n in source order.
func children(n Node) []Node {
	switch n := n.(type) {
	case *Unary:
		return []Node{n.X}
	case *Binary:
		return []Node{n.L, n.R}
	case *Call:
		if n.Filter != nil {
			return append(append([]Node{}, n.Args...), n.Filter)
		}
		return n.Args
	case *Case:
		var out []Node
		if n.Operand != nil {
			out = append(out, n.Operand)
		}
		for _, w := range n.Whens {
			out = append(out, w.Cond, w.Result)
		}
		if n.Else != nil {
			out = append(out, n.Else)
		}
		return out
	case *Cast:
		return []Node{n.X}
	case *In:
		return append([]Node{n.X}, n.List...)
	case *Between:
		return []Node{n.X, n.Lo, n.Hi}
	case *Like:
		if n.Escape != nil {
			return []Node{n.X, n.Pattern, n.Escape}
		}
		return []Node{n.X, n.Pattern}
	case *IsNull:
		return []Node{n.X}
	case *IsBool:
		return []Node{n.X}
	}
	return nil
}

// Columns returns the names of the columns n refers to, each once, in order of first use.
func Columns(n Node) []string {
	var out []string
	Walk(n, func(n Node) bool {
		if c, ok := n.(*Column); ok {
			for _, have := range out {
				if have == c.Name {
					return true
				}
			}
			out = append(out, c.Name)
		}
		return true
	})
	return out
}

// Precedence levels, loosest first; the parser and String agree on them.
const (
	precOr = iota + 1
	precAnd
	precNot
	precIs
	precCmp
	precLike // BETWEEN, IN, LIKE
	precConcat
	precAdd
	precMul
	precUnary
	precPrimary
)

// binaryPrec gives the precedence of each infix operator.
var binaryPrec = map[string]int{
	"OR": precOr, "AND": precAnd,
	"=": precCmp, "<>": precCmp, "<": precCmp, "<=": precCmp, ">": precCmp, ">=": precCmp,
	"||": precConcat,
	"+":  precAdd, "-": precAdd,
	"*": precMul, "/": precMul, "%": precMul,
}

func precOf(n Node) int {
	switch n := n.(type) {
	case *Binary:
		return binaryPrec[n.Op]
	case *Unary:
		if n.Op == "NOT" {
			return precNot
		}
		return precUnary
	case *Literal:
		if n.Kind == LitNumber && strings.HasPrefix(n.Value, "-") {
			return precUnary
		}
	case *IsNull, *IsBool:
		return precIs
	case *In, *Between, *Like:
		return precLike
	}
	return precPrimary
}

// reserved lists the keywords that cannot be bare column names.
var reserved = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "is": true, "null": true, "true": true,
	"false": true, "between": true, "like": true, "ilike": true, "case": true, "when": true,
	"then": true, "else": true, "end": true, "cast": true, "as": true, "escape": true,
	"distinct": true,
}

func (n *Column) String() string { return quoteIdent(n.Name) }

// quoteIdent writes name bare when it reads back as the same identifier, else in double quotes.
func quoteIdent(name string) string {
	plain := name != "" && !reserved[strings.ToLower(name)] && !isDigit(name[0])
	for i := 0; i < len(name) && plain; i++ {
		c := name[i]
		plain = c == '_' || isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	}
	if plain {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (n *Literal) String() string {
	switch n.Kind {
	case LitNull:
		return "NULL"
	case LitBool:
		return strings.ToUpper(n.Value)
	case LitNumber:
		return n.Value
	case LitString:
		return quoteString(n.Value)
	case LitTimestamp:
		return "TIMESTAMP " + quoteString(n.Value)
	case LitDate:
		return "DATE " + quoteString(n.Value)
	case LitInterval:
		return "INTERVAL " + quoteString(n.Value)
	}
	return "?"
}

func (n *Unary) String() string {
	var b strings.Builder
	writeUnary(&b, n)
	return b.String()
}

func (n *Binary) String() string  { return render(n) }
func (n *Call) String() string    { return render(n) }
func (n *Case) String() string    { return render(n) }
func (n *Cast) String() string    { return render(n) }
func (n *In) String() string      { return render(n) }
func (n *Between) String() string { return render(n) }
func (n *Like) String() string    { return render(n) }
func (n *IsNull) String() string  { return render(n) }
func (n *IsBool) String() string  { return render(n) }

func render(n Node) string {
	var b strings.Builder
	write(&b, n, 0)
	return b.String()
}

// write renders n, in parentheses when it binds more loosely than min.
func write(b *strings.Builder, n Node, min int) {
	if precOf(n) < min {
		b.WriteByte('(')
		write(b, n, 0)
		b.WriteByte(')')
		return
	}
	switch n := n.(type) {
	case *Binary:
		p := binaryPrec[n.Op]
		write(b, n.L, p)
		b.WriteString(" " + n.Op + " ")
		write(b, n.R, p+1)
	case *Unary:
		writeUnary(b, n)
	case *Call:
		b.WriteString(n.Name)
		b.WriteByte('(')
		if n.Star {
			b.WriteByte('*')
		}
		if n.Distinct {
			b.WriteString("DISTINCT ")
		}
		writeList(b, n.Args)
		b.WriteByte(')')
		if n.Filter != nil {
			b.WriteString(" FILTER (WHERE ")
			write(b, n.Filter, 0)
			b.WriteByte(')')
		}
	case *Case:
		b.WriteString("CASE")
		if n.Operand != nil {
			b.WriteByte(' ')
			write(b, n.Operand, 0)
		}
		for _, w := range n.Whens {
			b.WriteString(" WHEN ")
			write(b, w.Cond, 0)
			b.WriteString(" THEN ")
			write(b, w.Result, 0)
		}
		if n.Else != nil {
			b.WriteString(" ELSE ")
			write(b, n.Else, 0)
		}
		b.WriteString(" END")
	case *Cast:
		b.WriteString("CAST(")
		write(b, n.X, 0)
		b.WriteString(" AS " + typeName(n.Type) + ")")
	case *In:
		write(b, n.X, precLike)
		b.WriteString(not(n.Not) + " IN (")
		writeList(b, n.List)
		b.WriteByte(')')
	case *Between:
		write(b, n.X, precLike)
		b.WriteString(not(n.Not) + " BETWEEN ")
		write(b, n.Lo, precConcat)
		b.WriteString(" AND ")
		write(b, n.Hi, precConcat)
	case *Like:
		write(b, n.X, precLike)
		op := " LIKE "
		if n.Insensitive {
			op = " ILIKE "
		}
		b.WriteString(not(n.Not) + op)
		write(b, n.Pattern, precConcat)
		if n.Escape != nil {
			b.WriteString(" ESCAPE ")
			write(b, n.Escape, precConcat)
		}
	case *IsNull:
		write(b, n.X, precIs)
		b.WriteString(" IS" + not(n.Not) + " NULL")
	case *IsBool:
		write(b, n.X, precIs)
		v := " FALSE"
		if n.Value {
			v = " TRUE"
		}
		b.WriteString(" IS" + not(n.Not) + v)
	default:
		b.WriteString(n.String())
	}
}

func writeUnary(b *strings.Builder, n *Unary) {
	if n.Op == "NOT" {
		b.WriteString("NOT ")
		write(b, n.X, precNot)
		return
	}
	b.WriteString(n.Op)
	// Keep "- -x" from reading as a comment or merging signs: nest signed operands in parentheses.
	if precOf(n.X) <= precUnary {
		b.WriteByte('(')
		write(b, n.X, 0)
		b.WriteByte(')')
		return
	}
	write(b, n.X, precUnary)
}

func writeList(b *strings.Builder, list []Node) {
	for i, a := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		write(b, a, 0)
	}
}

func not(v bool) string {
	if v {
		return " NOT"
	}
	return ""
}

package expr

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestWalkAndColumns(t *testing.T) {
	n, err := Parse(`CASE WHEN a > 1 THEN coalesce(b, "c d") ELSE a END + CAST(e AS int) IN (f, 1) AND g LIKE h ESCAPE '!' AND i BETWEEN j AND a IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", "c d", "e", "f", "g", "h", "i", "j"}
	if got := Columns(n); !slices.Equal(got, want) {
		t.Errorf("Columns = %q, want %q", got, want)
	}
	// Returning false skips a node's children.
	var seen []string
	Walk(n, func(n Node) bool {
		if c, ok := n.(*Call); ok {
			seen = append(seen, c.Name)
			return false
		}
		if c, ok := n.(*Column); ok {
			seen = append(seen, c.Name)
		}
		return true
	})
	if want := []string{"a", "coalesce", "a", "e", "f", "g", "h", "i", "j", "a"}; !slices.Equal(seen, want) {
		t.Errorf("Walk saw %q, want %q", seen, want)
	}
}

func TestStringOfBuiltTrees(t *testing.T) {
	for _, tc := range []struct {
		n    Node
		want string
	}{
		{&Unary{Op: "-", X: &Literal{Kind: LitNumber, Value: "-5"}}, "-(-5)"},
		{&Unary{Op: "-", X: &Unary{Op: "-", X: &Column{Name: "x"}}}, "-(-x)"},
		{&Binary{Op: "*", L: &Literal{Kind: LitNumber, Value: "-5"}, R: &Column{Name: "x"}}, "-5 * x"},
		{&Binary{Op: "-", L: &Column{Name: "a"}, R: &Binary{Op: "+", L: &Column{Name: "b"}, R: &Column{Name: "c"}}}, "a - (b + c)"},
		{&Column{Name: "1st"}, `"1st"`},
		{&Column{Name: "Ümlaut"}, `"Ümlaut"`},
		{&Call{Name: "count", Args: []Node{&Column{Name: "x"}}, Distinct: true}, "count(DISTINCT x)"},
		{&Cast{X: &Column{Name: "x"}, Type: arrow.FixedWidthTypes.Date32}, "CAST(x AS date)"},
		{&Literal{Kind: LitString, Value: "a'b"}, "'a''b'"},
	} {
		if got := tc.n.String(); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}

// TestStringRoundTrip renders random trees and parses them back: the canonical form must
// keep every tree's shape, which exercises precedence and associativity in both directions.
func TestStringRoundTrip(t *testing.T) {
	for seed := uint64(0); seed < 5; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		for i := 0; i < 2000; i++ {
			n := randomTree(rng, 4)
			src := n.String()
			back, err := Parse(src)
			if err != nil {
				t.Fatalf("parse %q: %v", src, err)
			}
			if !reflect.DeepEqual(n, back) {
				t.Fatalf("round trip of %q changed the tree:\n%#v\n%#v", src, n, back)
			}
		}
	}
}

// randomTree builds a syntactically arbitrary tree of the given depth, in the normal form
// the parser produces (signs folded into number literals, lower-case function names).
func randomTree(rng *rand.Rand, depth int) Node {
	leaf := func() Node {
		switch rng.IntN(7) {
		case 0:
			return &Literal{Kind: LitNumber, Value: []string{"1", "-2", "3.50", "1e3", "-0.5"}[rng.IntN(5)]}
		case 1:
			return &Literal{Kind: LitString, Value: []string{"", "a'b", "x"}[rng.IntN(3)]}
		case 2:
			if rng.IntN(2) == 0 {
				return &Literal{Kind: LitNull}
			}
			return &Literal{Kind: LitBool, Value: []string{"true", "false"}[rng.IntN(2)]}
		case 3:
			return &Literal{Kind: LitDate, Value: "2024-01-01"}
		default:
			return &Column{Name: []string{"a", "b", "Amount", "x y", "date"}[rng.IntN(5)]}
		}
	}
	if depth == 0 {
		return leaf()
	}
	sub := func() Node { return randomTree(rng, rng.IntN(depth)) }
	ops := []string{"OR", "AND", "=", "<>", "<", "<=", ">", ">=", "||", "+", "-", "*", "/", "%"}
	switch rng.IntN(12) {
	case 0, 1, 2:
		return &Binary{Op: ops[rng.IntN(len(ops))], L: sub(), R: sub()}
	case 3:
		x := sub()
		if l, ok := x.(*Literal); ok && l.Kind == LitNumber {
			return &Unary{Op: "NOT", X: x}
		}
		return &Unary{Op: []string{"-", "NOT", "+"}[rng.IntN(3)], X: x}
	case 4:
		return &Call{Name: []string{"f", "coalesce", "lower"}[rng.IntN(3)], Args: []Node{sub(), sub()}}
	case 5:
		c := &Case{Whens: []When{{Cond: sub(), Result: sub()}}}
		if rng.IntN(2) == 0 {
			c.Operand = sub()
		}
		if rng.IntN(2) == 0 {
			c.Else = sub()
		}
		return c
	case 6:
		return &Cast{X: sub(), Type: arrow.PrimitiveTypes.Int64}
	case 7:
		return &In{X: sub(), List: []Node{sub(), sub()}, Not: rng.IntN(2) == 0}
	case 8:
		return &Between{X: sub(), Lo: sub(), Hi: sub(), Not: rng.IntN(2) == 0}
	case 9:
		l := &Like{X: sub(), Pattern: sub(), Not: rng.IntN(2) == 0, Insensitive: rng.IntN(2) == 0}
		if rng.IntN(2) == 0 {
			l.Escape = sub()
		}
		return l
	case 10:
		return &IsNull{X: sub(), Not: rng.IntN(2) == 0}
	default:
		return &IsBool{X: sub(), Value: rng.IntN(2) == 0, Not: rng.IntN(2) == 0}
	}
}

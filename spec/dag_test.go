package spec

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestOrder(t *testing.T) {
	tests := []struct {
		name  string
		views string
		want  []string
	}{
		{"file order when already topological", "  a: {from: tx}\n  b: {from: a}\n  c: {from: [a, b]}\n", []string{"a", "b", "c"}},
		{"readers after what they read", "  c: {from: [a, b]}\n  b: {from: a}\n  a: {from: tx}\n", []string{"a", "b", "c"}},
		{"first ready first", "  z: {from: y}\n  y: {from: tx}\n  x: {from: tx}\n  w: {from: x}\n", []string{"y", "z", "x", "w"}},
		{"side streams and sources add no order", "  late: {from: tx.late}\n  all: {from: [tx, late]}\n", []string{"late", "all"}},
		{"diamond", "  d: {from: [b, c]}\n  c: {from: a}\n  b: {from: a}\n  a: {from: tx}\n", []string{"a", "c", "b", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, head+"views:\n"+tt.views)
			if got := s.Order(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Order() = %v, want %v", got, tt.want)
			}
			for i := 0; i < 3; i++ { // deterministic
				if got := s.Order(); !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Order() changed to %v", got)
				}
			}
		})
	}
}

// TestOrderWithCycle checks Order on a spec Parse would refuse, built by hand: the views a
// cycle holds back come last.
func TestOrderWithCycle(t *testing.T) {
	s := &Spec{
		Sources: []*Source{{Name: "tx"}},
		Views: []*View{
			{Name: "a", From: []string{"b"}},
			{Name: "b", From: []string{"a"}},
			{Name: "c", From: []string{"tx"}},
		},
	}
	if got, want := s.Order(), []string{"c", "a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Order() = %v, want %v", got, want)
	}
}

func TestInputs(t *testing.T) {
	s := mustParse(t, head+"views:\n  u: {from: [tx, tx.late]}\n  v: {from: u}\nsinks:\n  out: {from: v, kind: stdout}\n")
	if got := s.Inputs("u"); !reflect.DeepEqual(got, []string{"tx", "tx.late"}) {
		t.Errorf("Inputs(u) = %v", got)
	}
	if got := s.Inputs("v"); !reflect.DeepEqual(got, []string{"u"}) {
		t.Errorf("Inputs(v) = %v", got)
	}
	if s.Inputs("tx") != nil || s.Inputs("out") != nil || s.Inputs("nope") != nil {
		t.Error("Inputs of a source, a sink or nothing must be nil")
	}
	s.Inputs("u")[0] = "changed"
	if s.View("u").From[0] != "tx" {
		t.Error("Inputs returned the view's own slice")
	}
}

func TestCycles(t *testing.T) {
	checkErrors(t, []errorCase{
		{"two views", head + "views:\n  a: {from: b}\n  b: {from: a}\n", []string{
			"t.yaml:5: views: cycle a -> b -> a: a view cannot read its own output",
		}},
		{"self", head + "views:\n  a: {from: [tx, a]}\n", []string{
			"t.yaml:5: views: cycle a -> a: a view cannot read its own output",
		}},
		{"shortest way round, from the first view written", head + "views:\n  x: {from: tx}\n  a: {from: [x, d]}\n  b: {from: a}\n  c: {from: b}\n  d: {from: [c, a]}\n", []string{
			"t.yaml:6: views: cycle a -> d -> a: a view cannot read its own output",
		}},
		{"two separate cycles", head + "views:\n  a: {from: b}\n  b: {from: a}\n  c: {from: d}\n  d: {from: c}\n  e: {from: [a, c]}\n", []string{
			"t.yaml:5: views: cycle a -> b -> a: a view cannot read its own output",
			"t.yaml:7: views: cycle c -> d -> c: a view cannot read its own output",
		}},
	})
	// A view downstream of a cycle is not itself reported.
	got := parseErrors(t, head+"views:\n  a: {from: b}\n  b: {from: a}\n  after: {from: a}\n")
	if len(got) != 1 || strings.Contains(got[0], "after") {
		t.Errorf("errors = %q, want the one cycle", got)
	}
}

// TestCyclesInALongSpec checks a generated spec: a chain of 20 000 views, read at its end
// by a knot of three views and a view that reads itself, and a thousand two-view cycles.
// Every knot is reported once, the chain and what reads a knot are not.
func TestCyclesInALongSpec(t *testing.T) {
	var b strings.Builder
	b.WriteString(head + "views:\n  c0: {from: tx}\n")
	const chain = 20_000
	for i := 1; i < chain; i++ {
		fmt.Fprintf(&b, "  c%d: {from: c%d}\n", i, i-1)
	}
	fmt.Fprintf(&b, "  k0: {from: [c%d, k2]}\n  k1: {from: k0}\n  k2: {from: k1}\n  self: {from: [k1, self]}\n", chain-1)
	for i := range 1000 {
		fmt.Fprintf(&b, "  p%d: {from: q%d}\n  q%d: {from: p%d}\n", i, i, i, i)
	}
	errs := parseErrors(t, b.String())
	if len(errs) != 1002 {
		t.Fatalf("%d errors, want 1002; the first: %q", len(errs), errs[:min(len(errs), 3)])
	}
	for i, want := range []string{"cycle k0 -> k1 -> k2 -> k0", "cycle self -> self", "cycle p0 -> q0 -> p0", "cycle p999 -> q999 -> p999"} {
		at := min(i, 2) + max(i-2, 0)*999
		if !strings.Contains(errs[at], want) {
			t.Errorf("error %d = %q, want %q", at, errs[at], want)
		}
	}
}

package plan

import (
	"github.com/apache/arrow-go/v18/arrow"

	"millrace/agg"
	"millrace/expr"
	"millrace/spec"
)

// checkSelectNames finds the mistakes a newcomer makes with the names of a view's select, and
// explains them before compiling reports a bare unknown column: a name that another select
// expression uses as if it were a column, and, in a grouped view, a column used outside any
// aggregate that is not in group_by, or a select name that a group_by or window column
// already has. in is the view's input; grouped is set for aggregating views.
func checkSelectNames(v *spec.View, in *arrow.Schema, grouped bool) error {
	selectNames := map[string]spec.Expr{}
	for _, f := range v.Select {
		selectNames[f.Name] = f.Expr
	}
	keys := map[string]bool{}
	plainKeys := true
	for _, g := range v.GroupBy {
		n, err := expr.Parse(g.Text)
		if err != nil {
			return nil // compiling reports it
		}
		c, ok := n.(*expr.Column)
		if !ok {
			plainKeys = false // select may repeat a group_by expression; leave it to the planner
			continue
		}
		keys[c.Name] = true
	}
	if grouped {
		for _, f := range v.Select {
			if keys[f.Name] && !isColumn(f.Expr, f.Name) {
				return f.Expr.Errorf("%s is already a column of this view (it is in group_by): give this one another name", f.Name)
			}
			if v.Window != nil && (f.Name == "window_start" || f.Name == "window_end") {
				return f.Expr.Errorf("%s is already a column of this window view: give this one another name", f.Name)
			}
		}
	}
	for _, f := range v.Select {
		n, err := expr.Parse(f.Expr.Text)
		if err != nil {
			return nil // compiling reports it
		}
		var problem error
		expr.Walk(n, func(n expr.Node) bool {
			if problem != nil {
				return false
			}
			switch n := n.(type) {
			case *expr.Call:
				return !agg.IsAggregate(n.Name) // an aggregate's argument reads the input rows
			case *expr.Column:
				problem = columnProblem(v, f, n.Name, in, grouped, plainKeys, keys, selectNames)
			}
			return true
		})
		if problem != nil {
			return problem
		}
	}
	return nil
}

// columnProblem explains why name, used outside aggregates in the select field f, is not a
// column there, or returns nil when it is (or when compiling explains it well enough).
func columnProblem(v *spec.View, f spec.Field, name string, in *arrow.Schema, grouped, plainKeys bool, keys map[string]bool, selectNames map[string]spec.Expr) error {
	inInput := len(in.FieldIndices(name)) > 0
	if grouped {
		if keys[name] || (v.Window != nil && (name == "window_start" || name == "window_end")) {
			return nil
		}
		if inInput && plainKeys {
			return f.Expr.Errorf("%s is neither in group_by nor inside an aggregate: put it in group_by or inside an aggregate such as min(%s)", name, name)
		}
	}
	if inInput {
		return nil
	}
	other, ok := selectNames[name]
	if !ok || name == f.Name {
		return nil
	}
	where := "in a view that reads this one"
	if grouped {
		where = "in having, or in a view that reads this one"
	}
	return f.Expr.Errorf("%s is a name this select gives (to %s), not a column of the input: one select expression cannot use another's name; write the expression itself here, or use %s %s",
		name, other.Text, name, where)
}

// isColumn reports whether e is the bare column name.
func isColumn(e spec.Expr, name string) bool {
	n, err := expr.Parse(e.Text)
	if err != nil {
		return false
	}
	c, ok := n.(*expr.Column)
	return ok && c.Name == name
}

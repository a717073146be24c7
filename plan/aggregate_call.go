package plan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/expr"
	"millrace/op"
	"millrace/spec"
)

// aggCall makes the op.AggCall of a view's k-th aggregate call and appends to pre the
// columns the step before the exchange computes its arguments in: one per argument that is
// not a number literal, then the condition of its FILTER clause, if any, which goes to the
// accumulator as its last argument. count(DISTINCT x) is count_distinct(x); other aggregates
// refuse DISTINCT.
func aggCall(k int, c plannedCall, pre []spec.Field) (op.AggCall, []spec.Field, error) {
	ac := op.AggCall{Name: c.call.Name, Text: c.call.String()}
	if c.call.Distinct {
		if !strings.EqualFold(c.call.Name, "count") {
			return ac, nil, c.at.Errorf("%s: %s takes no DISTINCT; count distinct values with count(DISTINCT x) or count_distinct(x)", c.call, c.call.Name)
		}
		ac.Name = "count_distinct"
	}
	for j, a := range c.call.Args {
		if lit, ok := a.(*expr.Literal); ok && lit.Kind == expr.LitNumber {
			f, err := strconv.ParseFloat(lit.Value, 64)
			if err != nil {
				return ac, nil, c.at.Errorf("%s: %v", c.call, err)
			}
			ac.Args = append(ac.Args, -1)
			ac.Const = append(ac.Const, f)
			continue
		}
		ac.Args = append(ac.Args, len(pre))
		ac.Const = append(ac.Const, nil)
		pre = append(pre, spec.Field{Name: fmt.Sprintf("__arg_%d_%d", k, j), Expr: spec.Expr{Text: a.String(), Path: c.at.Path, Pos: c.at.Pos}})
	}
	if c.call.Filter != nil {
		ac.Filter = true
		ac.Args = append(ac.Args, len(pre))
		ac.Const = append(ac.Const, nil)
		pre = append(pre, spec.Field{Name: fmt.Sprintf("__filter_%d", k), Expr: spec.Expr{Text: c.call.Filter.String(), Path: c.at.Path, Pos: c.at.Pos}})
	}
	return ac, pre, nil
}

// checkFilter refuses a FILTER clause whose condition, computed in the step before the
// exchange (pre), is not true or false.
func checkFilter(c plannedCall, ac op.AggCall, pre *arrow.Schema) error {
	if !ac.Filter {
		return nil
	}
	if t := pre.Field(ac.Args[len(ac.Args)-1]).Type; t.ID() != arrow.BOOL {
		return c.at.Errorf("%s: the FILTER condition must be true or false, not %s", c.call, t)
	}
	return nil
}

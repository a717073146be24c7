package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Select evaluates each expression over rec and returns a new batch of the results, column i
// named names[i] with the type and nullability of exprs[i]. The caller releases it.
func Select(rec arrow.RecordBatch, exprs []*Expr, names []string) (arrow.RecordBatch, error) {
	if len(exprs) != len(names) {
		return nil, fmt.Errorf("expr: select has %d expressions but %d names", len(exprs), len(names))
	}
	fields := make([]arrow.Field, len(exprs))
	cols := make([]arrow.Array, 0, len(exprs))
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for i, e := range exprs {
		a, err := e.Eval(rec)
		if err != nil {
			return nil, fmt.Errorf("expr: select %s: %w", names[i], err)
		}
		cols = append(cols, a)
		fields[i] = arrow.Field{Name: names[i], Type: e.Type(), Nullable: e.Nullable()}
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows()), nil
}

package gen

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
)

// Schema is the schema of the batches a stream of cfg makes: schema.Transaction, followed by
// fraud_scenario with Config.ScenarioColumn (schema.TransactionScenario).
func Schema(cfg Config) *arrow.Schema {
	if cfg.ScenarioColumn {
		return schema.TransactionScenario()
	}
	return schema.Transaction()
}

// withScenario appends the fraud_scenario column of rows to rec, which it releases.
func withScenario(mem memory.Allocator, rec arrow.RecordBatch, rows []row) arrow.RecordBatch {
	defer rec.Release()
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(len(rows))
	for i := range rows {
		if s := rows[i].scenario; s != 0 {
			b.Append(Scenario(s - 1).String())
		} else {
			b.AppendNull()
		}
	}
	col := b.NewArray()
	defer col.Release()
	cols := append(append([]arrow.Array{}, rec.Columns()...), col)
	return array.NewRecordBatch(schema.TransactionScenario(), cols, rec.NumRows())
}

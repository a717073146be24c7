package plan

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/op"
	"millrace/spec"
	"millrace/table"
)

// viewSink adds a sink that keeps the table of a changelog in memory (see package table),
// one shard per subtask of the changelog's step, which it follows.
func (b *builder) viewSink(k *spec.Sink, name string, from stream) error {
	if from.changelog == nil {
		return b.spec.Errorf("sinks."+k.Name+".from", "a view sink keeps a changelog's table, and %s is none: "+
			"give it a view with group_by and no window (over an unbounded input, or with emit: batch), or with top", k.From)
	}
	cfg := op.MaterializeConfig{In: from.schema, Op: from.schema.FieldIndices(op.OpColumn)[0], Rows: from.changelog.rows}
	var fields []arrow.Field
	var keys []int
	for i, f := range from.schema.Fields() {
		if i != cfg.Op {
			fields = append(fields, f)
		}
	}
	rows := arrow.NewSchema(fields, nil)
	for _, key := range from.changelog.keys {
		cfg.Keys = append(cfg.Keys, from.schema.FieldIndices(key)[0])
		keys = append(keys, rows.FieldIndices(key)[0])
	}
	if _, err := op.NewMaterialize(cfg); err != nil {
		return b.spec.Errorf("sinks."+k.Name, "%v", err)
	}
	t := table.New(k.Name, k.From, rows, keys, cfg.Rows)
	cfg.Shard = t.Shard
	p := from.node.Parallelism
	n := &engine.Node{Name: name, Parallelism: p, Operator: func(int) (op.Operator, error) { return op.NewMaterialize(cfg) }}
	by := "one key"
	if len(keys) > 0 {
		by = "key " + strings.Join(from.changelog.keys, ", ")
	}
	b.addNode(n, KindSink, nil, fmt.Sprintf("keep the table in memory by %s, read at /api/views/%s", by, k.Name))
	b.connect(from, n, 0, engine.Forward)
	b.plan.Tables = append(b.plan.Tables, t)
	return nil
}

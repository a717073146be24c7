package table

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/op"
)

// TestTableLooksUpAndPages fills a table keyed by two columns through op.Materialize in two
// subtasks and reads it back: a key's row, a key that is not there, a value of the wrong
// type, and the whole table in pages in key order.
func TestTableLooksUpAndPages(t *testing.T) {
	in := arrow.NewSchema([]arrow.Field{
		{Name: op.OpColumn, Type: arrow.BinaryTypes.String},
		{Name: "country", Type: arrow.BinaryTypes.String},
		{Name: "mcc", Type: arrow.PrimitiveTypes.Int32},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	tb := New("spend", "per_country", arrow.NewSchema(in.Fields()[1:], nil), []int{0, 1}, false)
	cfg := op.MaterializeConfig{In: in, Op: 0, Keys: []int{1, 2}, Shard: tb.Shard}
	for sub := range 2 {
		m, err := op.NewMaterialize(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Open(op.Context{Subtask: sub, Parallelism: 2}); err != nil {
			t.Fatal(err)
		}
		b := array.NewRecordBuilder(memory.DefaultAllocator, in)
		for i := range 5 {
			b.Field(0).(*array.StringBuilder).Append(op.OpInsert)
			b.Field(1).(*array.StringBuilder).Append([]string{"DE", "FR"}[sub])
			b.Field(2).(*array.Int32Builder).Append(int32(5000 + i))
			b.Field(3).(*array.Int64Builder).Append(int64(10*sub + i))
		}
		rec := b.NewRecordBatch()
		b.Release()
		if err := m.Process(0, rec, nil); err != nil {
			t.Fatal(err)
		}
	}
	if tb.Len() != 10 || strings.Join(tb.KeyColumns(), ",") != "country,mcc" || strings.Join(tb.Columns(), ",") != "country,mcc,n" {
		t.Fatalf("%d rows, keys %v, columns %v", tb.Len(), tb.KeyColumns(), tb.Columns())
	}
	rows, err := tb.Lookup([]string{"FR", "5003"})
	if err != nil || len(rows) != 1 || string(rows[0]) != `{"country":"FR","mcc":5003,"n":13}` {
		t.Fatalf("FR/5003: %s, %v", rows, err)
	}
	if rows, err := tb.Lookup([]string{"IT", "5003"}); err != nil || len(rows) != 0 {
		t.Fatalf("IT/5003: %s, %v", rows, err)
	}
	if _, err := tb.Lookup([]string{"FR", "five"}); err == nil || !strings.Contains(err.Error(), `key column mcc: "five" is not a int32`) {
		t.Fatalf("a key value of the wrong type: %v", err)
	}
	if _, err := tb.Lookup([]string{"FR"}); err == nil {
		t.Fatal("a key of one value for two key columns was looked up")
	}
	seen := map[string]bool{}
	for offset := 0; offset < 10; offset += 4 {
		page, total, err := tb.Page(offset, 4)
		if err != nil || total != 10 || len(page) != min(4, 10-offset) {
			t.Fatalf("page at %d: %d rows of %d, %v", offset, len(page), total, err)
		}
		for _, r := range page {
			var row struct {
				Country string
				Mcc     int
			}
			if err := json.Unmarshal(r, &row); err != nil {
				t.Fatal(err)
			}
			seen[fmt.Sprint(row.Country, row.Mcc)] = true
		}
	}
	if len(seen) != 10 {
		t.Fatalf("the pages hold %d distinct rows, want 10", len(seen))
	}
	if tb.Shard(0, 1); tb.Len() != 5 {
		t.Fatalf("at parallelism 1 the table still holds %d rows, want subtask 0's 5", tb.Len())
	}
}

package kafka

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/kafka/kafkatest"
	"millrace/op"
)

var changelogSchema = arrow.NewSchema([]arrow.Field{
	{Name: op.OpColumn, Type: arrow.BinaryTypes.String},
	{Name: "card_id", Type: arrow.BinaryTypes.String},
	{Name: "n", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// changes is a batch of changelog rows, each "op card n".
func changes(rows ...string) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, changelogSchema)
	defer b.Release()
	for _, r := range rows {
		f := strings.Fields(r)
		b.Field(0).(*array.StringBuilder).Append(f[0])
		b.Field(1).(*array.StringBuilder).Append(f[1])
		if err := b.Field(2).AppendValueFromString(f[2]); err != nil {
			panic(err)
		}
	}
	return b.NewRecordBatch()
}

// TestUpsertWritesTheTableByKey writes a changelog exactly once into a compacted topic the
// sink creates: inserts and updates after are records keyed by the card, updates before
// write nothing, deletes are tombstones, and keeping each key's last record gives the table.
func TestUpsertWritesTheTableByKey(t *testing.T) {
	brokers := kafkatest.Cluster(t, "", 0)
	ctx := context.Background()
	conn := Conn{Brokers: brokers}
	if n, err := EnsureCompactedTopic(ctx, conn, "table", 3); err != nil || n != 3 {
		t.Fatalf("create: %d partitions, %v", n, err)
	}
	if _, err := EnsureCompactedTopic(ctx, conn, "table", 0); err != nil {
		t.Fatalf("the topic it created: %v", err)
	}
	if _, err := EnsureTopic(ctx, conn, "plain", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureCompactedTopic(ctx, conn, "plain", 0); err == nil || !strings.Contains(err.Error(), "cleanup.policy is not compact") {
		t.Fatalf("a topic that deletes old records: %v", err)
	}

	newSink, err := NewSinkFactory(ctx, changelogSchema, SinkOptions{Conn: conn, Topic: "table", ID: "millrace.test.table",
		Upsert: &Upsert{Op: 0, Keys: []int{1}}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := newSink()
	if err := s.Open(op.Context{Node: "sink.table", Parallelism: 1, Checkpointing: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Process(0, changes("+I c1 1", "+I c2 5", "-U c1 1", "+U c1 2", "-D c2 5", "+I c3 7"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(1); err != nil {
		t.Fatal(err)
	}
	recs := kafkatest.ReadCommitted(t, brokers, "table")
	table := map[string]string{}
	tombstones := 0
	for _, r := range recs {
		if r.Value == nil {
			tombstones++
			delete(table, string(r.Key))
			continue
		}
		table[string(r.Key)] = string(r.Value)
	}
	want := map[string]string{`{"card_id":"c1"}`: `{"card_id":"c1","n":2}`, `{"card_id":"c3"}`: `{"card_id":"c3","n":7}`}
	if len(recs) != 5 || tombstones != 1 || !maps.Equal(table, want) {
		t.Fatalf("%d records, %d tombstones, table %v; want 5, 1 and %v", len(recs), tombstones, table, want)
	}
	if err := s.Process(0, changes("+X c1 1"), nil); err == nil || !strings.Contains(err.Error(), `row 0 has _op "+X"`) {
		t.Fatalf("an unknown change: %v", err)
	}

	if _, err := NewSinkFactory(ctx, changelogSchema, SinkOptions{Conn: conn, Topic: "table", ID: "x", Upsert: &Upsert{Op: 2, Keys: []int{1}}}); err == nil {
		t.Fatal("upsert took a column of numbers as the _op column")
	}
	if _, err := NewSinkFactory(ctx, changelogSchema, SinkOptions{Conn: conn, Topic: "table", ID: "x", Upsert: &Upsert{Op: 0, Keys: []int{1}}, Key: columnEval(1)}); err == nil {
		t.Fatal("upsert took a key expression")
	}
}

package kafka

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"millrace/kafka/kafkatest"
	"millrace/op"
)

var avroSchemaIn = arrow.NewSchema([]arrow.Field{
	{Name: "tx_id", Type: arrow.BinaryTypes.String},
	{Name: "mcc", Type: arrow.PrimitiveTypes.Int32},
	{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	{Name: "lat", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "is_fraud", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}},
}, nil)

func TestAvroValuesRoundTripThroughTheRegistry(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	brokers := kafkatest.Cluster(t, "avro", 2)
	newSink, err := NewSinkFactory(context.Background(), avroSchemaIn, SinkOptions{Conn: Conn{Brokers: brokers}, Topic: "avro",
		Delivery: ExactlyOnce, ID: "millrace.test.avro", Registry: reg.URL(), Key: columnEval(0)})
	if err != nil {
		t.Fatal(err)
	}
	s := newSink()
	if err := s.Open(op.Context{Node: "sink.out", Parallelism: 1, Checkpointing: true}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()

	amounts := []int64{12345, -12345, 0, -1, 128, -129, 999999999999999999}
	ts := time.Date(2024, 1, 31, 18, 4, 5, 678e6, time.UTC)
	b := array.NewRecordBuilder(memory.DefaultAllocator, avroSchemaIn)
	for i, a := range amounts {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("t%d", i))
		b.Field(1).(*array.Int32Builder).Append(int32(5000 + i))
		b.Field(2).(*array.Int64Builder).Append(int64(-i) << 40)
		if i%2 == 0 {
			b.Field(3).(*array.Float64Builder).Append(48.5 + float64(i))
			b.Field(4).(*array.BooleanBuilder).Append(i%4 == 0)
		} else {
			b.Field(3).AppendNull()
			b.Field(4).AppendNull()
		}
		b.Field(5).(*array.Date32Builder).Append(arrow.Date32FromTime(ts.AddDate(0, 0, i)))
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.Add(time.Duration(i) * time.Second).UnixMilli()))
		b.Field(7).(*array.Decimal128Builder).Append(decimal128.FromI64(a))
	}
	rec := b.NewRecordBatch()
	b.Release()
	if err := s.Process(0, rec, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(1); err != nil {
		t.Fatal(err)
	}

	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	for _, r := range kafkatest.ReadCommitted(t, brokers, "avro") {
		id, body, err := new(sr.ConfluentHeader).DecodeID(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		ss, err := cl.SchemaByID(context.Background(), id)
		if err != nil {
			t.Fatalf("schema %d: %v", id, err)
		}
		schema, err := avro.Parse(ss.Schema)
		if err != nil {
			t.Fatal(err)
		}
		var row map[string]any
		if err := avro.Unmarshal(schema, body, &row); err != nil {
			t.Fatalf("decode %x: %v", body, err)
		}
		got[string(r.Key)] = row
	}
	if len(got) != len(amounts) {
		t.Fatalf("%d records, want %d", len(got), len(amounts))
	}
	for i, a := range amounts {
		row := got[fmt.Sprintf("t%d", i)]
		want := map[string]any{
			"tx_id": fmt.Sprintf("t%d", i), "mcc": 5000 + i, "n": int64(-i) << 40,
			"day": ts.AddDate(0, 0, i).Truncate(24 * time.Hour), "ts": ts.Add(time.Duration(i) * time.Second),
			"amount": big.NewRat(a, 100).RatString(),
		}
		if i%2 == 0 {
			want["lat"], want["is_fraud"] = 48.5+float64(i), i%4 == 0
		} else {
			want["lat"], want["is_fraud"] = nil, nil
		}
		for k, w := range want {
			g := row[k]
			switch v := g.(type) {
			case *big.Rat:
				g = v.RatString()
			case time.Time:
				g = v.UTC()
			}
			if fmt.Sprint(g) != fmt.Sprint(w) {
				t.Errorf("row %d %s: %v (%T), want %v", i, k, g, row[k], w)
			}
		}
	}
}

func TestAvroSchemaNamesTheColumnItCannotWrite(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)}}, nil)
	_, err := AvroSchema(s, "out")
	if err == nil || err.Error() != `column "tags": type list<item: utf8, nullable> has no Avro form here (string, integers, floats, bool, date, timestamp, decimal)` {
		t.Fatalf("%v", err)
	}
}

func TestAvroRegistryAuthenticatesWithTheURLsPasswordAndNeverShowsIt(t *testing.T) {
	reg := srfake.New(srfake.WithAuth("Basic dTpzM2NyZXQ="))
	defer reg.Close()
	withPass := strings.Replace(reg.URL(), "://", "://u:wrong-s3cret@", 1)
	_, err := NewSinkFactory(context.Background(), avroSchemaIn, SinkOptions{Conn: Conn{Brokers: []string{"127.0.0.1:1"}}, Topic: "avro",
		Delivery: AtLeastOnce, Registry: withPass})
	if err == nil {
		t.Fatal("registered with a wrong password")
	}
	if strings.Contains(err.Error(), "wrong-s3cret") || !strings.Contains(err.Error(), "schema registry http://u:xxxxx@") {
		t.Fatalf("error %q: want the registry named without its password", err)
	}
	right := strings.Replace(reg.URL(), "://", "://u:s3cret@", 1)
	if _, err := NewSinkFactory(context.Background(), avroSchemaIn, SinkOptions{Conn: Conn{Brokers: []string{"127.0.0.1:1"}}, Topic: "avro",
		Delivery: AtLeastOnce, Registry: right}); err != nil {
		t.Fatalf("with the right password: %v", err)
	}
}

package kafka

import (
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"millrace/format"
)

const paymentSchema = `{"type":"record","name":"payment","fields":[
	{"name":"id","type":"string"},
	{"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":18,"scale":2}},
	{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
	{"name":"note","type":["null","string"],"default":null}]}`

// registry serves the schema registry's schema-by-id endpoint over real HTTP, from schemas
// by id, counting the requests.
func registry(t *testing.T, schemas map[int]string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /schemas/ids/{id}", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		for id, s := range schemas {
			if r.PathValue("id") == itoa(id) {
				w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
				if err := json.NewEncoder(w).Encode(map[string]any{"schema": s}); err != nil {
					t.Error(err)
				}
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error_code":40403,"message":"Schema not found"}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &hits
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

// avroValue encodes v with schema id in the Confluent wire format.
func avroValue(t *testing.T, id int, schema string, v any) string {
	t.Helper()
	s, err := avro.Parse(schema)
	if err != nil {
		t.Fatal(err)
	}
	body, err := avro.Marshal(s, v)
	if err != nil {
		t.Fatal(err)
	}
	var h sr.ConfluentHeader
	b, err := h.AppendEncode(nil, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return string(append(b, body...))
}

func TestReadAvroThroughARegistry(t *testing.T) {
	srv, hits := registry(t, map[int]string{7: paymentSchema})
	c := newTestCluster(t, 1, "payments")
	note := "first"
	pay := func(id string, cents int64, n *string) map[string]any {
		return map[string]any{"id": id, "amount": big.NewRat(cents, 100), "ts": time.UnixMilli(1764583200000).UTC(), "note": n}
	}
	c.produce(t,
		rec("payments", 0, avroValue(t, 7, paymentSchema, pay("a", 1250, &note))),
		rec("payments", 0, `{"id":"json, not avro"}`),
		rec("payments", 0, avroValue(t, 9, paymentSchema, pay("b", 1, nil))),
		rec("payments", 0, avroValue(t, 7, paymentSchema, pay("c", -99, nil))[:8]),
		rec("payments", 0, avroValue(t, 7, paymentSchema, pay("d", 100000, nil))),
	)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "_offset", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	s := newSource(t, c, Options{Topics: []string{"payments"}, Format: Avro, Registry: srv.URL, Schema: schema})
	rows, dead, _ := read(t, s, 0, nil, 5)
	want := `{"id":"a","amount":12.50,"ts":"2025-12-01T10:00:00.000Z","note":"first","_offset":0} ` +
		`{"id":"d","amount":1000.00,"ts":"2025-12-01T10:00:00.000Z","note":null,"_offset":4}`
	if got := strings.Join(rows, " "); got != want {
		t.Errorf("rows\n got %s\nwant %s", got, want)
	}
	wantDead := []string{
		"payments/0: offset 1: not an Avro value in the Confluent wire format",
		"payments/0: offset 2: schema id 9 is not in the registry at " + srv.URL,
		"payments/0: offset 3: avro (schema id 7): ",
	}
	if len(dead) != len(wantDead) {
		t.Fatalf("dead letters %v", dead)
	}
	for i, d := range dead {
		if !strings.HasPrefix(d.String(), wantDead[i]) {
			t.Errorf("dead letter %d: %s\nwant %s...", i, d, wantDead[i])
		}
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("%d requests to the registry, want 2: schema 7 once, then 9", n)
	}
}

func TestAvroNeedsARegistry(t *testing.T) {
	c := newTestCluster(t, 1, "tx")
	_, err := New(t.Context(), Options{Conn: Conn{Brokers: c.brokers}, Topics: []string{"tx"}, Format: Avro, Schema: txSchema})
	if err == nil || !strings.Contains(err.Error(), "avro values need a schema registry (registry: URL)") {
		t.Errorf("avro without a registry: %v", err)
	}
	_, err = New(t.Context(), Options{Conn: Conn{Brokers: c.brokers}, Topics: []string{"tx"}, Format: format.Parquet, Schema: txSchema})
	if err == nil || !strings.Contains(err.Error(), `format "parquet": want jsonl, csv or avro`) {
		t.Errorf("parquet values: %v", err)
	}
}

package kafka

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/format"
	"millrace/kafka/kafkatest"
	"millrace/source"
)

// testCluster is an in-process Kafka cluster seeded with topics, and a client to it.
type testCluster struct {
	brokers []string
	cl      *kgo.Client
	adm     *kadm.Client
}

func newTestCluster(t testing.TB, partitions int32, topics ...string) testCluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return testCluster{brokers: c.ListenAddrs(), cl: cl, adm: kadm.NewClient(cl)}
}

// produce writes records and waits until the broker has them all.
func (c testCluster) produce(t testing.TB, recs ...*kgo.Record) {
	t.Helper()
	if err := c.cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func rec(topic string, partition int32, value string) *kgo.Record {
	return &kgo.Record{Topic: topic, Partition: partition, Value: []byte(value)}
}

var txSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.BinaryTypes.String},
	{Name: "amount", Type: arrow.PrimitiveTypes.Int64},
}, nil)

func newSource(t testing.TB, c testCluster, opts Options) *Source {
	t.Helper()
	opts.Conn = Conn{Brokers: c.brokers}
	if opts.Topics == nil && opts.TopicRegex == "" {
		opts.Topics = []string{"tx"}
	}
	if opts.Schema == nil {
		opts.Schema = txSchema
	}
	s, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// read reads a partition until n records have come out of it as rows or dead letters, and
// returns the rows as JSON lines, the dead letters and the reader's checkpoint.
func read(t testing.TB, s *Source, partition int, pos []byte, n int) (rows []string, dead []format.DeadLetter, checkpoint []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	r, err := s.Open(ctx, partition, pos)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	enc, err := format.NewRowEncoder(format.JSONL, s.Schema())
	if err != nil {
		t.Fatal(err)
	}
	for len(rows)+len(dead) < n {
		b, d, err := r.Read(ctx)
		if err != nil {
			t.Fatalf("read partition %d after %d rows and %d dead letters: %v", partition, len(rows), len(dead), err)
		}
		dead = append(dead, d...)
		if b == nil {
			continue
		}
		for i := range int(b.NumRows()) {
			rows = append(rows, strings.TrimSuffix(string(enc.AppendRow(nil, b, i)), "\n"))
		}
		b.Release()
	}
	if len(rows)+len(dead) != n {
		t.Fatalf("partition %d: %d rows and %d dead letters, want %d records", partition, len(rows), len(dead), n)
	}
	if checkpoint, err = r.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	return rows, dead, checkpoint
}

func TestPartitionsOfTopicsAndRegex(t *testing.T) {
	c := newTestCluster(t, 3, "tx.eu", "tx.us", "audit")
	s := newSource(t, c, Options{Topics: []string{"tx.us", "tx.eu"}})
	if s.Partitions() != 6 || s.Describe() != "tx.eu (3 partitions), tx.us (3 partitions)" {
		t.Errorf("topics: %d partitions, %s", s.Partitions(), s.Describe())
	}
	s = newSource(t, c, Options{TopicRegex: `tx\..*`})
	if s.Partitions() != 6 || s.Describe() != "tx.eu (3 partitions), tx.us (3 partitions)" {
		t.Errorf("regex: %d partitions, %s", s.Partitions(), s.Describe())
	}
	_, err := New(t.Context(), Options{Conn: Conn{Brokers: c.brokers}, Topics: []string{"payments"}, Schema: txSchema})
	if err == nil || !strings.Contains(err.Error(), `topic "payments" does not exist at `+c.brokers[0]) {
		t.Errorf("a missing topic: %v", err)
	}
	_, err = New(t.Context(), Options{Conn: Conn{Brokers: c.brokers}, TopicRegex: "pay.*", Schema: txSchema})
	if err == nil || !strings.Contains(err.Error(), `no topic at `+c.brokers[0]+` matches topic_regex "pay.*"`) {
		t.Errorf("a regex matching nothing: %v", err)
	}
}

func TestReadJSONLWithMetadataAndDeadLetters(t *testing.T) {
	c := newTestCluster(t, 2, "tx")
	ts := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	c.produce(t,
		&kgo.Record{Topic: "tx", Partition: 1, Key: []byte("card-1"), Value: []byte(`{"id":"a","amount":5}`), Timestamp: ts,
			Headers: []kgo.RecordHeader{{Key: "source", Value: []byte("pos")}, {Key: "q", Value: []byte(`"x"`)}}},
		rec("tx", 1, `{"id":"b","amount":"twelve"}`),
		rec("tx", 1, "{\n  \"id\": \"c\",\n  \"amount\": 7\n}\n"),
		rec("tx", 1, ""),
		rec("tx", 1, "{\"id\":\"d\nd\",\"amount\":1}"),
		rec("tx", 1, `{"id":"e","amount":8}`),
	)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "_key", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Int64},
		{Name: "_partition", Type: arrow.PrimitiveTypes.Int32},
		{Name: "_offset", Type: arrow.PrimitiveTypes.Int64},
		{Name: "_timestamp", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
		{Name: "_headers", Type: arrow.BinaryTypes.String},
	}, nil)
	s := newSource(t, c, Options{Schema: schema})
	rows, dead, cp := read(t, s, 1, nil, 6)
	if len(rows) != 3 {
		t.Fatalf("rows %q", rows)
	}
	want := `{"id":"a","_key":"card-1","amount":5,"_partition":1,"_offset":0,"_timestamp":"2026-12-01T10:00:00.000Z","_headers":"{\"source\":\"pos\",\"q\":\"\\\"x\\\"\"}"}`
	if rows[0] != want {
		t.Errorf("row 0\n got %s\nwant %s", rows[0], want)
	}
	for i, want := range []string{`"id":"c","_key":null,"amount":7,"_partition":1,"_offset":2`, `"id":"e","_key":null,"amount":8,"_partition":1,"_offset":5`} {
		if !strings.Contains(rows[i+1], want) {
			t.Errorf("row %d: %s, want %s", i+1, rows[i+1], want)
		}
	}
	wantDead := []string{`tx/1: offset 1: amount:`, `tx/1: offset 3: empty value`, `tx/1: offset 4: a line break inside a JSON string`}
	if len(dead) != len(wantDead) {
		t.Fatalf("dead letters %v", dead)
	}
	for i, d := range dead {
		if !strings.HasPrefix(d.String(), wantDead[i]) {
			t.Errorf("dead letter %d: %s, want %s...", i, d, wantDead[i])
		}
	}
	if string(dead[0].Raw) != `{"id":"b","amount":"twelve"}` {
		t.Errorf("dead letter raw %q", dead[0].Raw)
	}
	db := format.DeadLetterBatch(memory.DefaultAllocator, dead[:1])
	defer db.Release()
	if got := fmt.Sprint(db.Column(0), db.Column(1), db.Column(2), db.Column(3)); got != `["tx/1"] [(null)] [1] [(null)]` {
		t.Errorf("dead-letter row: file, line, offset, row group = %s", got)
	}
	if string(cp) != `{"v":1,"topic":"tx","partition":1,"offset":6}` {
		t.Errorf("checkpoint %s", cp)
	}
}

func TestReadCSV(t *testing.T) {
	c := newTestCluster(t, 1, "tx")
	c.produce(t, rec("tx", 0, "a,5"), rec("tx", 0, `"b,c",6`+"\r\n"), rec("tx", 0, "d,x"), rec("tx", 0, `"e,7`),
		rec("tx", 0, "f,1\ng,2"), rec("tx", 0, "h,9"))
	s := newSource(t, c, Options{Format: format.CSV})
	rows, dead, _ := read(t, s, 0, nil, 6)
	if got := strings.Join(rows, " "); got != `{"id":"a","amount":5} {"id":"b,c","amount":6} {"id":"h","amount":9}` {
		t.Errorf("rows %s", got)
	}
	var where []string
	for _, d := range dead {
		where = append(where, d.Where())
	}
	if got := strings.Join(where, " "); len(dead) != 3 || got != "tx/0: offset 2 tx/0: offset 3 tx/0: offset 4" {
		t.Errorf("dead letters %v", dead)
	}
}

func TestResumeAndStart(t *testing.T) {
	c := newTestCluster(t, 1, "tx")
	for i := range 10 {
		r := rec("tx", 0, fmt.Sprintf(`{"id":"r%d","amount":%d}`, i, i))
		r.Timestamp = time.UnixMilli(int64(1000 * (i + 1)))
		c.produce(t, r)
	}
	s := newSource(t, c, Options{BatchRows: 2})
	first, _, cp := read(t, s, 0, nil, 4)
	rest, _, _ := read(t, s, 0, cp, 6)
	all, _, _ := read(t, s, 0, nil, 10)
	if got, want := strings.Join(append(first, rest...), " "), strings.Join(all, " "); got != want {
		t.Errorf("resumed\n%s\nwant\n%s", got, want)
	}

	at, err := ParseStart("1970-01-01T00:00:07Z")
	if err != nil {
		t.Fatal(err)
	}
	rows, _, _ := read(t, newSource(t, c, Options{Start: at}), 0, nil, 4)
	if !strings.HasPrefix(rows[0], `{"id":"r6"`) {
		t.Errorf("start at 7s begins at %s, want r6 (timestamp 7s)", rows[0])
	}

	latest, err := ParseStart("latest")
	if err != nil {
		t.Fatal(err)
	}
	s = newSource(t, c, Options{Start: latest})
	r, err := s.Open(t.Context(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c.produce(t, rec("tx", 0, `{"id":"new","amount":1}`))
	for {
		b, _, err := r.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			continue
		}
		if b.NumRows() != 1 || b.Column(0).ValueStr(0) != "new" {
			t.Errorf("start latest read %v", b)
		}
		b.Release()
		break
	}
	if _, err := ParseStart("yesterday"); err == nil || !strings.Contains(err.Error(), "want earliest, latest or an RFC 3339 time") {
		t.Errorf("a bad start: %v", err)
	}
}

func TestResumeBelowLogStartFails(t *testing.T) {
	c := newTestCluster(t, 1, "tx")
	for i := range 10 {
		c.produce(t, rec("tx", 0, fmt.Sprintf(`{"id":"r%d","amount":%d}`, i, i)))
	}
	s := newSource(t, c, Options{BatchRows: 3})
	_, _, cp := read(t, s, 0, nil, 3)
	resp, err := c.adm.DeleteRecords(t.Context(), kadm.Offsets{"tx": {0: {Topic: "tx", Partition: 0, At: 6}}})
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Open(t.Context(), 0, cp)
	want := "kafka source partition tx/0: the checkpoint resumes at offset 3, but the partition's log starts at offset 6"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--fresh") || !strings.Contains(err.Error(), "start:") {
		t.Errorf("resume below the log start: %v\nwant %s ... --fresh ... start:", err, want)
	}
}

func TestCommittedCommitsToTheGroup(t *testing.T) {
	c := newTestCluster(t, 2, "tx")
	for i := range 5 {
		c.produce(t, rec("tx", int32(i%2), fmt.Sprintf(`{"id":"r%d","amount":%d}`, i, i)))
	}
	s := newSource(t, c, Options{Group: "millrace.p.tx", BatchRows: 1})
	_, _, cp0 := read(t, s, 0, nil, 3)
	_, _, cp1 := read(t, s, 1, nil, 1)
	if err := s.Committed(t.Context(), 7, map[int][]byte{0: cp0, 1: cp1}); err != nil {
		t.Fatal(err)
	}
	got, err := c.adm.FetchOffsets(t.Context(), "millrace.p.tx")
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[int32]int64{0: 3, 1: 1} {
		o, ok := got.Lookup("tx", p)
		if !ok || o.Err != nil || o.At != want || o.Metadata != "millrace checkpoint 7" {
			t.Errorf("partition %d: committed %+v, want offset %d", p, o, want)
		}
	}
	err = s.Committed(t.Context(), 8, map[int][]byte{0: cp1})
	if err == nil || !strings.Contains(err.Error(), "it is a position in tx/1, not in tx/0") {
		t.Errorf("another partition's position: %v", err)
	}
}

func TestLagIsHighWatermarkMinusNext(t *testing.T) {
	c := newTestCluster(t, 1, "tx")
	for i := range 10 {
		c.produce(t, rec("tx", 0, fmt.Sprintf(`{"id":"r%d","amount":%d}`, i, i)))
	}
	s := newSource(t, c, Options{BatchRows: 4})
	r, err := s.Open(t.Context(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		b, _, err := r.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if b != nil {
			b.Release()
			break
		}
	}
	if lag := r.Progress().Lag; lag != 6 {
		t.Errorf("after 4 of 10 records, lag %d, want 6", lag)
	}
	if got := fmt.Sprint(r.Progress().Offsets); got != "[0 1 2 3]" {
		t.Errorf("the rows' offsets %s, want [0 1 2 3]", got)
	}
}

func TestMetadataColumnTypes(t *testing.T) {
	c := newTestCluster(t, 1, "tx")
	bad := arrow.NewSchema([]arrow.Field{{Name: "_offset", Type: arrow.BinaryTypes.String}}, nil)
	_, err := New(t.Context(), Options{Conn: Conn{Brokers: c.brokers}, Topics: []string{"tx"}, Schema: bad})
	if err == nil || !strings.Contains(err.Error(), "column _offset is the record's metadata: its type is int64, not utf8") {
		t.Errorf("a string _offset: %v", err)
	}
	onlyMeta := arrow.NewSchema([]arrow.Field{{Name: "_offset", Type: arrow.PrimitiveTypes.Int64}}, nil)
	c.produce(t, rec("tx", 0, "anything"), rec("tx", 0, " "))
	rows, dead, _ := read(t, newSource(t, c, Options{Schema: onlyMeta}), 0, nil, 2)
	if len(rows) != 1 || rows[0] != `{"_offset":0}` || len(dead) != 1 || dead[0].Reason != "empty value" {
		t.Errorf("metadata only: rows %v, dead %v", rows, dead)
	}
}

var _ source.Source = (*Source)(nil)

// TestReaderAcrossABrokerRestart reads a partition, stops its broker and reads on: the
// reads return nothing, and Progress says which broker cannot be reached, until the broker
// starts again with what it held; then the reader goes on from where it was, and says the
// broker is reached.
func TestReaderAcrossABrokerRestart(t *testing.T) {
	broker := kafkatest.StartBroker(t, t.TempDir())
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	c := testCluster{brokers: []string{broker.Addr()}, cl: cl, adm: kadm.NewClient(cl)}
	if _, err := c.adm.CreateTopic(t.Context(), 1, -1, nil, "tx"); err != nil {
		t.Fatal(err)
	}
	c.produce(t, rec("tx", 0, `{"id":"a","amount":1}`), rec("tx", 0, `{"id":"b","amount":2}`))
	s := newSource(t, c, Options{})
	r, err := s.Open(t.Context(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	readUntil := func(what string, rows int, done func(source.Progress) bool) {
		t.Helper()
		got := 0
		for reads := 0; got < rows || !done(r.Progress()); reads++ {
			if reads == 1000 {
				t.Fatalf("no %s after %d reads (%d rows)", what, reads, got)
			}
			rec, dead, err := r.Read(t.Context())
			if err != nil || len(dead) > 0 {
				t.Fatalf("read: %v, dead letters %v", err, dead)
			}
			if rec != nil {
				got += int(rec.NumRows())
				rec.Release()
			}
		}
		if got != rows {
			t.Fatalf("%d rows before %s, want %d", got, what, rows)
		}
	}
	reached := func(p source.Progress) bool { return p.Unreachable == "" }
	readUntil("the first two records", 2, reached)

	broker.Stop()
	readUntil("report of the broker away", 0, func(p source.Progress) bool { return p.Unreachable != "" })
	if why := r.Progress().Unreachable; !strings.Contains(why, broker.Addr()) {
		t.Errorf("Unreachable = %q, want it to name the broker %s", why, broker.Addr())
	}

	broker.Start()
	c.produce(t, rec("tx", 0, `{"id":"c","amount":3}`))
	readUntil("the record produced after the restart", 1, reached)
	if got := r.Position().Offset; got != 3 {
		t.Errorf("position %d after the restart, want 3", got)
	}
}

// TestTimestampsWithoutOffsetInTheSourcesZone reads timestamps written as DuckDB and Spark
// export them, with a space and no offset, as wall-clock times of the source's zone.
func TestTimestampsWithoutOffsetInTheSourcesZone(t *testing.T) {
	c := newTestCluster(t, 1, "tx")
	c.produce(t, rec("tx", 0, `{"id":"a","ts":"2026-03-02 00:00:01.494"}`), rec("tx", 0, `{"id":"b","ts":"2026-03-02T00:00:01Z"}`))
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	s := newSource(t, c, Options{Zone: paris, Schema: arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
	}, nil)})
	rows, _, _ := read(t, s, 0, nil, 2)
	want := `{"id":"a","ts":"2026-03-01T23:00:01.494Z"} {"id":"b","ts":"2026-03-02T00:00:01.000Z"}`
	if got := strings.Join(rows, " "); got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
}

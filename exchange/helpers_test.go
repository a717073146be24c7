package exchange

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"millrace/format"
	"millrace/gen"
	"millrace/kafka"
	"millrace/kafka/kafkatest"
	"millrace/schema"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTopic is the exchange topic of the tests.
const testTopic = "millrace.fraud.velocity"

// newCluster starts a broker holding the exchange topic with one partition per key group.
func newCluster(t testing.TB) []string {
	t.Helper()
	return kafkatest.Cluster(t, testTopic, KeyGroups)
}

// cardKey is the key of the tests: the transactions' card_id column.
func cardKey(t testing.TB) []int {
	t.Helper()
	idx := schema.Transaction().FieldIndices("card_id")
	if len(idx) != 1 {
		t.Fatal("the transaction schema has no card_id column")
	}
	return idx
}

// transactions generates rows transactions of seed in batches of at most batch rows.
func transactions(t testing.TB, seed int64, rows, batch int) []arrow.RecordBatch {
	t.Helper()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Seed = int64(rows), seed
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []arrow.RecordBatch
	for n := 0; n < rows; {
		rec, err := g.Next(context.Background(), memory.DefaultAllocator, batch)
		if err != nil {
			t.Fatalf("generate: %v", err)
		}
		n += int(rec.NumRows())
		out = append(out, rec)
	}
	t.Cleanup(func() {
		for _, r := range out {
			r.Release()
		}
	})
	return out
}

// encodeAll encodes batches as unit from.
func encodeAll(t testing.TB, batches []arrow.RecordBatch, from string) []*kgo.Record {
	t.Helper()
	var out []*kgo.Record
	for _, b := range batches {
		recs, err := Encode(b, cardKey(t), KeyGroups, testTopic, from)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
	}
	return out
}

// produceTx produces recs in one transaction of transactional id id, committed or
// aborted, and sets their offsets.
func produceTx(t testing.TB, brokers []string, id string, commit bool, recs []*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.TransactionalID(id), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end the transaction (commit %v): %v", commit, err)
	}
}

// rowLines returns the rows of rec as JSON lines.
func rowLines(t testing.TB, rec arrow.RecordBatch) []string {
	t.Helper()
	enc, err := format.NewRowEncoder(format.JSONL, rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, rec.NumRows())
	for i := range out {
		out[i] = string(enc.AppendRow(nil, rec, i))
	}
	return out
}

// newTestSource makes a source over the test topic's partitions.
func newTestSource(t testing.TB, brokers []string, partitions []int32, upstream []string, batchRows int) *Source {
	t.Helper()
	s, err := NewSource(context.Background(), SourceOptions{
		Conn: kafka.Conn{Brokers: brokers}, Topic: testTopic, Partitions: partitions,
		Schema: schema.Transaction(), Upstream: upstream, BatchRows: batchRows, PollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// watermarker is what the engine sees of a reader whose input carries its watermark.
type watermarker interface {
	Watermark() int64
	Ended() bool
}

// readPast reads r until it has taken the record at offset last, and returns the rows read
// as JSON lines. It fails the test if that takes a minute.
func readPast(t testing.TB, r interface {
	Read(context.Context) (arrow.RecordBatch, []format.DeadLetter, error)
	Position() format.Position
}, last int64) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var rows []string
	for r.Position().Offset <= last {
		rec, dead, err := r.Read(ctx)
		if err != nil {
			t.Fatalf("read %s up to offset %d: %v", r.Position().File, last, err)
		}
		if len(dead) > 0 {
			t.Fatalf("dead letters: %v", dead)
		}
		if rec != nil {
			rows = append(rows, rowLines(t, rec)...)
			rec.Release()
		}
	}
	return rows
}

// matches says whether text matches the regular expression re.
func matches(re, text string) bool { return regexp.MustCompile(re).MatchString(text) }

package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"millrace/kafka/kafkatest"
	"millrace/op"
)

var sinkSchema = arrow.NewSchema([]arrow.Field{
	{Name: "card_id", Type: arrow.BinaryTypes.String},
	{Name: "amount", Type: arrow.PrimitiveTypes.Int64},
	{Name: "channel", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// rows returns a batch of n rows, card_id "c<from+i>", amount from+i, channel "pos" for
// even amounts and null for odd ones.
func rows(from, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, sinkSchema)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("c%d", i))
		b.Field(1).(*array.Int64Builder).Append(int64(i))
		if i%2 == 0 {
			b.Field(2).(*array.StringBuilder).Append("pos")
		} else {
			b.Field(2).AppendNull()
		}
	}
	return b.NewRecordBatch()
}

// rowValues is the JSON values rows(from, n) produce, sorted.
func rowValues(from, n int) []string {
	var out []string
	for i := from; i < from+n; i++ {
		ch := "null"
		if i%2 == 0 {
			ch = `"pos"`
		}
		out = append(out, fmt.Sprintf(`{"card_id":"c%d","amount":%d,"channel":%s}`, i, i, ch))
	}
	slices.Sort(out)
	return out
}

// column evaluates to column i of a batch.
func columnEval(i int) Eval {
	return func(rec arrow.RecordBatch) (arrow.Array, error) {
		a := rec.Column(i)
		a.Retain()
		return a, nil
	}
}

func newSink(t *testing.T, brokers []string, topic string, d Delivery, checkpointing bool, sub int) *Sink {
	t.Helper()
	newSink, err := NewSinkFactory(context.Background(), sinkSchema, SinkOptions{Conn: Conn{Brokers: brokers}, Topic: topic, Delivery: d, ID: "millrace.test." + topic,
		Key: columnEval(0), Headers: []Header{{Name: "channel", Eval: columnEval(2)}}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := newSink()
	if err := s.Open(op.Context{Node: "sink.out", Subtask: sub, Parallelism: sub + 1, Checkpointing: checkpointing}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func process(t *testing.T, s *Sink, from, n int) {
	t.Helper()
	if err := s.Process(0, rows(from, n), nil); err != nil {
		t.Fatal(err)
	}
}

// endOffsets is the number of offsets every partition of topic has used, committed or not.
func endOffsets(t *testing.T, brokers []string, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

func TestExactlyOnceRowsAppearAtTheirCheckpointsCommit(t *testing.T) {
	brokers := kafkatest.Cluster(t, "out", 3)
	s := newSink(t, brokers, "out", ExactlyOnce, true, 0)
	process(t, s, 0, 100)
	if _, err := s.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	process(t, s, 100, 50) // after the barrier: checkpoint 2's
	if n := endOffsets(t, brokers, "out"); n != 0 {
		t.Fatalf("%d offsets used before any commit; want none", n)
	}
	if err := s.Commit(1); err != nil {
		t.Fatal(err)
	}
	got := kafkatest.ReadCommitted(t, brokers, "out")
	if !slices.Equal(kafkatest.Values(got), rowValues(0, 100)) {
		t.Fatalf("after commit 1: %d records %v; want checkpoint 1's 100", len(got), kafkatest.Values(got))
	}
	for _, r := range got {
		var want string
		if _, err := fmt.Sscanf(string(r.Value), `{"card_id":%q`, &want); err != nil {
			t.Fatal(err)
		}
		if string(r.Key) != want {
			t.Errorf("record %s: key %q, want %q", r.Value, r.Key, want)
		}
		pos := slices.ContainsFunc(r.Headers, func(h kgo.RecordHeader) bool { return h.Key == "channel" && string(h.Value) == "pos" })
		if odd := r.Value[len(r.Value)-5:]; (string(odd) == "null}") == pos {
			t.Errorf("record %s: headers %v; want channel=pos exactly when channel is not null", r.Value, r.Headers)
		}
	}
	if _, err := s.Snapshot(op.FinalCheckpoint); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(op.FinalCheckpoint); err != nil {
		t.Fatal(err)
	}
	got = kafkatest.ReadCommitted(t, brokers, "out")
	if !slices.Equal(kafkatest.Values(got), rowValues(0, 150)) {
		t.Fatalf("after the final commit: %d records; want 150", len(got))
	}
}

func TestRestorePublishesAnUncommittedCheckpointOnce(t *testing.T) {
	brokers := kafkatest.Cluster(t, "out", 2)
	crashed := newSink(t, brokers, "out", ExactlyOnce, true, 0)
	process(t, crashed, 0, 40)
	s1, err := crashed.Snapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	process(t, crashed, 40, 40)
	s2, err := crashed.Snapshot(2)
	if err != nil {
		t.Fatal(err)
	}
	process(t, crashed, 80, 10) // after checkpoint 2: the resumed run reads these again
	_ = crashed.Close()         // checkpoint 2 is durable, its commit never ran

	resumed := newSink(t, brokers, "out", ExactlyOnce, true, 0)
	if err := resumed.Restore(s2); err != nil {
		t.Fatal(err)
	}
	if got := kafkatest.Values(kafkatest.ReadCommitted(t, brokers, "out")); !slices.Equal(got, rowValues(0, 80)) {
		t.Fatalf("after restoring checkpoint 2: %d records; want its 80", len(got))
	}
	// A second crash right after the restore: checkpoint 2 is committed, nothing comes twice.
	_ = resumed.Close()
	again := newSink(t, brokers, "out", ExactlyOnce, true, 0)
	if err := again.Restore(s2); err != nil {
		t.Fatal(err)
	}
	process(t, again, 80, 10)
	if _, err := again.Snapshot(3); err != nil {
		t.Fatal(err)
	}
	if err := again.Commit(3); err != nil {
		t.Fatal(err)
	}
	if got := kafkatest.Values(kafkatest.ReadCommitted(t, brokers, "out")); !slices.Equal(got, rowValues(0, 90)) {
		t.Fatalf("after a second restore and checkpoint 3: %d records; want 90, each once", len(got))
	}
	// Resuming from checkpoint 1 now would publish checkpoint 2's rows twice.
	old := newSink(t, brokers, "out", ExactlyOnce, true, 0)
	if err := old.Restore(s1); !errors.Is(err, ErrAhead) {
		t.Fatalf("restore of checkpoint 1 after 3 committed: %v; want ErrAhead", err)
	}
}

func TestRestoreAfterAnotherRunIgnoresItsMarker(t *testing.T) {
	brokers := kafkatest.Cluster(t, "out", 1)
	first := newSink(t, brokers, "out", ExactlyOnce, true, 0)
	for id := uint64(1); id <= 3; id++ {
		process(t, first, int(id)*10, 10)
		if _, err := first.Snapshot(id); err != nil {
			t.Fatal(err)
		}
		if err := first.Commit(id); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh run of the same pipeline: its batch 1 is not the first run's batch 1.
	fresh := newSink(t, brokers, "out", ExactlyOnce, true, 0)
	process(t, fresh, 100, 5)
	state, err := fresh.Snapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	_ = fresh.Close()
	resumed := newSink(t, brokers, "out", ExactlyOnce, true, 0)
	if err := resumed.Restore(state); err != nil {
		t.Fatal(err)
	}
	want := append(rowValues(10, 30), rowValues(100, 5)...)
	slices.Sort(want)
	if got := kafkatest.Values(kafkatest.ReadCommitted(t, brokers, "out")); !slices.Equal(got, want) {
		t.Fatalf("%d records; want the first run's 30 and the fresh run's 5", len(got))
	}
}

func TestAZombieIsFenced(t *testing.T) {
	brokers := kafkatest.Cluster(t, "out", 1)
	zombie, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.TransactionalID("millrace.test.out.0"), kgo.DefaultProduceTopic("out"))
	if err != nil {
		t.Fatal(err)
	}
	defer zombie.Close()
	ctx := context.Background()
	if err := zombie.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := zombie.ProduceSync(ctx, &kgo.Record{Value: []byte("zombie")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The zombie's transaction is open; a sink subtask with the same id takes over.
	s := newSink(t, brokers, "out", ExactlyOnce, true, 0)
	process(t, s, 0, 10)
	if _, err := s.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(1); err != nil {
		t.Fatal(err)
	}
	// The zombie's open transaction was aborted, and it can no longer produce.
	if err := zombie.ProduceSync(ctx, &kgo.Record{Value: []byte("zombie again")}).FirstErr(); err == nil {
		t.Fatal("the zombie produced after the sink took its transactional id")
	}
	_ = zombie.EndTransaction(ctx, kgo.TryCommit) // whatever it says, nothing of it is visible
	if got := kafkatest.Values(kafkatest.ReadCommitted(t, brokers, "out")); !slices.Equal(got, rowValues(0, 10)) {
		t.Fatalf("%v; want the sink's 10 records and nothing of the zombie", got)
	}
}

func TestRescaleAdoptsTheUncommittedBatchesOfRemovedSubtasks(t *testing.T) {
	brokers := kafkatest.Cluster(t, "out", 2)
	var states [][]byte
	for sub := range 3 {
		s := newSink(t, brokers, "out", ExactlyOnce, true, sub)
		process(t, s, sub*100, 10)
		if _, err := s.Snapshot(1); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(1); err != nil {
			t.Fatal(err)
		}
		process(t, s, sub*100+10, 5)
		st, err := s.Snapshot(2)
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, st) // checkpoint 2 durable; no subtask committed it
		_ = s.Close()
	}
	rescaled, err := (&Sink{opts: SinkOptions{Topic: "out"}}).Rescale(states, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	for sub, st := range rescaled {
		s := newSink(t, brokers, "out", ExactlyOnce, true, sub)
		if err := s.Restore(st); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for sub := range 3 {
		want = append(want, rowValues(sub*100, 15)...)
	}
	slices.Sort(want)
	if got := kafkatest.Values(kafkatest.ReadCommitted(t, brokers, "out")); !slices.Equal(got, want) {
		t.Fatalf("%d records after rescaling 3 subtasks to 2; want 45, each once", len(got))
	}
}

func TestAtLeastOnceAndNoneProduceAsRowsArrive(t *testing.T) {
	for _, d := range []Delivery{AtLeastOnce, NoGuarantee} {
		t.Run(string(d), func(t *testing.T) {
			brokers := kafkatest.Cluster(t, "out", 2)
			s := newSink(t, brokers, "out", d, true, 0)
			process(t, s, 0, 30)
			state, err := s.Snapshot(1)
			if err != nil || state != nil {
				t.Fatalf("snapshot: state %q, %v; want none", state, err)
			}
			process(t, s, 30, 20)
			if err := s.Finish(nil); err != nil {
				t.Fatal(err)
			}
			if got := kafkatest.Values(kafkatest.ReadCommitted(t, brokers, "out")); !slices.Equal(got, rowValues(0, 50)) {
				t.Fatalf("%d records; want 50", len(got))
			}
		})
	}
}

func TestAtLeastOnceCheckpointWaitsOnlyForTheRecordsBeforeIt(t *testing.T) {
	c := kafkatest.NewCluster(t, "out", 1)
	// The brokers hold the first produce request (the row before the barrier) until
	// releaseA, and every later one (the rows after it) until releaseB.
	seenA, releaseA, releaseB := make(chan struct{}), make(chan struct{}), make(chan struct{})
	produces := 0
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		produces++
		if produces == 1 {
			close(seenA)
			c.SleepControl(func() { <-releaseA })
		} else {
			c.SleepControl(func() { <-releaseB })
		}
		return nil, nil, false
	})
	s := newSink(t, c.ListenAddrs(), "out", AtLeastOnce, true, 0)
	process(t, s, 0, 1)
	<-seenA
	encode, err := s.CaptureSnapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	process(t, s, 1, 20)
	done := make(chan error, 1)
	go func() {
		state, err := encode()
		if err == nil && state != nil {
			err = fmt.Errorf("state %q; want none", state)
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the checkpoint completed (%v) before the brokers had the row produced before it", err)
	default:
	}
	close(releaseA)
	// The rows after the barrier are still held: waiting for them as well would end in the
	// sink's timeout, not here.
	if err := <-done; err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	close(releaseB)
	if err := s.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if got := kafkatest.Values(kafkatest.ReadCommitted(t, c.ListenAddrs(), "out")); !slices.Equal(got, rowValues(0, 21)) {
		t.Fatalf("%d records; want 21", len(got))
	}
}

func TestEnsureTopic(t *testing.T) {
	brokers := kafkatest.Cluster(t, "", 0)
	ctx := context.Background()
	_, err := EnsureTopic(ctx, Conn{Brokers: brokers}, "missing", 0)
	if !errors.Is(err, ErrNoTopic) {
		t.Fatalf("missing topic: %v; want ErrNoTopic", err)
	}
	if want := "kafka topic missing on " + brokers[0]; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
	n, err := EnsureTopic(ctx, Conn{Brokers: brokers}, "made", 4)
	if err != nil || n != 4 {
		t.Fatalf("create: %d partitions, %v; want 4", n, err)
	}
	n, err = EnsureTopic(ctx, Conn{Brokers: brokers}, "made", 0)
	if err != nil || n != 4 {
		t.Fatalf("existing: %d partitions, %v; want 4", n, err)
	}
}

func TestSinkStateRoundTrip(t *testing.T) {
	st := sinkState{subState: subState{subtask: 2, run: "abc", seq: 7, pending: []batch{
		{seq: 6, checkpoint: 11, records: []*kgo.Record{{Key: []byte("k"), Value: []byte("v"), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("x")}}}, {Value: []byte{}}}},
		{seq: 7, checkpoint: op.FinalCheckpoint, records: []*kgo.Record{{Key: []byte{}, Value: []byte("w")}}},
	}}, adopted: []subState{{subtask: 5, run: "def", seq: 1}}}
	b := st.encode()
	got, err := decodeSinkState(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.encode(), b) {
		t.Fatalf("decoded state encodes differently")
	}
	if got.pending[0].records[1].Key != nil || got.pending[1].records[0].Key == nil {
		t.Errorf("a missing key and an empty key must stay apart")
	}
	for i := range len(b) {
		if _, err := decodeSinkState(b[:i]); err == nil {
			t.Fatalf("a state cut to %d of %d bytes decoded", i, len(b))
		}
	}
}

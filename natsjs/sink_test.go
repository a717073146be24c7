package natsjs

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/nats-io/nats.go/jetstream"

	"millrace/format"
	"millrace/op"
	"millrace/schema"
)

// batchOf decodes JSON lines into a batch of the transaction schema.
func batchOf(t *testing.T, lines [][]byte) arrow.RecordBatch {
	t.Helper()
	r, err := format.NewJSONLReader(bytes.NewReader(append(bytes.Join(lines, []byte("\n")), '\n')), "test", schema.Transaction(), format.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	rec, dead, err := r.Read()
	if err != nil || len(dead) > 0 {
		t.Fatalf("decode: %v, %d dead letters", err, len(dead))
	}
	return rec
}

func newTestSink(t *testing.T, e *Embedded) *Sink {
	t.Helper()
	s, err := NewSink(SinkConfig{Conn: Conn{URL: e.URL()}, Pipeline: "p", Name: "out", Subject: "out", Schema: schema.Transaction()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(op.Context{Node: "sink.out", Parallelism: 1, Checkpointing: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func streamMsgs(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	st, err := js.Stream(context.Background(), "OUT")
	if err != nil {
		t.Fatal(err)
	}
	return st.CachedInfo().State.Msgs
}

// TestSinkRepublishesOnce stages two checkpoints, commits the first, and restores a new
// sink from the second's state as a restarted run does: the restore publishes both
// checkpoints' rows again, and the stream holds each row once.
func TestSinkRepublishesOnce(t *testing.T) {
	e, js := testServer(t)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "OUT", Subjects: []string{"out"}}); err != nil {
		t.Fatal(err)
	}
	records := transactions(t, 300, 0)
	s := newTestSink(t, e)
	if err := s.Process(0, batchOf(t, records[:100]), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	if n := streamMsgs(t, js); n != 0 {
		t.Fatalf("%d messages published before the commit", n)
	}
	if err := s.Commit(1); err != nil {
		t.Fatal(err)
	}
	if n := streamMsgs(t, js); n != 100 {
		t.Fatalf("%d messages after committing 100 rows", n)
	}
	if err := s.Process(0, batchOf(t, records[100:300]), nil); err != nil {
		t.Fatal(err)
	}
	state, err := s.Snapshot(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(2); err != nil { // committed, then the process dies
		t.Fatal(err)
	}
	again := newTestSink(t, e)
	if err := again.Restore(state); err != nil {
		t.Fatal(err)
	}
	if n := streamMsgs(t, js); n != 300 {
		t.Fatalf("%d messages after republishing checkpoint 2's 200 rows over 300 stored", n)
	}
	// The stream holds the rows in order, as the sink received them.
	cons, err := js.OrderedConsumer(context.Background(), "OUT", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(300)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	want := batchOf(t, records)
	defer want.Release()
	enc, _ := format.NewRowEncoder(format.JSONL, schema.Transaction())
	for m := range batch.Messages() {
		if w := enc.AppendRow(nil, want, i); !bytes.Equal(append(m.Data(), '\n'), w) {
			t.Fatalf("message %d is %s, want %s", i, m.Data(), w)
		}
		i++
	}
	if i != 300 {
		t.Fatalf("read %d messages of 300", i)
	}
}

// TestSinkRestoresAnUncommittedCheckpoint restores from a checkpoint whose commit never
// ran: its rows are published by the restore.
func TestSinkRestoresAnUncommittedCheckpoint(t *testing.T) {
	e, js := testServer(t)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "OUT", Subjects: []string{"out"}}); err != nil {
		t.Fatal(err)
	}
	s := newTestSink(t, e)
	if err := s.Process(0, batchOf(t, transactions(t, 50, 0)), nil); err != nil {
		t.Fatal(err)
	}
	state, err := s.Snapshot(7)
	if err != nil {
		t.Fatal(err)
	}
	if err := newTestSink(t, e).Restore(state); err != nil {
		t.Fatal(err)
	}
	if n := streamMsgs(t, js); n != 50 {
		t.Fatalf("%d messages after restoring a checkpoint of 50 rows", n)
	}
}

func TestSinkNeedsAStream(t *testing.T) {
	e, _ := testServer(t)
	s, err := NewSink(SinkConfig{Conn: Conn{URL: e.URL()}, Pipeline: "p", Name: "out", Subject: "nowhere", Schema: schema.Transaction()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if err := s.Open(op.Context{}); err == nil {
		t.Fatal("a sink opened on a subject no stream stores")
	}
}

// TestSinkSubjectByRow publishes each row to SUBJECT.CHANNEL, a checkpoint's rows restored
// from its state to the same subjects.
func TestSinkSubjectByRow(t *testing.T) {
	e, js := testServer(t)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "OUT", Subjects: []string{"out.>"}}); err != nil {
		t.Fatal(err)
	}
	channel := func(rec arrow.RecordBatch) (arrow.Array, error) {
		c := rec.Column(rec.Schema().FieldIndices("channel")[0])
		c.Retain()
		return c, nil
	}
	newSink := func() *Sink {
		s, err := NewSink(SinkConfig{Conn: Conn{URL: e.URL()}, Pipeline: "p", Name: "out", Subject: "out",
			SubjectBy: channel, Schema: schema.Transaction()})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Open(op.Context{Checkpointing: true}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	records := transactions(t, 200, 0)
	s := newSink()
	if err := s.Process(0, batchOf(t, records), nil); err != nil {
		t.Fatal(err)
	}
	state, err := s.Snapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := newSink().Restore(state); err != nil { // the commit never ran
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "OUT")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("out.>"))
	if err != nil {
		t.Fatal(err)
	}
	subjects := info.State.Subjects
	total := uint64(0)
	for subj, n := range subjects {
		if !strings.HasPrefix(subj, "out.") || subj == "out." {
			t.Errorf("a row published to %s", subj)
		}
		total += n
	}
	if total != 200 || len(subjects) < 2 {
		t.Errorf("%d rows on subjects %v, want 200 over each channel's subject", total, subjects)
	}
	for _, r := range records {
		ch := strings.SplitN(strings.SplitN(string(r), `"channel":"`, 2)[1], `"`, 2)[0]
		if subjects["out."+ch] == 0 {
			t.Errorf("no row on out.%s", ch)
		}
	}
}

package kafka

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/kafka/kafkatest"
	"millrace/op"
)

// batchAttempt opens the n subtasks of a sink that commits per batch, as one process would,
// restoring them from states when given.
func batchAttempt(t *testing.T, brokers []string, topic string, n int, states [][]byte) []*Sink {
	t.Helper()
	newSink, err := NewSinkFactory(context.Background(), sinkSchema, SinkOptions{Conn: Conn{Brokers: brokers}, Topic: topic,
		Commit: CommitBatch, ID: "millrace.test." + topic, Key: columnEval(0), Headers: []Header{{Name: "channel", Eval: columnEval(2)}},
		Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if states != nil && len(states) != n {
		if states, err = newSink().Rescale(states, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	subs := make([]*Sink, n)
	errs := make(chan error, n)
	for i := range subs {
		subs[i] = newSink()
		if err := subs[i].Open(op.Context{Node: "sink.out", Subtask: i, Parallelism: n, Checkpointing: true}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = subs[i].Close() })
	}
	if states == nil {
		return subs
	}
	// The subtasks restore at once, as the engine's do: each waits for the others.
	for i, s := range subs {
		go func() { errs <- s.Restore(states[i]) }()
	}
	for range subs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return subs
}

// checkpoint snapshots every subtask for id and returns their states, committing them
// when durable says the checkpoint became durable.
func checkpoint(t *testing.T, subs []*Sink, id uint64, durable bool) [][]byte {
	t.Helper()
	states := make([][]byte, len(subs))
	for i, s := range subs {
		var err error
		if states[i], err = s.Snapshot(id); err != nil {
			t.Fatal(err)
		}
	}
	if durable {
		for _, s := range subs {
			if err := s.Commit(id); err != nil {
				t.Fatal(err)
			}
		}
	}
	return states
}

// TestBatchCommitReplaysDropWhatWasCommitted drives the subtasks of a sink that commits per
// batch through two crashes and two changes of parallelism, with rows repeated, rows that
// a replay owes still at a checkpoint, and a subtask that drops a replayed row after its
// barrier, and checks that the rows are visible as soon as their batch is processed and that
// the topic ends with every row exactly as often as the input had it. (Rows go out on the
// subtask's committer, which the test waits for before it reads.)
func TestBatchCommitReplaysDropWhatWasCommitted(t *testing.T) {
	brokers := kafkatest.Cluster(t, "out", 3)
	var want []string
	var running []*Sink // the subtasks of the attempt alive
	published := func(from, n int) { want = append(want, rowValues(from, n)...) }
	visible := func(when string) {
		t.Helper()
		for _, s := range running {
			if s.commits != nil && s.batch.live {
				if err := s.commits.wait(); err != nil {
					t.Fatal(err)
				}
			}
		}
		got := kafkatest.Values(kafkatest.ReadCommitted(t, brokers, "out"))
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %d records visible, want %d; first difference: %s", when, len(got), len(want), difference(got, want))
		}
	}

	// Attempt A, 2 subtasks: rows wait for the first checkpoint, then go out at once.
	a := batchAttempt(t, brokers, "out", 2, nil)
	running = a
	process(t, a[0], 0, 50)
	process(t, a[1], 50, 50)
	visible("before the first checkpoint")
	checkpoint(t, a, 1, true)
	published(0, 100)
	visible("after the first checkpoint")
	c1 := checkpoint(t, a, 2, false) // checkpoint 2 is durable, its commit never runs
	process(t, a[0], 100, 50)
	process(t, a[0], 100, 5) // the same rows twice
	process(t, a[1], 150, 50)
	published(100, 50)
	published(100, 5)
	published(150, 50)
	visible("rows after checkpoint 2, with no checkpoint since") // A dies here

	// Attempt B, 3 subtasks, from checkpoint 2: the replay spreads the rows otherwise.
	b := batchAttempt(t, brokers, "out", 3, c1)
	running = b
	process(t, b[0], 150, 50)
	process(t, b[1], 100, 30)
	process(t, b[1], 100, 5)
	visible("after a replay of committed rows")
	c2 := make([][]byte, 3)
	for i, s := range b[:2] {
		c2[i] = checkpoint(t, []*Sink{s}, 3, false)[0]
	}
	c2[2] = checkpoint(t, b[2:], 3, false)[0]
	process(t, b[2], 130, 10) // after its barrier: owed again by a replay from checkpoint 3
	for _, s := range b {
		if err := s.Commit(3); err != nil {
			t.Fatal(err)
		}
	}
	process(t, b[2], 200, 20)
	published(200, 20)
	visible("new rows after the replay") // B dies here: 140..149 were never replayed

	// Attempt C, 1 subtask, from checkpoint 3: owed are 130..149 and B's 200..219.
	c := batchAttempt(t, brokers, "out", 1, c2)
	running = c
	process(t, c[0], 130, 20)
	process(t, c[0], 200, 100)
	published(220, 80)
	visible("after the second replay")
	checkpoint(t, c, op.FinalCheckpoint, true)
	visible("at the end")
}

// difference names the first value in which two sorted lists differ.
func difference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return "got " + got[i] + ", want " + want[i]
		}
	}
	if len(got) > len(want) {
		return "got more: " + got[len(want)]
	}
	if len(want) > len(got) {
		return "want more: " + want[len(got)]
	}
	return "none"
}

// TestBatchCommitRefusals checks that a commit per batch is refused where it cannot hold:
// with a delivery other than exactly once, and in a cluster, whose worker commits the rows.
func TestBatchCommitRefusals(t *testing.T) {
	base := SinkOptions{Conn: Conn{Brokers: []string{"127.0.0.1:1"}}, Topic: "out", ID: "millrace.test.out", Commit: CommitBatch}
	for _, c := range []struct {
		name string
		opts func(o *SinkOptions)
		want string
	}{
		{"at least once", func(o *SinkOptions) { o.Delivery = AtLeastOnce }, "kafka sink out: commit batch is for delivery exactly_once; at_least_once produces rows as they arrive already"},
		{"in a cluster", func(o *SinkOptions) { o.Outbox = func(uint64, int, []*kgo.Record) {} }, "kafka sink out: commit batch does not apply in a cluster, whose workers commit a sink's rows with the input offsets they come from"},
		{"unknown", func(o *SinkOptions) { o.Commit = "often" }, `kafka sink out: commit "often": want checkpoint or batch`},
	} {
		o := base
		c.opts(&o)
		_, err := NewSinkFactory(context.Background(), sinkSchema, o)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
}

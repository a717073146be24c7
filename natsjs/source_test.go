package natsjs

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"millrace/format"
	"millrace/gen"
	"millrace/schema"
	"millrace/source"
)

// testServer starts an embedded server on the test's directory and a client of it.
func testServer(t testing.TB) (*Embedded, jetstream.JetStream) {
	t.Helper()
	e, err := StartEmbedded(context.Background(), EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	nc, err := Conn{URL: e.URL()}.connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return e, js
}

// transactions generates n transactions as JSON lines, with corrupt ones at corruptRate.
func transactions(t testing.TB, n int64, corruptRate float64) [][]byte {
	t.Helper()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.CorruptRate, cfg.Accounts, cfg.Merchants = n, corruptRate, 500, 100
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), cfg, &buf, format.JSONL, format.WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	if int64(len(lines)) != n {
		t.Fatalf("%d lines from %d transactions", len(lines), n)
	}
	return lines
}

// publish creates stream name over subjects and publishes each record to
// subject(i), returning the stream.
func publish(t testing.TB, js jetstream.JetStream, cfg jetstream.StreamConfig, records [][]byte, subject func(i int) string) {
	t.Helper()
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	for i, r := range records {
		if _, err := js.Publish(ctx, subject(i), r); err != nil {
			t.Fatal(err)
		}
	}
}

// txID is the tx_id of a transaction written as JSON.
func txID(record []byte) string {
	return strings.SplitN(strings.SplitN(string(record), `"tx_id":"`, 2)[1], `"`, 2)[0]
}

func newTestSource(t testing.TB, e *Embedded, cfg SourceConfig) *Source {
	t.Helper()
	cfg.Conn = Conn{URL: e.URL()}
	if cfg.Stream == "" {
		cfg.Stream = "TX"
	}
	if cfg.Durable == "" {
		cfg.Durable = "millrace-test-tx"
	}
	cfg.Schema = schema.Transaction()
	if cfg.BatchRows == 0 {
		cfg.BatchRows = 64
	}
	s, err := NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readN reads r until at least n rows and dead letters came (whole batches), returning the rows' tx_id and the dead
// letters.
func readN(t testing.TB, r source.PartitionReader, n int) (ids []string, dead []format.DeadLetter) {
	t.Helper()
	for len(ids)+len(dead) < n {
		rec, d, err := r.Read(context.Background())
		if err != nil {
			t.Fatalf("read after %d records: %v", len(ids)+len(dead), err)
		}
		dead = append(dead, d...)
		if rec == nil {
			continue
		}
		col := rec.Column(0)
		for i := range int(rec.NumRows()) {
			ids = append(ids, col.ValueStr(i))
		}
		rec.Release()
	}
	return ids, dead
}

func open(t *testing.T, s *Source, p int, pos []byte) source.PartitionReader {
	t.Helper()
	r, err := s.Open(context.Background(), p, pos)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// TestSourceReadsPartitionsAndDeadLetters reads a stream split into 3 partition subjects:
// every message is a row or a dead letter of its partition, the dead letters name the
// stream, the subject and the sequence of the message, and once everything is read a
// Read returns nothing, having waited.
func TestSourceReadsPartitionsAndDeadLetters(t *testing.T) {
	e, js := testServer(t)
	records := transactions(t, 600, 0.05)
	publish(t, js, jetstream.StreamConfig{Name: "TX", Subjects: []string{"tx.>"}, Storage: jetstream.FileStorage},
		records, func(i int) string { return fmt.Sprintf("tx.%d", i%3) })
	s := newTestSource(t, e, SourceConfig{Subject: "tx", Partitions: 3})
	total := 0
	for p := range 3 {
		r := open(t, s, p, nil)
		first, _, err := r.Read(context.Background())
		if err != nil || first == nil {
			t.Fatalf("partition %d: first read: %v", p, err)
		}
		if lag, n := r.Progress().Lag, int64(200-first.NumRows()); lag <= 0 || lag > n {
			t.Errorf("partition %d: lag %d after the first batch, want up to the %d messages left", p, lag, n)
		}
		first.Release()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		r = open(t, s, p, nil)
		ids, dead := readN(t, r, 200)
		if total += len(ids) + len(dead); len(ids)+len(dead) != 200 {
			t.Fatalf("partition %d: %d records, 200 published", p, len(ids)+len(dead))
		}
		if len(dead) == 0 {
			t.Fatalf("partition %d: no dead letters among 200 records with 5%% corrupt", p)
		}
		for _, d := range dead {
			seq := uint64(d.Offset)
			if want := fmt.Sprintf("TX/tx.%d", p); d.File != want || !d.AtOffset || seq < 1 {
				t.Fatalf("dead letter %s (%s), want one of %s at its stream sequence", d.Where(), d.Reason, want)
			}
			if want := records[seq-1]; !bytes.Equal(d.Raw, want) {
				t.Fatalf("dead letter at sequence %d holds %q, want the message %q", seq, d.Raw, want)
			}
		}
		rec, dead, err := r.Read(context.Background())
		if rec != nil || dead != nil || err != nil {
			t.Fatalf("partition %d read past its end: %v, %d dead letters, %v", p, rec, len(dead), err)
		}
		if r.Progress().Waited <= 0 {
			t.Errorf("partition %d: an empty poll counted no waiting", p)
		}
		if lag := r.Progress().Lag; lag != 0 {
			t.Errorf("partition %d: lag %d after everything was read", p, lag)
		}
	}
	if total != len(records) {
		t.Errorf("%d records read, %d published", total, len(records))
	}
}

// TestSourceResumesAtItsCheckpoint reads part of a stream, checkpoints, and reads the rest
// with a new source opened there: together they read every message once, in order, even
// though the durable consumer had delivered past the checkpoint.
func TestSourceResumesAtItsCheckpoint(t *testing.T) {
	e, js := testServer(t)
	records := transactions(t, 500, 0)
	publish(t, js, jetstream.StreamConfig{Name: "TX", Subjects: []string{"tx"}}, records, func(int) string { return "tx" })
	r := open(t, newTestSource(t, e, SourceConfig{}), 0, nil)
	whole, _ := readN(t, r, 500)
	if err := r.Close(); err != nil { // one reader at a time pulls from the durable consumer
		t.Fatal(err)
	}

	r = open(t, newTestSource(t, e, SourceConfig{}), 0, nil)
	first, _ := readN(t, r, 130) // batches of 64: the cut falls inside the third, so read 192
	pos, err := r.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	rest, _ := readN(t, open(t, newTestSource(t, e, SourceConfig{}), 0, pos), 500-len(first))
	if got := append(first, rest...); !equal(got, whole) {
		t.Fatalf("resumed read differs from the whole read: %d and %d rows", len(got), len(whole))
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSourceStarts opens a stream without a position at each start: earliest reads the
// first message, latest the first published after Open, and a time the first stored at
// or after it (by the times the server stored the messages with).
func TestSourceStarts(t *testing.T) {
	e, js := testServer(t)
	records := transactions(t, 21, 0)
	publish(t, js, jetstream.StreamConfig{Name: "TX", Subjects: []string{"tx"}}, records[:20], func(int) string { return "tx" })
	ctx := context.Background()
	st, err := js.Stream(ctx, "TX")
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetMsg(ctx, 12)
	if err != nil {
		t.Fatal(err)
	}
	at, want := m.Time, 0 // the first message stored at or after the 12th's time
	for seq := uint64(1); ; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if !m.Time.Before(at) {
			want = int(seq - 1)
			break
		}
	}
	n := 0
	first := func(start Start) source.PartitionReader {
		n++
		return open(t, newTestSource(t, e, SourceConfig{Start: start, Durable: fmt.Sprintf("start-%d", n)}), 0, nil)
	}
	id := func(i int) string { return txID(records[i]) }
	if got, _ := readN(t, first(Start{}), 1); got[0] != id(0) {
		t.Errorf("earliest read %s first, want %s", got[0], id(0))
	}
	if got, _ := readN(t, first(Start{Time: at}), 1); got[0] != id(want) {
		t.Errorf("start %s read %s first, want %s", at, got[0], id(want))
	}
	latest := first(Start{Latest: true})
	if _, err := js.Publish(ctx, "tx", records[20]); err != nil {
		t.Fatal(err)
	}
	if got, _ := readN(t, latest, 1); got[0] != id(20) {
		t.Errorf("latest read %s first, want %s", got[0], id(20))
	}
}

// TestSourceRefusesDeletedSequences resumes at a sequence that the stream's limits have
// deleted: Open fails and says which sequences are gone, instead of skipping them.
func TestSourceRefusesDeletedSequences(t *testing.T) {
	e, js := testServer(t)
	records := transactions(t, 20, 0)
	publish(t, js, jetstream.StreamConfig{Name: "TX", Subjects: []string{"tx"}, MaxMsgs: 5}, records, func(int) string { return "tx" })
	s := newTestSource(t, e, SourceConfig{})
	pos, err := position{V: positionVersion, Stream: "TX", Seq: 3}.encode()
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(context.Background(), 0, pos)
	if err == nil {
		_ = r.Close()
		t.Fatal("opened at sequence 3 of a stream that begins at 16")
	}
	if want := "messages 3..15 were deleted"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	pos, _ = position{V: positionVersion, Stream: "TX", Seq: 16}.encode()
	if ids, _ := readN(t, open(t, s, 0, pos), 5); len(ids) != 5 {
		t.Fatalf("%d rows from the 5 messages kept", len(ids))
	}
}

// TestSourceCommittedAcknowledges hands the source a durable checkpoint's position: the
// durable consumer's ack floor at the server moves to the message before it, and on a
// work-queue stream the acknowledged messages are gone.
func TestSourceCommittedAcknowledges(t *testing.T) {
	e, js := testServer(t)
	records := transactions(t, 300, 0)
	publish(t, js, jetstream.StreamConfig{Name: "TX", Subjects: []string{"tx"}, Retention: jetstream.WorkQueuePolicy},
		records, func(int) string { return "tx" })
	s := newTestSource(t, e, SourceConfig{})
	r := open(t, s, 0, nil)
	first, _ := readN(t, r, 100)
	pos, err := r.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	readN(t, r, 300-len(first)) // read on past the checkpoint
	if err := s.Committed(context.Background(), 1, map[int][]byte{0: pos}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := js.Consumer(ctx, "TX", "millrace-test-tx")
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.AckFloor.Stream, uint64(len(first)); got != want {
		t.Errorf("ack floor at sequence %d after a checkpoint at %d, want %d", got, want+1, want)
	}
	st, err := js.Stream(ctx, "TX")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.CachedInfo().State.Msgs, uint64(300-len(first)); got != want {
		t.Errorf("the work queue holds %d messages after %d of 300 were acknowledged, want %d", got, len(first), want)
	}
}

// TestSourceDropsRedeliveries lets the acknowledgement wait pass without a checkpoint: the
// server delivers the messages again, and the reader drops them, counts them and yields
// nothing twice.
func TestSourceDropsRedeliveries(t *testing.T) {
	e, js := testServer(t)
	records := transactions(t, 40, 0)
	publish(t, js, jetstream.StreamConfig{Name: "TX", Subjects: []string{"tx"}}, records, func(int) string { return "tx" })
	s := newTestSource(t, e, SourceConfig{AckWait: 50 * time.Millisecond})
	r := open(t, s, 0, nil)
	ids, _ := readN(t, r, 40)
	if len(ids) != 40 {
		t.Fatalf("%d rows from 40 messages", len(ids))
	}
	for s.Redelivered() == 0 { // each empty poll waits for the redeliveries to come
		rec, dead, err := r.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rec != nil || len(dead) > 0 {
			t.Fatalf("a message read again: %v, %d dead letters", rec, len(dead))
		}
	}
}

// TestSourceResetLosesNothing resets the durable consumer under a reader after every batch:
// each batch's checkpoint is committed, then the reader either resumes as after a
// reconnect or is closed and opened again at its checkpoint. Messages are published in
// rounds of two batches, so at every other reset the reader has pulled the rest of the
// round and has a pull request open at the server, waiting for more. Every message must
// come once, in order. The acknowledgement wait is ten minutes, so a message the server
// served after the reset to a pull request from before it would come again only then,
// and the read stalls: a run of empty polls fails the test.
func TestSourceResetLosesNothing(t *testing.T) {
	const (
		batch   = 4
		stalled = 100 // empty polls in a row, each after Poll, that mean a stalled read
	)
	// A reset loses messages only when it overtakes the end of a pull request before it,
	// which is rare: every round is a chance (a reader on the jetstream Messages iterator,
	// which unsubscribes asynchronously, lost messages in 8 runs of 8 with 1000 rounds, in
	// 4 of 8 with 250). A reopened reader costs a connection.
	for _, c := range []struct {
		reset  string
		rounds int
	}{{"reconnect", 1000}, {"reopen", 250}} {
		reset, rounds := c.reset, c.rounds
		if testing.Short() {
			rounds /= 10
		}
		t.Run(reset, func(t *testing.T) {
			ctx := context.Background()
			e, js := testServer(t)
			records := transactions(t, int64(2*batch*rounds), 0)
			publish(t, js, jetstream.StreamConfig{Name: "TX", Subjects: []string{"tx"}}, nil, nil)
			s := newTestSource(t, e, SourceConfig{BatchRows: batch, Poll: 50 * time.Millisecond, AckWait: 10 * time.Minute})
			r := open(t, s, 0, nil)
			var got []string
			for round := range rounds {
				for _, rec := range records[2*batch*round : 2*batch*(round+1)] {
					if _, err := js.Publish(ctx, "tx", rec); err != nil {
						t.Fatal(err)
					}
				}
				for empty := 0; len(got) < 2*batch*(round+1); {
					rec, _, err := r.Read(ctx)
					if err != nil {
						t.Fatalf("read after %d messages: %v", len(got), err)
					}
					if rec == nil {
						if empty++; empty == stalled {
							t.Fatalf("%d of %d messages came, then %d empty polls", len(got), 2*batch*(round+1), empty)
						}
						continue
					}
					empty = 0
					for i := range int(rec.NumRows()) {
						if id, want := rec.Column(0).ValueStr(i), txID(records[len(got)]); id != want {
							t.Fatalf("row %d is %s, want %s", len(got), id, want)
						}
						got = append(got, rec.Column(0).ValueStr(i))
					}
					rec.Release()
					pos, err := r.Checkpoint()
					if err != nil {
						t.Fatal(err)
					}
					if err := s.Committed(ctx, uint64(len(got)), map[int][]byte{0: pos}); err != nil {
						t.Fatal(err)
					}
					switch reset {
					case "reconnect":
						r.(*reader).reconnected.Store(true)
					case "reopen":
						if err := r.Close(); err != nil {
							t.Fatal(err)
						}
						r = open(t, s, 0, pos)
					}
				}
			}
		})
	}
}

// TestSourceFailsWithoutItsConsumer deletes a reader's durable consumer while the reader
// waits for messages: Read fails and says so, instead of waiting for ever.
func TestSourceFailsWithoutItsConsumer(t *testing.T) {
	e, js := testServer(t)
	publish(t, js, jetstream.StreamConfig{Name: "TX", Subjects: []string{"tx"}}, transactions(t, 10, 0), func(int) string { return "tx" })
	r := open(t, newTestSource(t, e, SourceConfig{}), 0, nil)
	readN(t, r, 10)
	if err := js.DeleteConsumer(context.Background(), "TX", "millrace-test-tx"); err != nil {
		t.Fatal(err)
	}
	for polls := 0; ; polls++ {
		rec, _, err := r.Read(context.Background())
		if err != nil {
			if want := "Consumer Deleted"; !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not say %q", err, want)
			}
			return
		}
		if rec != nil {
			t.Fatalf("%d rows without a consumer", rec.NumRows())
		}
		if polls == 100 {
			t.Fatalf("%d empty polls without a consumer, and no error", polls)
		}
	}
}

// TestSourceGoesOnAfterAServerRestart restarts the server in the middle of a read: the
// reader waits (empty polls, counted as waited), reconnects, and reads every message once,
// in order, including those published after the restart.
func TestSourceGoesOnAfterAServerRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := StartEmbedded(ctx, EmbeddedOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	nc, err := Conn{URL: e.URL()}.connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	records := transactions(t, 400, 0)
	publish(t, js, jetstream.StreamConfig{Name: "TX", Subjects: []string{"tx"}, Storage: jetstream.FileStorage}, records[:300], func(int) string { return "tx" })
	s := newTestSource(t, e, SourceConfig{})
	r := open(t, s, 0, nil)
	first, _ := readN(t, r, 100)

	port := e.Port()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	waited := r.Progress().Waited
	for { // the server is away: what was buffered comes, then empty polls
		rec, _, err := r.Read(ctx)
		if err != nil {
			t.Fatalf("read while the server is away: %v", err)
		}
		if rec == nil {
			break
		}
		for i := range int(rec.NumRows()) {
			first = append(first, rec.Column(0).ValueStr(i))
		}
		rec.Release()
	}
	back := nc.StatusChanged(nats.CONNECTED)
	if e, err = StartEmbedded(ctx, EmbeddedOptions{Dir: dir, Port: port}); err != nil {
		t.Fatal(err)
	}
	<-back
	for _, rec := range records[300:] {
		if _, err := js.Publish(ctx, "tx", rec); err != nil {
			t.Fatal(err)
		}
	}
	rest, _ := readN(t, r, 400-len(first))
	got := append(first, rest...)
	for i, id := range got {
		if want := txID(records[i]); id != want {
			t.Fatalf("row %d is %s, want %s", i, id, want)
		}
	}
	if len(got) != 400 {
		t.Fatalf("%d rows from 400 messages", len(got))
	}
	if r.Progress().Waited <= waited {
		t.Errorf("the outage counted no waiting")
	}
}

// TestSourceReadsTimestampsInItsZone reads a timestamp written without an offset, as DuckDB
// and Spark export them, as a wall-clock time of the source's zone.
func TestSourceReadsTimestampsInItsZone(t *testing.T) {
	e, js := testServer(t)
	records := transactions(t, 1, 0)
	records[0] = regexp.MustCompile(`"ts":"[^"]*"`).ReplaceAll(records[0], []byte(`"ts":"2026-03-02 00:00:01.494"`))
	publish(t, js, jetstream.StreamConfig{Name: "TX", Subjects: []string{"tx"}}, records, func(int) string { return "tx" })
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	r := open(t, newTestSource(t, e, SourceConfig{Zone: paris}), 0, nil)
	for {
		rec, dead, err := r.Read(context.Background())
		if err != nil || len(dead) > 0 {
			t.Fatalf("read: %v %v", err, dead)
		}
		if rec == nil {
			continue
		}
		defer rec.Release()
		ts := rec.Column(rec.Schema().FieldIndices("ts")[0]).(*array.Timestamp).Value(0)
		if got, want := time.UnixMilli(int64(ts)).UTC(), time.Date(2026, 3, 1, 23, 0, 1, 494e6, time.UTC); !got.Equal(want) {
			t.Errorf("ts %s, want %s", got, want)
		}
		return
	}
}

// BenchmarkSourceRead reads a stream of 10,000 transactions through one reader with the
// default batch size, from the first message to the last; each pass opens a reader.
func BenchmarkSourceRead(b *testing.B) {
	const n = 10_000
	e, js := testServer(b)
	publish(b, js, jetstream.StreamConfig{Name: "TX", Subjects: []string{"tx"}}, transactions(b, n, 0), func(int) string { return "tx" })
	s := newTestSource(b, e, SourceConfig{BatchRows: 8192})
	ctx := context.Background()
	passes := 0
	for b.Loop() {
		r, err := s.Open(ctx, 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		readN(b, r, n)
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
		passes++
	}
	b.ReportMetric(float64(n*passes)/b.Elapsed().Seconds(), "msgs/s")
}

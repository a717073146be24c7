package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"millrace/format"
	"millrace/gen"
	"millrace/natsjs"
	"millrace/schema"
)

// crashNATSSpec reads the JetStream stream TX, split into two partition subjects, and
// writes every accepted row to a JetStream subject, the large ones to a JSONL file and the
// dead letters to another.
const crashNATSSpec = `
name: crash_nats
sources:
  tx:
    kind: nats
    url: ${NATS_URL}
    stream: TX
    subject: tx
    partitions: 2
    durable: ${DURABLE}
    schema: transaction
    checks: [amount > 0]
views:
  large:
    from: tx
    where: amount >= 1000
    select: {tx_id: tx_id, card_id: card_id, amount: amount}
sinks:
  all:    {from: tx, kind: nats, url: "${NATS_URL}", subject: "${OUT_SUBJECT}"}
  alerts: {from: large, kind: jsonl, path: "${OUT}/large.jsonl"}
  dead:   {from: tx.dead_letters, kind: jsonl, path: "${OUT}/dead.jsonl"}
`

// natsRun is a millrace run of crashNATSSpec in a process of its own.
type natsRun struct {
	cmd    *exec.Cmd
	stderr *strings.Builder
	done   chan error
}

func startNATSRun(t *testing.T, spec string, env []string, args ...string) *natsRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"run", spec, "--listen", ""}, args...)...)
	cmd.Env = append(append(os.Environ(), runMainEnv+"=1"), env...)
	r := &natsRun{cmd: cmd, stderr: &strings.Builder{}, done: make(chan error, 1)}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // the test stopped early: leave no process behind
			if err := <-r.done; err != nil {
				t.Logf("the run left behind ended: %v", err)
			}
		}
	})
	return r
}

// kill SIGKILLs the run and waits for it.
func (r *natsRun) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	if err := <-r.done; err == nil {
		t.Log("the run ended by itself before its kill")
	}
}

// stop SIGTERMs the run, which stops with a last checkpoint, and waits for it.
func (r *natsRun) stop(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-r.done; err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 143 && exit.ExitCode() != 130 {
			t.Fatalf("the stopped run failed: %v\n%s", err, r.stderr.String())
		}
	}
}

// outputCounter follows a stream with an ordered consumer and counts what it stores.
type outputCounter struct {
	msgs chan []byte
	cc   jetstream.ConsumeContext
}

func countOutput(t *testing.T, js jetstream.JetStream, stream string) *outputCounter {
	t.Helper()
	cons, err := js.OrderedConsumer(context.Background(), stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c := &outputCounter{msgs: make(chan []byte, 1<<20)}
	if c.cc, err = cons.Consume(func(m jetstream.Msg) { c.msgs <- bytes.Clone(m.Data()) }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.cc.Stop)
	return c
}

// waitFor takes messages until it has n in all, or fails when the run ends first.
func (c *outputCounter) waitFor(t *testing.T, got *[]string, n int, r *natsRun) {
	t.Helper()
	for len(*got) < n {
		select {
		case m := <-c.msgs:
			*got = append(*got, string(m))
		case err := <-r.done:
			r.done <- err
			t.Fatalf("the run ended (%v) with %d of %d rows published:\n%s", err, len(*got), n, r.stderr.String())
		}
	}
}

// TestNATSCrashAndResumeIsExactlyOnce runs the CLI from a JetStream stream into a
// JetStream sink and file sinks, SIGKILLs it at moments chosen by what it has published,
// restarts the server under it once, and checks that the sinks hold exactly what an
// uninterrupted run writes. The server lives in the test and outlives the killed runs.
func TestNATSCrashAndResumeIsExactlyOnce(t *testing.T) {
	rows, kills := 20_000, 3
	if *crashLong {
		rows, kills = 200_000, 10
	}
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := natsjs.StartEmbedded(ctx, natsjs.EmbeddedOptions{Dir: filepath.Join(dir, "nats")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []jetstream.StreamConfig{
		{Name: "TX", Subjects: []string{"tx.>"}, Storage: jetstream.FileStorage},
		{Name: "WANT", Subjects: []string{"out.want"}, Storage: jetstream.FileStorage, Duplicates: time.Hour},
		{Name: "GOT", Subjects: []string{"out.got"}, Storage: jetstream.FileStorage, Duplicates: time.Hour},
	} {
		if _, err := js.CreateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	records, valid := natsRecords(t, int64(rows))
	for i, r := range records {
		if _, err := js.PublishAsync(fmt.Sprintf("tx.%d", i%2), r); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		t.Fatal("the input was not stored within a minute")
	}
	spec := filepath.Join(dir, "crash.yaml")
	if err := os.WriteFile(spec, []byte(crashNATSSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(name string) []string {
		return []string{"NATS_URL=" + srv.URL(), "DURABLE=" + name, "OUT_SUBJECT=out." + name, "OUT=" + filepath.Join(dir, name)}
	}

	// The uninterrupted run, stopped once everything was published.
	var want []string
	wantOut := countOutput(t, js, "WANT")
	r := startNATSRun(t, spec, env("want"), "-p", "2", "--checkpoint", filepath.Join(dir, "cp-want"), "--checkpoint-interval", "150ms")
	wantOut.waitFor(t, &want, valid, r)
	r.stop(t)

	var got []string
	gotOut := countOutput(t, js, "GOT")
	rng := rand.New(rand.NewPCG(11, uint64(rows)))
	cp := filepath.Join(dir, "cp-got")
	for attempt := range kills {
		r := startNATSRun(t, spec, env("got"), "-p", fmt.Sprint(1+attempt%2), "--checkpoint", cp, "--checkpoint-interval", "150ms")
		// Kill after a share of what is left has been published; a share of 0 kills at
		// once, before the first checkpoint.
		share := rng.IntN(3) * (valid - len(got)) / (3 * (kills - attempt + 1))
		gotOut.waitFor(t, &got, len(got)+share, r)
		if attempt == 1 {
			// The server goes away under the run and comes back on its port and storage;
			// the run waits, reconnects and goes on.
			port := srv.Port()
			if err := srv.Close(); err != nil {
				t.Fatal(err)
			}
			if srv, err = natsjs.StartEmbedded(ctx, natsjs.EmbeddedOptions{Dir: filepath.Join(dir, "nats"), Port: port}); err != nil {
				t.Fatal(err)
			}
			gotOut.waitFor(t, &got, len(got)+1, r)
		}
		r.kill(t)
		t.Logf("killed attempt %d after %d rows published in all", attempt, len(got))
	}
	r = startNATSRun(t, spec, env("got"), "-p", "2", "--checkpoint", cp, "--checkpoint-interval", "150ms")
	gotOut.waitFor(t, &got, valid, r)
	r.stop(t)

	st, err := js.Stream(ctx, "GOT")
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != uint64(valid) {
		t.Errorf("the output stream holds %d messages, want %d: a row was published twice or lost", n, valid)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("output stream: %d rows after crashes, %d uninterrupted; first difference: %s", len(got), len(want), firstDifference(got, want))
	}
	for _, sink := range []string{"large.jsonl", "dead.jsonl"} {
		w := sinkRows(t, filepath.Join(dir, "want", sink))
		g := sinkRows(t, filepath.Join(dir, "got", sink))
		if len(w) == 0 {
			t.Errorf("%s: the uninterrupted run wrote nothing", sink)
		}
		if !slices.Equal(g, w) {
			t.Errorf("%s: %d rows after crashes, %d uninterrupted; first difference: %s", sink, len(g), len(w), firstDifference(g, w))
		}
	}
}

// natsRecords generates n transactions as JSON lines, a few of them corrupt or with a
// negative amount, and says how many of them the spec's source accepts.
func natsRecords(t *testing.T, n int64) ([][]byte, int) {
	t.Helper()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.CorruptRate, cfg.Seed = n, 0.002, 5
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), cfg, &buf, format.JSONL, format.WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	r, err := format.NewJSONLReader(bytes.NewReader(buf.Bytes()), "tx", schema.Transaction(), format.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	valid := 0
	for {
		rec, _, err := r.Read()
		if err != nil {
			break
		}
		amount := rec.Column(rec.Schema().FieldIndices("amount")[0])
		for i := range int(rec.NumRows()) {
			if !strings.HasPrefix(amount.ValueStr(i), "-") && amount.ValueStr(i) != "0" && amount.ValueStr(i) != "0.00" {
				valid++
			}
		}
		rec.Release()
	}
	return bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n")), valid
}

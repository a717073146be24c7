package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// thenSpec reads every transaction, and hourly sums per channel, from the source tx: in
// the reference the whole history as one file, in the backfill a lake up to switch_at and
// then a Kafka topic.
const thenSpec = `name: backfill
sources:
%s
views:
  hourly:
    from: tx
    group_by: [channel]
    window: {tumble: 1h}
    select: {n: count(*), spend: sum(amount)}
sinks:
  rows: {from: tx, kind: jsonl, path: out/rows}
  hourly: {from: hourly, kind: jsonl, path: out/hourly}
`

// A lake followed by a Kafka topic gives what one file of the whole history gives, across
// a stop at a checkpoint taken while the history and the live part are read: every row
// once, and every hourly window the watermark has closed with the same sums.
func TestLakeThenKafkaEqualsOneFile(t *testing.T) {
	dir := t.TempDir()
	history := filepath.Join(dir, "tx.jsonl")
	mustRun(t, "gen", "--rows", "20000", "--rate", "0.1", "--flat", "--seed", "3", "--start", "2026-03-01T00:00:00Z", "--out", history)
	lines := bytes.Split(bytes.TrimSpace(readFile(t, history)), []byte("\n"))

	// The lake holds the whole history as Parquet part files.
	lakeWork := filepath.Join(dir, "make-lake")
	if err := os.MkdirAll(lakeWork, 0o755); err != nil {
		t.Fatal(err)
	}
	writeSpec(t, lakeWork, "lake.yaml", `name: make-lake
sources:
  tx: {kind: file, path: `+history+`, schema: transaction}
sinks:
  lake: {from: tx, kind: parquet, path: `+filepath.Join(dir, "lake")+`}
`)
	runIn(t, lakeWork, "run", "lake.yaml", "--listen", "", "--no-checkpoint")

	// The topic holds the whole history too, in order within each partition, with the time
	// of producing as record time: after switch_at, so the live source reads it all. Its
	// second half comes while the backfill is stopped.
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "tx"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	broker := cluster.ListenAddrs()[0]
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produce := func(lines [][]byte) {
		recs := make([]*kgo.Record, len(lines))
		for i, l := range lines {
			recs[i] = &kgo.Record{Topic: "tx", Partition: int32(i % 4), Value: l}
		}
		if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	half := len(lines) / 2
	half -= half % 4 // so that partition i gets rows i, i+4, ... in both halves
	produce(lines[:half])

	// The reference: the whole history as one file.
	const source = `    schema: transaction
    event_time: ts
    watermark: 30m`
	refWork := filepath.Join(dir, "reference")
	writeSpec(t, refWork, "ref.yaml", strings.Replace(thenSpec, "%s", "  tx:\n    kind: file\n    path: "+history+"\n"+source, 1))
	runIn(t, refWork, "run", "ref.yaml", "--listen", "", "--no-checkpoint")
	wantRows, wantHourly := sinkRows(t, filepath.Join(refWork, "out/rows")), sinkRows(t, filepath.Join(refWork, "out/hourly"))
	if len(wantRows) != len(lines) {
		t.Fatalf("the reference wrote %d rows of %d", len(wantRows), len(lines))
	}

	// The backfill: the lake until a day into the history, then the topic.
	work := filepath.Join(dir, "backfill")
	spec := writeSpec(t, work, "backfill.yaml", strings.Replace(thenSpec, "%s", `  live:
    kind: kafka
    brokers: `+broker+`
    topic: tx
`+source+`
  tx:
    kind: lake
    path: `+filepath.Join(dir, "lake")+`
`+source+`
    then: live
    switch_at: 2026-03-02T00:00:00Z`, 1))
	plan := runIn(t, work, "plan", spec)
	if !strings.Contains(plan, "the rows before 2026-03-02T00:00:00Z, then those of live at or after it") {
		t.Errorf("the plan does not say where the lake hands over:\n%s", plan)
	}
	// Without switch_at, the lake hands over just after its greatest event time.
	noSwitch := writeSpec(t, work, "no-switch.yaml", strings.Replace(readFileString(t, spec), "    switch_at: 2026-03-02T00:00:00Z\n", "", 1))
	after := lastEventTime(t, lines).Add(time.Millisecond).UTC().Format(time.RFC3339Nano)
	if plan := runIn(t, work, "plan", noSwitch); !strings.Contains(plan, "the rows before "+after+", then those of live") {
		t.Errorf("without switch_at the plan does not hand over at %s:\n%s", after, plan)
	}
	cps := filepath.Join(work, "checkpoints")
	args := []string{"run", spec, "-p", "2", "--listen", "", "--checkpoint", cps, "--checkpoint-interval", "50ms"}
	t.Chdir(work)
	first, stderr := startRun(t, args)
	waitFor(t, "the first checkpoint", func() bool { return hasCheckpoint(filepath.Join(cps, "backfill")) || hasCheckpoint(cps) })
	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("stopped run: %v\n%s", err, stderr)
	}

	// Resumed, it reads on until every row is out and the watermark, 30 minutes behind the
	// last event time, has closed every window before it.
	last := lastEventTime(t, lines)
	var closed []string
	for _, w := range wantHourly {
		if !windowEnd(t, w).After(last.Add(-30 * time.Minute)) {
			closed = append(closed, w)
		}
	}
	produce(lines[half:])
	second, stderr := startRun(t, args)
	waitFor(t, "every row and every closed window", func() bool {
		return len(sinkRows(t, filepath.Join(work, "out/rows"))) >= len(wantRows) &&
			len(sinkRows(t, filepath.Join(work, "out/hourly"))) >= len(closed)
	})
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("stopped run: %v\n%s", err, stderr)
	}
	if got := sinkRows(t, filepath.Join(work, "out/rows")); !slices.Equal(got, wantRows) {
		t.Errorf("the backfill wrote %d rows, the reference %d, not the same", len(got), len(wantRows))
	}
	got := sinkRows(t, filepath.Join(work, "out/hourly"))
	for _, w := range closed {
		if !slices.Contains(got, w) {
			t.Errorf("window %s is missing from the backfill, or differs", w)
		}
	}
	if len(got) > len(closed) {
		for _, w := range got {
			if !slices.Contains(wantHourly, w) {
				t.Errorf("the backfill wrote window %s, which the reference did not", w)
			}
		}
	}
}

// writeSpec writes a spec named name into dir, creating it, and returns its path.
func writeSpec(t *testing.T, dir, name, text string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// lastEventTime is the greatest ts of JSONL transactions.
func lastEventTime(t *testing.T, lines [][]byte) time.Time {
	t.Helper()
	var last time.Time
	for _, l := range lines {
		var row struct {
			TS time.Time `json:"ts"`
		}
		if err := json.Unmarshal(l, &row); err != nil {
			t.Fatal(err)
		}
		if row.TS.After(last) {
			last = row.TS
		}
	}
	return last
}

// windowEnd is the window_end of a JSONL window row.
func windowEnd(t *testing.T, line string) time.Time {
	t.Helper()
	var row struct {
		End time.Time `json:"window_end"`
	}
	if err := json.NewDecoder(bufio.NewReader(strings.NewReader(line))).Decode(&row); err != nil {
		t.Fatal(err)
	}
	return row.End
}

func readFileString(t *testing.T, path string) string {
	t.Helper()
	return string(readFile(t, path))
}

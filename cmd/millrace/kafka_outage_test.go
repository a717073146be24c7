//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/kafka/kafkatest"
)

// outageSpec filters the transactions of the topic in (or, for the reference run, of the
// same records in a file: the source's settings are %s) into the topic PREFIX-large,
// exactly once, and into a JSONL file.
const outageSpec = `
name: outage
sources:
  tx:
    %s
    schema: transaction
views:
  large:
    from: tx
    where: amount >= 300
    select: {tx_id: tx_id, card_id: card_id, amount: amount, ts: ts}
sinks:
  large_out: {from: large, kind: kafka, brokers: ["${BROKERS}"], topic: "${PREFIX}-large", key: card_id}
  large_file: {from: large, kind: jsonl, path: "${OUT}/large"}
`

// sourceUnreachable reads /api/topology at addr and returns, for the source tx, which of
// its partitions wait for their broker and why.
func sourceUnreachable(t *testing.T, addr string) map[string]string {
	t.Helper()
	var topo struct {
		Nodes []struct {
			ID          string            `json:"id"`
			Unreachable map[string]string `json:"unreachable"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(get(t, "http://"+addr+"/api/topology")), &topo); err != nil {
		t.Fatalf("/api/topology: %v", err)
	}
	for _, n := range topo.Nodes {
		if n.ID == "tx" {
			return n.Unreachable
		}
	}
	t.Fatalf("/api/topology has no node tx")
	return nil
}

// TestKafkaBrokerOutage runs a pipeline from a Kafka topic into an exactly-once Kafka sink
// and a file sink, stops the broker once every record of the first half of the input is in
// a durable checkpoint, waits until the dashboard's /api/topology shows the source waiting
// for its broker (the run still going; /metrics says so too), starts the broker again on
// the same port with what it held, produces the second half, and, once the output holds as
// many records as a run over the same records in a file produced, stops the run with
// SIGTERM: the output topic read with read_committed, and the file sink, equal that run's,
// nothing lost, nothing twice.
func TestKafkaBrokerOutage(t *testing.T) {
	const rows = 20_000
	dir := t.TempDir()
	broker := kafkatest.StartBroker(t, filepath.Join(dir, "broker"))
	brokers := []string{broker.Addr()}
	adm := admin(t, brokers)
	for _, topic := range []string{"in", "want-large", "got-large"} {
		if _, err := adm.CreateTopic(t.Context(), 2, -1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	input := filepath.Join(dir, "tx.jsonl")
	mustRun(t, "gen", "--rows", strconv.Itoa(rows), "--seed", "5", "--disorder", "2s", "--out", input)
	raw, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
	fileSpec, spec := filepath.Join(dir, "file.yaml"), filepath.Join(dir, "kafka.yaml")
	for path, source := range map[string]string{
		fileSpec: "kind: file\n    path: ${TX}",
		spec:     "kind: kafka\n    brokers: [\"${BROKERS}\"]\n    topic: in\n    start: earliest",
	} {
		if err := os.WriteFile(path, fmt.Appendf(nil, outageSpec, source), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("BROKERS", brokers[0])
	t.Setenv("TX", input)

	t.Setenv("PREFIX", "want")
	t.Setenv("OUT", filepath.Join(dir, "want"))
	mustRun(t, "run", fileSpec, "-p", "2", "--listen", "", "--no-checkpoint")
	want := kafkatest.Values(kafkatest.ReadCommitted(t, brokers, "want-large"))
	wantFile := sinkRows(t, filepath.Join(dir, "want", "large"))
	slices.Sort(wantFile)
	if len(want) == 0 || len(wantFile) != len(want) {
		t.Fatalf("the reference run produced %d records and %d file rows", len(want), len(wantFile))
	}

	produce := func(lines [][]byte) map[int32]int64 {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("in"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		recs := make([]*kgo.Record, len(lines))
		for i, l := range lines {
			recs[i] = &kgo.Record{Value: l}
		}
		if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
			t.Fatalf("produce to in: %v", err)
		}
		ends := map[int32]int64{}
		for _, r := range recs {
			ends[r.Partition] = max(ends[r.Partition], r.Offset+1)
		}
		return ends
	}
	firstEnds := produce(lines[:rows/2])

	t.Setenv("PREFIX", "got")
	t.Setenv("OUT", filepath.Join(dir, "got"))
	addr := freeAddr(t)
	cmd, stderr := startRun(t, []string{"run", spec, "-p", "2", "--listen", addr,
		"--checkpoint", filepath.Join(dir, "checkpoints"), "--checkpoint-interval", "100ms"})
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	running := func(when string) {
		t.Helper()
		select {
		case err := <-done:
			t.Fatalf("the run ended %s: %v\n%s", when, err, stderr.String())
		default:
		}
	}

	// The source commits offsets to its group once the checkpoint holding them is durable.
	waitFor(t, "the first half of the input to be in a durable checkpoint", func() bool {
		got, err := adm.FetchOffsets(t.Context(), "millrace.outage.tx")
		if err != nil || got.Error() != nil {
			return false
		}
		for p, end := range firstEnds {
			if o, ok := got.Lookup("in", p); !ok || o.At != end {
				return false
			}
		}
		return true
	})
	broker.Stop()
	var why map[string]string
	waitFor(t, "the dashboard to show the source waiting for its broker", func() bool {
		running("while the broker was away")
		why = sourceUnreachable(t, addr)
		return len(why) > 0
	})
	t.Logf("while the broker was away, /api/topology said of tx: %v", why)
	for p, w := range why {
		if !strings.Contains(w, broker.Addr()) {
			t.Errorf("partition %s waits for %q, which does not name the broker %s", p, w, broker.Addr())
		}
	}
	metrics := get(t, "http://"+addr+"/metrics")
	for p := range why {
		if want := `millrace_source_unreachable{partition="` + p + `",pipeline="outage",source="tx"} 1`; !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s while the broker is away", want)
		}
	}

	broker.Start()
	waitFor(t, "the dashboard to show the source reaching its broker again", func() bool {
		running("after the broker came back")
		return len(sourceUnreachable(t, addr)) == 0
	})
	metrics = get(t, "http://"+addr+"/metrics")
	for p := range 2 {
		if want := fmt.Sprintf(`millrace_source_unreachable{partition="%d",pipeline="outage",source="tx"} 0`, p); !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s once the broker is back", want)
		}
	}
	produce(lines[rows/2:])
	committed, stopCommitted := whenCommitted(t, brokers, "got-large", len(want))
	<-committed
	stopCommitted()
	waitFor(t, "the file sink to hold every row", func() bool {
		running("before the file sink held every row")
		return len(sinkRows(t, filepath.Join(dir, "got", "large"))) >= len(wantFile)
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		var exit interface{ ExitCode() int }
		if errors.As(err, &exit) {
			t.Fatalf("the run, stopped with SIGTERM, exited %d\n%s", exit.ExitCode(), stderr.String())
		}
		t.Fatal(err)
	}

	got := kafkatest.Values(kafkatest.ReadCommitted(t, brokers, "got-large"))
	if !slices.Equal(got, want) {
		t.Errorf("topic: %d records across the outage, %d from the file; first difference: %s", len(got), len(want), firstDifference(got, want))
	}
	gotFile := sinkRows(t, filepath.Join(dir, "got", "large"))
	slices.Sort(gotFile)
	if !slices.Equal(gotFile, wantFile) {
		t.Errorf("file sink: %d rows across the outage, %d from the file; first difference: %s", len(gotFile), len(wantFile), firstDifference(gotFile, wantFile))
	}
}

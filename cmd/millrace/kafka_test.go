package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// kafkaSpec reads the topic tx of a SASL-protected cluster into a JSONL sink, and its dead
// letters into another.
const kafkaSpec = `
name: live
sources:
  tx:
    kind: kafka
    brokers: ${BROKER}
    topic: tx
    sasl: {mechanism: PLAIN, username: millrace, password: "${KAFKA_PASSWORD}"}
    columns: {id: string, amount: int64, _partition: int64, _offset: int64}
    checks: [amount < 390]
sinks:
  rows: {from: tx, kind: jsonl, path: "${OUT}/rows"}
  dead: {from: tx.dead_letters, kind: jsonl, path: "${OUT}/dead"}
`

// TestKafkaSourceEndToEnd runs a pipeline reading a Kafka topic of 4 partitions, some of
// whose records do not decode and some fail a check, into file sinks; once the sinks hold every record and the
// group holds the offsets past them, it checks the lag on /metrics and stops the run with
// SIGTERM. The plan, and the error of a wrong password, never show the password.
func TestKafkaSourceEndToEnd(t *testing.T) {
	const password = "s3cret-kafka-pass"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "tx"),
		kfake.EnableSASL(), kfake.Superuser("PLAIN", "millrace", password))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	broker := cluster.ListenAddrs()[0]
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.SASL(plain.Auth{User: "millrace", Pass: password}.AsMechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	const n, bad = 400, 8
	for i := range n {
		v := fmt.Sprintf(`{"id":"t%03d","amount":%d}`, i, i)
		if i%(n/bad) == 7 {
			v = fmt.Sprintf(`{"id":"t%03d","amount":"lots"}`, i)
		}
		recs = append(recs, &kgo.Record{Topic: "tx", Partition: int32(i % 4), Value: []byte(v)})
	}
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	spec := filepath.Join(dir, "live.yaml")
	if err := os.WriteFile(spec, []byte(kafkaSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BROKER", broker)
	t.Setenv("OUT", filepath.Join(dir, "out"))

	t.Setenv("KAFKA_PASSWORD", "wrong-"+password)
	_, err = run(t, "plan", spec)
	if err == nil || strings.Contains(err.Error(), password) {
		t.Fatalf("plan with a wrong password: %v", err)
	}
	t.Setenv("KAFKA_PASSWORD", password)
	printed := mustRun(t, "plan", spec)
	if strings.Contains(printed, password) || !strings.Contains(printed, "tx (4 partitions)") {
		t.Fatalf("plan:\n%s", printed)
	}
	if printed := mustRun(t, "plan", spec, "--json"); strings.Contains(printed, password) || !strings.Contains(printed, "tx (4 partitions)") {
		t.Fatalf("plan --json:\n%s", printed)
	}

	addr := freeAddr(t)
	cps := filepath.Join(dir, "checkpoints")
	cmd, stderr := startRun(t, []string{"run", spec, "-p", "2", "--listen", addr, "--checkpoint", cps, "--checkpoint-interval", "100ms"})
	adm := kadm.NewClient(cl)
	waitFor(t, "the group to hold every partition's end offset", func() bool {
		got, err := adm.FetchOffsets(t.Context(), "millrace.live.tx")
		if err != nil || got.Error() != nil {
			return false
		}
		for p := range int32(4) {
			if o, ok := got.Lookup("tx", p); !ok || o.At != n/4 {
				return false
			}
		}
		return true
	})
	// The group's offsets are committed after the checkpoint is durable, and the file sinks
	// publish at that checkpoint's commit: every record is in a sink now.
	rows, dead := sinkRows(t, filepath.Join(dir, "out", "rows")), sinkRows(t, filepath.Join(dir, "out", "dead"))
	const checked = 10 // amounts 390 to 399
	if len(rows) != n-bad-checked || len(dead) != bad+checked {
		t.Errorf("%d rows and %d dead letters, want %d and %d", len(rows), len(dead), n-bad-checked, bad+checked)
	}
	// t395 is the 99th record of partition 3, so at offset 98, and fails the check.
	want := `{"file":"tx/3","line":null,"offset":98,"row_group":null,"row":null,"raw":"{\"id\":\"t395\"`
	if !strings.Contains(strings.Join(dead, "\n"), want) {
		t.Errorf("no dead letter for t395 at tx/3 offset 98 (%s...) in\n%s", want, strings.Join(dead, "\n"))
	}
	if len(rows) > 0 && !strings.Contains(strings.Join(rows, "\n"), `{"id":"t005","amount":5,"_partition":1,"_offset":1}`) {
		t.Errorf("rows lack t005 with its partition and offset:\n%s", strings.Join(rows[:min(5, len(rows))], "\n"))
	}
	if len(dead) > 0 && !strings.Contains(dead[0], `"file":"tx/`) || len(dead) > 0 && !strings.Contains(dead[0], `"line":null,"offset":`) {
		t.Errorf("dead letter %s: want its topic/partition and offset", dead[0])
	}

	metrics := get(t, "http://"+addr+"/metrics")
	for p := range 4 {
		want := fmt.Sprintf(`millrace_source_lag_records{partition="%d",pipeline="live",source="tx"} 0`, p)
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, password) {
		t.Error("/metrics shows the password")
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("stopped run: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), password) {
		t.Errorf("the run's output shows the password:\n%s", stderr.String())
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// get fetches url and returns its body.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

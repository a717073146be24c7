//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"millrace/kafka/kafkatest"
)

// clusterSpec reads transactions from a Kafka topic (or, for the reference, a file) into a
// keyed window and a filter, produced to the topics PREFIX-velocity and PREFIX-large.
const clusterSpec = `
name: ctest
sources:
  tx:
    %s
    schema: transaction
    event_time: ts
    watermark: 2s
views:
  velocity:
    from: tx
    group_by: [card_id]
    window: {tumble: 10s}
    select: {tx_count: count(*), spend: sum(amount)}
  large:
    from: tx
    where: amount >= 300
    select: {tx_id: tx_id, card_id: card_id, amount: amount}
sinks:
  velocity_out: {from: velocity, kind: kafka, brokers: ["${BROKERS}"], topic: "${PREFIX}-velocity", key: card_id, create: {partitions: 2}}
  large_out: {from: large, kind: kafka, brokers: ["${BROKERS}"], topic: "${PREFIX}-large", key: card_id, create: {partitions: 2}}
`

// clusterFixture is a topic of generated transactions, the same rows in a file, and the
// specs over both.
type clusterFixture struct {
	brokers           []string
	dir               string
	spec, fileSpec    string
	wantVelocity      []string
	wantLarge         []string
	watermark         time.Time
	inputPartitions   int32
	generatedRows     int
	velocityTopicName string
}

func newClusterFixture(t *testing.T, rows int, partitions int32) *clusterFixture {
	t.Helper()
	f := &clusterFixture{brokers: kafkatest.Cluster(t, "tx", partitions), dir: t.TempDir(), inputPartitions: partitions, generatedRows: rows}
	genFlags := []string{"gen", "--rows", strconv.Itoa(rows), "--seed", "5"}
	mustRun(t, append(genFlags, "--to", "kafka://"+f.brokers[0]+"/tx")...)
	mustRun(t, append(genFlags, "--out", filepath.Join(f.dir, "tx.jsonl"))...)
	f.fileSpec, f.spec = filepath.Join(f.dir, "file.yaml"), filepath.Join(f.dir, "cluster.yaml")
	for path, source := range map[string]string{
		f.fileSpec: "kind: file\n    path: ${TX}",
		f.spec:     "kind: kafka\n    brokers: [\"${BROKERS}\"]\n    topic: tx\n    start: earliest",
	} {
		if err := os.WriteFile(path, fmt.Appendf(nil, clusterSpec, source), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("BROKERS", f.brokers[0])
	t.Setenv("TX", filepath.Join(f.dir, "tx.jsonl"))
	t.Setenv("PREFIX", "want")
	mustRun(t, "run", f.fileSpec, "-p", "2", "--listen", "", "--no-checkpoint")
	// The file run ends and fires every window; an unbounded run fires those its watermark
	// passed: the least over the partitions of their latest event time, less 2s.
	f.watermark = inputWatermark(t, f.brokers, "tx").Add(-2 * time.Second)
	for _, v := range kafkatest.Values(kafkatest.ReadCommitted(t, f.brokers, "want-velocity")) {
		var row struct {
			End time.Time `json:"window_end"`
		}
		if err := json.Unmarshal([]byte(v), &row); err != nil {
			t.Fatalf("velocity row %s: %v", v, err)
		}
		if !row.End.After(f.watermark) {
			f.wantVelocity = append(f.wantVelocity, v)
		}
	}
	f.wantLarge = kafkatest.Values(kafkatest.ReadCommitted(t, f.brokers, "want-large"))
	slices.Sort(f.wantVelocity)
	slices.Sort(f.wantLarge)
	if len(f.wantVelocity) == 0 || len(f.wantLarge) == 0 {
		t.Fatalf("the reference made %d windows and %d large rows", len(f.wantVelocity), len(f.wantLarge))
	}
	t.Setenv("PREFIX", "got")
	return f
}

// inputWatermark is the least over the topic's partitions of their latest event time.
func inputWatermark(t *testing.T, brokers []string, topic string) time.Time {
	t.Helper()
	latest := map[int32]time.Time{}
	for _, r := range kafkatest.ReadCommitted(t, brokers, topic) {
		var row struct {
			TS time.Time `json:"ts"`
		}
		if err := json.Unmarshal(r.Value, &row); err != nil {
			t.Fatalf("%s/%d offset %d: %v", topic, r.Partition, r.Offset, err)
		}
		if row.TS.After(latest[r.Partition]) {
			latest[r.Partition] = row.TS
		}
	}
	var least time.Time
	for _, ts := range latest {
		if least.IsZero() || ts.Before(least) {
			least = ts
		}
	}
	return least
}

// worker is one worker process of a cluster test.
type workerProc struct {
	name   string
	cmd    *exec.Cmd
	stderr *strings.Builder
	done   chan error
}

func (f *clusterFixture) startWorker(t *testing.T, name string) *workerProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "run", f.spec, "--cluster", "kafka://"+f.brokers[0], "--state", "file://"+filepath.Join(f.dir, "state"),
		"--worker-id", name, "--listen", "", "--checkpoint-interval", "100ms")
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	w := &workerProc{name: name, cmd: cmd, stderr: &strings.Builder{}, done: make(chan error, 1)}
	cmd.Stderr = w.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-w.done
		}
	})
	return w
}

// stop stops a worker with SIGTERM and checks that it left cleanly.
func (w *workerProc) stop(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-w.done; err != nil {
		t.Fatalf("worker %s stopped with SIGTERM: %v\n%s", w.name, err, w.stderr.String())
	}
}

// kill kills a worker with SIGKILL.
func (w *workerProc) kill(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-w.done
}

// waitCommitted waits until topic holds n committed records; a worker that ends by itself
// meanwhile fails the test.
func (f *clusterFixture) waitCommitted(t *testing.T, topic string, n int, workers ...*workerProc) {
	t.Helper()
	ch, stop := whenCommitted(t, f.brokers, topic, n)
	defer stop()
	ended, quit := make(chan string, len(workers)), make(chan struct{})
	defer close(quit)
	for _, w := range workers {
		go func() {
			select {
			case err := <-w.done:
				w.done <- err
				ended <- fmt.Sprintf("worker %s ended by itself: %v\n%s", w.name, err, w.stderr.String())
			case <-quit:
			}
		}()
	}
	select {
	case <-ch:
	case why := <-ended:
		t.Fatal(why)
	}
}

// check compares what the cluster committed with the reference.
func (f *clusterFixture) check(t *testing.T) {
	t.Helper()
	for _, c := range []struct {
		topic string
		want  []string
	}{{"got-velocity", f.wantVelocity}, {"got-large", f.wantLarge}} {
		got := kafkatest.Values(kafkatest.ReadCommitted(t, f.brokers, c.topic))
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %d records, the single process %d; first difference: %s", c.topic, len(got), len(c.want), firstDifference(got, c.want))
		}
	}
}

func TestClusterOfWorkersEqualsOneProcess(t *testing.T) {
	f := newClusterFixture(t, 20_000, 4)
	a := f.startWorker(t, "a")
	b := f.startWorker(t, "b")
	f.waitCommitted(t, "got-velocity", len(f.wantVelocity), a, b)
	f.waitCommitted(t, "got-large", len(f.wantLarge), a, b)
	a.stop(t)
	b.stop(t)
	f.check(t)
}

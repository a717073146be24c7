//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/checkpoint"
	"millrace/kafka/kafkatest"
)

// kafkaCrashSpec reads the generated files under TX into a window aggregation and a
// filter, produced exactly once to the topics PREFIX-velocity and PREFIX-large, with the
// sinks' commit mode ${COMMIT}.
const kafkaCrashSpec = `
name: kcrash
sources:
  tx:
    kind: file
    path: ${TX}
    schema: transaction
    event_time: ts
    watermark: 2s
views:
  velocity:
    from: tx
    group_by: [card_id]
    window: {tumble: 1m}
    select: {tx_count: count(*), spend: sum(amount)}
  large:
    from: tx
    where: amount >= 300
    select: {tx_id: tx_id, card_id: card_id, amount: amount}
sinks:
  velocity_out: {from: velocity, kind: kafka, brokers: ["${BROKERS}"], topic: "${PREFIX}-velocity", key: card_id, commit: "${COMMIT}"}
  large_out:
    from: large
    kind: kafka
    brokers: ["${BROKERS}"]
    topic: "${PREFIX}-large"
    key: card_id
    headers: {tx: tx_id}
    commit: "${COMMIT}"
`

// TestKafkaSinkCrashEquality runs the real CLI from files into Kafka topics of a cluster that
// lives in the test, kills it with SIGKILL at moments events choose (right after the k-th
// checkpoint of an attempt is durable, or as soon as records of a transaction being
// committed reach the topic), runs it again at another parallelism each time until it
// completes, and checks that the topics, read with read_committed, hold exactly what an
// uninterrupted run produced: nothing lost, nothing twice.
func TestKafkaSinkCrashEquality(t *testing.T) {
	kafkaSinkCrashEquality(t, "checkpoint")
}

// TestKafkaSinkBatchCrashEquality is TestKafkaSinkCrashEquality for sinks that commit a
// transaction per batch: killed while a batch's transaction is being committed, right after
// one committed, or right after a checkpoint, and resumed at another parallelism, the runs
// together leave in the topics exactly what an uninterrupted run produced, every replayed
// row already committed being dropped.
func TestKafkaSinkBatchCrashEquality(t *testing.T) {
	kafkaSinkCrashEquality(t, "batch")
}

func kafkaSinkCrashEquality(t *testing.T, commit string) {
	t.Setenv("COMMIT", commit)
	files, rows, kills, partitions := 1, 60_000, 4, int32(2)
	if *crashLong {
		files, rows, kills, partitions = 4, 250_000, 12, 4
	}
	brokers := kafkatest.Cluster(t, "", 0)
	dir := t.TempDir()
	for i := range files {
		mustRun(t, "gen", "--rows", strconv.Itoa(rows), "--seed", strconv.Itoa(i+1), "--disorder", "2s",
			"--out", filepath.Join(dir, "tx", "part-"+strconv.Itoa(i)+".jsonl"))
	}
	spec := filepath.Join(dir, "kcrash.yaml")
	if err := os.WriteFile(spec, []byte(kafkaCrashSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	adm := admin(t, brokers)
	for _, prefix := range []string{"want", "got"} {
		for _, topic := range []string{"velocity", "large"} {
			if _, err := adm.CreateTopic(context.Background(), partitions, -1, nil, prefix+"-"+topic); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("TX", filepath.Join(dir, "tx", "*.jsonl"))
	t.Setenv("BROKERS", brokers[0])

	t.Setenv("PREFIX", "want")
	mustRun(t, "run", spec, "-p", "2", "--listen", "", "--no-checkpoint")

	ckpts := filepath.Join(dir, "checkpoints")
	if err := os.MkdirAll(ckpts, 0o755); err != nil {
		t.Fatal(err)
	}
	killed := 0
	for attempt := 0; ; attempt++ {
		if attempt > 4*kills+20 {
			t.Fatalf("the run did not complete after %d attempts", attempt)
		}
		p := strconv.Itoa(1 + attempt%3) // each attempt resumes at another parallelism
		cmd := exec.Command(os.Args[0], "run", spec, "-p", p, "--listen", "", "--checkpoint", ckpts, "--checkpoint-interval", "25ms")
		cmd.Env = append(os.Environ(), runMainEnv+"=1", "PREFIX=got")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		var moment <-chan string
		stop := func() {}
		if killed < kills {
			// In turn: right after the first or second checkpoint of the attempt is durable
			// (before its sinks commit, or while they do), in the middle of a commit (its
			// records reached the topic, not yet committed), and after a commit (its records
			// are visible), most likely before the next checkpoint.
			k, n := killDepth(attempt)
			switch attempt % 3 {
			case 0:
				moment, stop = afterCheckpoints(t, ckpts, k)
			case 1:
				moment, stop = whenProduced(t, brokers, kgo.ReadUncommitted(), n, "got-large", "got-velocity")
			case 2:
				moment, stop = whenProduced(t, brokers, kgo.ReadCommitted(), n, "got-large", "got-velocity")
			}
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case why := <-moment:
			if kerr := cmd.Process.Signal(syscall.SIGKILL); kerr != nil && !errors.Is(kerr, os.ErrProcessDone) {
				t.Fatal(kerr)
			}
			err = <-done
			if err != nil {
				killed++
				t.Logf("attempt %d at -p %s killed %s", attempt, p, why)
			}
		}
		stop()
		if err != nil && finished(t, ckpts) {
			t.Logf("attempt %d was killed after it finished", attempt)
			break
		}
		if err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled() {
				continue
			}
			t.Fatalf("attempt %d: %v\n%s", attempt, err, stderr.String())
		}
		t.Logf("completed after %d kills and %d attempts", killed, attempt+1)
		break
	}
	// The input is bounded: on a busy machine a late attempt, resuming near the end, may
	// finish before its kill moment comes. The first attempt reads everything, so it is
	// killed; fewer kills than planned are reported, not failed.
	switch {
	case killed == 0:
		t.Errorf("the run completed without a kill; want %d", kills)
	case killed < kills:
		t.Logf("only %d of %d kills landed before the run completed", killed, kills)
	}
	for _, topic := range []string{"velocity", "large"} {
		want := kafkatest.Values(kafkatest.ReadCommitted(t, brokers, "want-"+topic))
		got := kafkatest.Values(kafkatest.ReadCommitted(t, brokers, "got-"+topic))
		if len(want) == 0 {
			t.Errorf("%s: the uninterrupted run produced nothing", topic)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d records after crashes, %d uninterrupted; first difference: %s", topic, len(got), len(want), firstDifference(got, want))
		}
	}
}

func admin(t *testing.T, brokers []string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// finished tells whether the checkpoint store says its run finished.
func finished(t *testing.T, dir string) bool {
	t.Helper()
	_, err := os.Stat(filepath.Join(dir, checkpoint.FinishedName))
	return err == nil
}

// afterCheckpoints yields once k checkpoints have become durable in dir from now on: their
// directories are renamed into place. stop ends the watch.
func afterCheckpoints(t *testing.T, dir string, k int) (<-chan string, func()) {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_MOVED_TO); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: Close ends a Read in progress
	ch := make(chan string, 1)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		buf := make([]byte, 64<<10)
		seen := 0
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := strings.TrimRight(string(buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+int(ev.Len)]), "\x00")
				off += syscall.SizeofInotifyEvent + int(ev.Len)
				if strings.HasPrefix(name, "chk-") && !strings.HasSuffix(name, ".tmp") {
					seen++
					if seen == k {
						ch <- "after checkpoint " + name + " became durable"
						return
					}
				}
			}
		}
	}()
	return ch, func() { _ = f.Close(); <-ended }
}

// killDepth says how deep into attempt its kill comes: after its k-th checkpoint (1 or 2: a
// checkpoint over large window state may take long, and a later one may never come before
// the input ends), or once n records have reached the topics before the one that triggers
// it: none in short runs, up to 60,000 in long ones, which spreads their kills over the
// stream.
func killDepth(attempt int) (k, n int) {
	k = 1 + attempt/3%2
	if *crashLong {
		n = attempt % 5 * 15_000
	}
	return k, n
}

// whenProduced yields as soon as a record reaches one of topics beyond their current ends,
// after the first skip, as a consumer at the isolation level sees it: read_uncommitted, a
// sink's transaction is being committed; read_committed, one has just committed. stop ends
// the watch.
func whenProduced(t *testing.T, brokers []string, level kgo.IsolationLevel, skip int, topics ...string) (<-chan string, func()) {
	t.Helper()
	// Start at the ends as they stand now, before the attempt starts.
	ends, err := admin(t, brokers).ListEndOffsets(context.Background(), topics...)
	if err != nil {
		t.Fatal(err)
	}
	start := map[string]map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if start[o.Topic] == nil {
			start[o.Topic] = map[int32]kgo.Offset{}
		}
		start[o.Topic][o.Partition] = kgo.NewOffset().At(o.Offset)
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumePartitions(start), kgo.FetchIsolationLevel(level))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan string, 1)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		seen := 0
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			var first *kgo.Record
			fs.EachRecord(func(r *kgo.Record) {
				if seen++; seen > skip && first == nil {
					first = r
				}
			})
			if first != nil {
				ch <- "when records reached " + first.Topic + " partition " + strconv.Itoa(int(first.Partition)) + " at offset " + strconv.FormatInt(first.Offset, 10)
				return
			}
		}
	}()
	return ch, func() { cancel(); <-ended; cl.Close() }
}

// kafkaToKafkaSpec filters the transactions of a Kafka topic (or, for the reference run, of
// the same records in a file: the source's settings are %s) into the topic PREFIX-large,
// exactly once, with the sink's commit mode ${COMMIT}.
const kafkaToKafkaSpec = `
name: k2k
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
  large_out: {from: large, kind: kafka, brokers: ["${BROKERS}"], topic: "${PREFIX}-large", key: card_id, commit: "${COMMIT}"}
`

// TestKafkaToKafkaCrashEquality reads generated transactions from a Kafka topic (an
// unbounded source whose offsets live in the checkpoints) and produces a filter of them to
// another topic exactly once, killing the run at moments events choose and running it again
// at another parallelism; once the output holds as many records as a run over the same
// records in a file produced, the last attempt is stopped with SIGTERM, and the topics must
// be equal: nothing lost, nothing twice.
func TestKafkaToKafkaCrashEquality(t *testing.T) {
	kafkaToKafkaCrashEquality(t, "checkpoint")
}

// TestKafkaToKafkaBatchCrashEquality is TestKafkaToKafkaCrashEquality with a sink that
// commits a transaction per batch.
func TestKafkaToKafkaBatchCrashEquality(t *testing.T) {
	kafkaToKafkaCrashEquality(t, "batch")
}

func kafkaToKafkaCrashEquality(t *testing.T, commit string) {
	t.Setenv("COMMIT", commit)
	rows, kills, partitions := 40_000, 3, int32(2)
	if *crashLong {
		rows, kills, partitions = 1_000_000, 12, 4
	}
	brokers := kafkatest.Cluster(t, "", 0)
	adm := admin(t, brokers)
	for _, topic := range []string{"in", "want-large", "got-large"} {
		if _, err := adm.CreateTopic(context.Background(), partitions, -1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	genFlags := []string{"gen", "--rows", strconv.Itoa(rows), "--seed", "9", "--disorder", "2s"}
	mustRun(t, append(genFlags, "--to", "kafka://"+brokers[0]+"/in")...)
	mustRun(t, append(genFlags, "--out", filepath.Join(dir, "tx.jsonl"))...)
	fileSpec, spec := filepath.Join(dir, "k2k-file.yaml"), filepath.Join(dir, "k2k.yaml")
	for path, source := range map[string]string{
		fileSpec: "kind: file\n    path: ${TX}",
		spec:     "kind: kafka\n    brokers: [\"${BROKERS}\"]\n    topic: in\n    start: earliest",
	} {
		if err := os.WriteFile(path, fmt.Appendf(nil, kafkaToKafkaSpec, source), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("BROKERS", brokers[0])
	t.Setenv("TX", filepath.Join(dir, "tx.jsonl"))

	t.Setenv("PREFIX", "want")
	mustRun(t, "run", fileSpec, "-p", "2", "--listen", "", "--no-checkpoint")
	want := kafkatest.Values(kafkatest.ReadCommitted(t, brokers, "want-large"))

	t.Setenv("PREFIX", "got")
	ckpts := filepath.Join(dir, "checkpoints")
	if err := os.MkdirAll(ckpts, 0o755); err != nil {
		t.Fatal(err)
	}
	killed := 0
	for attempt := 0; ; attempt++ {
		p := strconv.Itoa(1 + attempt%3)
		cmd := exec.Command(os.Args[0], "run", spec, "-p", p, "--listen", "", "--checkpoint", ckpts, "--checkpoint-interval", "25ms")
		cmd.Env = append(os.Environ(), runMainEnv+"=1")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		var kill <-chan string
		stopKill := func() {}
		if killed < kills {
			k, n := killDepth(attempt)
			n /= 4 // the output is a quarter of the input or so
			switch attempt % 3 {
			case 0:
				kill, stopKill = afterCheckpoints(t, ckpts, k)
			case 1:
				kill, stopKill = whenProduced(t, brokers, kgo.ReadUncommitted(), n, "got-large")
			default:
				kill, stopKill = whenProduced(t, brokers, kgo.ReadCommitted(), n, "got-large")
			}
		}
		// The end: once the attempt has taken a checkpoint (so it is running, and stops
		// gracefully on SIGTERM) and every record is committed.
		end, stopEnd := both(t, func() (<-chan string, func()) { return afterCheckpoints(t, ckpts, 1) },
			func() (<-chan string, func()) { return whenCommitted(t, brokers, "got-large", len(want)) })
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		last := false
		select {
		case err = <-done:
			stopKill()
			stopEnd()
			t.Fatalf("attempt %d over an unbounded source ended by itself: %v\n%s", attempt, err, stderr.String())
		case why := <-kill:
			if kerr := cmd.Process.Signal(syscall.SIGKILL); kerr != nil {
				t.Fatal(kerr)
			}
			err = <-done
			killed++
			t.Logf("attempt %d at -p %s: killed %s", attempt, p, why)
		case why := <-end:
			if kerr := cmd.Process.Signal(syscall.SIGTERM); kerr != nil {
				t.Fatal(kerr)
			}
			err, last = <-done, true
			t.Logf("attempt %d at -p %s: stopped with SIGTERM %s", attempt, p, why)
		}
		stopKill()
		stopEnd()
		if last {
			if err != nil {
				t.Fatalf("the last attempt, stopped with SIGTERM: %v\n%s", err, stderr.String())
			}
			break
		}
	}
	if killed < kills {
		t.Errorf("only %d kills before every record was committed; want %d", killed, kills)
	}
	got := kafkatest.Values(kafkatest.ReadCommitted(t, brokers, "got-large"))
	if len(want) == 0 {
		t.Fatal("the reference run produced nothing")
	}
	if !slices.Equal(got, want) {
		t.Errorf("%d records after crashes, %d from the file; first difference: %s", len(got), len(want), firstDifference(got, want))
	}
}

// both yields once the watch a starts has yielded and then the watch b starts has. stop ends
// whichever runs.
func both(t *testing.T, a, b func() (<-chan string, func())) (<-chan string, func()) {
	t.Helper()
	first, stopFirst := a()
	second, stopSecond := b()
	ch := make(chan string, 1)
	quit := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		var why string
		select {
		case why = <-first:
		case <-quit:
			return
		}
		select {
		case w := <-second:
			ch <- why + ", then " + w
		case <-quit:
		}
	}()
	return ch, func() { close(quit); <-ended; stopFirst(); stopSecond() }
}

// whenCommitted yields once a read_committed consumer of topic has seen n records. stop ends
// the watch.
func whenCommitted(t *testing.T, brokers []string, topic string, n int) (<-chan string, func()) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan string, 1)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		seen := 0
		for ctx.Err() == nil {
			seen += cl.PollFetches(ctx).NumRecords()
			if seen >= n {
				ch <- "once " + strconv.Itoa(seen) + " records of " + topic + " were committed"
				return
			}
		}
	}()
	return ch, func() { cancel(); <-ended; cl.Close() }
}

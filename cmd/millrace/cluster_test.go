//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"millrace/cluster"
	"millrace/kafka"
	"millrace/kafka/kafkatest"
	"millrace/objstore"
	"millrace/objstore/objstoretest"
)

// clusterSpec reads transactions from a Kafka topic (or, for the reference, a file) into a
// keyed window and a filter joined with a table, produced to the topics PREFIX-velocity and
// PREFIX-large and written as part files under FILES/PREFIX: the large rows as Parquet in
// Hive partitions by region (a sink of the first stage), the windows as JSONL (a sink of
// the keyed stage).
const clusterSpec = `
name: ctest
sources:
  tx:
    %s
    schema: transaction
    event_time: ts
    watermark: 2s
  merchants:
    kind: file
    path: ${MERCHANTS}
    table: true
    columns: {merchant_id: string, region: string}
views:
  velocity:
    from: tx
    group_by: [card_id]
    window: {tumble: 10s}
    select: {tx_count: count(*), spend: sum(amount)}
  large:
    from: tx
    join: {table: merchants, on: merchant_id}
    where: amount >= 300
    select: {tx_id: tx_id, card_id: card_id, amount: amount, region: region}
sinks:
  velocity_out: {from: velocity, kind: kafka, brokers: ["${BROKERS}"], topic: "${PREFIX}-velocity", key: card_id, create: {partitions: 2}}
  large_out: {from: large, kind: kafka, brokers: ["${BROKERS}"], topic: "${PREFIX}-large", key: card_id, create: {partitions: 2}}
  large_files: {from: large, kind: parquet, path: "${FILES}/${PREFIX}/large", partition_by: [region]}
  velocity_files: {from: velocity, kind: jsonl, path: "${FILES}/${PREFIX}/velocity"}
`

// clusterFixture is generated transactions in a file, fed to a topic in parts as a test
// says, the specs over both, and what one process makes of the file.
type clusterFixture struct {
	brokers        []string
	dir            string
	spec, fileSpec string
	lines          [][]byte
	produced       int
	// allVelocity are every window of the file; wantVelocity those an unbounded run fires
	// once it has read the whole topic (see expect).
	allVelocity, wantVelocity []string
	wantLarge                 []string
	// state is where the workers keep their state (default: a directory of the test).
	state string
	// workerArgs are more flags of every worker.
	workerArgs []string
	// workers are every worker started, in order.
	workers []*workerProc
	// groups is what the brokers were asked of the workers' group.
	groups *groupWatch
	// specText is the specs' text, with %s for the source (default clusterSpec).
	specText string
}

// groupWatch keeps what the brokers were asked of consumer groups, for the log of a test
// whose cluster stalled: each member's joins, syncs, leaves and its last heartbeat.
type groupWatch struct {
	mu     sync.Mutex
	events []string
	beats  map[string]string
}

// newWatchedCluster starts an in-process Kafka cluster with topic and watches its groups.
func newWatchedCluster(t *testing.T, topic string, partitions int32) ([]string, *groupWatch) {
	t.Helper()
	w := &groupWatch{beats: map[string]string{}}
	c := kafkatest.NewCluster(t, topic, partitions)
	c.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
		at := time.Now().Format("15:04:05.000")
		w.mu.Lock()
		defer w.mu.Unlock()
		switch r := req.(type) {
		case *kmsg.HeartbeatRequest:
			w.beats[r.MemberID] = fmt.Sprintf("%s generation %d", at, r.Generation)
		case *kmsg.JoinGroupRequest:
			w.events = append(w.events, fmt.Sprintf("%s join %s %q", at, r.Group, r.MemberID))
		case *kmsg.SyncGroupRequest:
			w.events = append(w.events, fmt.Sprintf("%s sync %s %q generation %d", at, r.Group, r.MemberID, r.Generation))
		case *kmsg.LeaveGroupRequest:
			w.events = append(w.events, fmt.Sprintf("%s leave %s %q", at, r.Group, r.MemberID))
		}
		return nil, nil, false
	})
	return c.ListenAddrs(), w
}

func (w *groupWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for _, e := range w.events {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	for m, at := range w.beats {
		fmt.Fprintf(&b, "  last heartbeat of %s: %s\n", m, at)
	}
	return b.String()
}

func newClusterFixture(t *testing.T, rows int, partitions int32) *clusterFixture {
	t.Helper()
	return newTopicFixture(t, clusterSpec, rows, partitions)
}

// newTopicFixture is newClusterFixture with the specs' text (%s for the source) and more
// flags of gen.
func newTopicFixture(t *testing.T, specText string, rows int, partitions int32, genArgs ...string) *clusterFixture {
	t.Helper()
	f := &clusterFixture{dir: t.TempDir(), specText: specText}
	f.brokers, f.groups = newWatchedCluster(t, "tx", partitions)
	txFile := filepath.Join(f.dir, "tx.jsonl")
	mustRun(t, append([]string{"gen", "--rows", strconv.Itoa(rows), "--seed", "5", "--out", txFile}, genArgs...)...)
	f.lines = splitLines(readFile(t, txFile))
	f.writeSpecs(t, "kind: file\n    path: ${TX}", "kind: kafka\n    brokers: [\"${BROKERS}\"]\n    topic: tx\n    start: earliest")
	t.Setenv("TX", txFile)
	f.reference(t)
	return f
}

// newHistoryFixture writes files of generated transactions, one per split, for a cluster
// to read as a bounded source.
func newHistoryFixture(t *testing.T, files, rows int) *clusterFixture {
	t.Helper()
	return newSplitsFixture(t, files, rows, false)
}

// newSplitsFixture is newHistoryFixture whose workers read, with lake set, the same
// transactions as Parquet files of a lake (kind: lake) instead of the JSONL files.
func newSplitsFixture(t *testing.T, files, rows int, lake bool) *clusterFixture {
	t.Helper()
	f := &clusterFixture{dir: t.TempDir()}
	f.brokers, f.groups = newWatchedCluster(t, "", 0)
	dir, lakeDir := filepath.Join(f.dir, "tx"), filepath.Join(f.dir, "lake")
	for i := range files {
		path := filepath.Join(dir, fmt.Sprintf("part-%d.jsonl", i))
		seed := strconv.Itoa(10 + i)
		mustRun(t, "gen", "--rows", strconv.Itoa(rows), "--seed", seed, "--out", path)
		f.lines = append(f.lines, splitLines(readFile(t, path))...)
		if lake {
			mustRun(t, "gen", "--rows", strconv.Itoa(rows), "--seed", seed, "--format", "parquet",
				"--out", filepath.Join(lakeDir, fmt.Sprintf("part-%d.parquet", i)))
		}
	}
	workers := "kind: file\n    path: ${TX}"
	if lake {
		workers = "kind: lake\n    path: ${LAKE}"
	}
	f.writeSpecs(t, "kind: file\n    path: ${TX}", workers)
	t.Setenv("TX", filepath.Join(dir, "*.jsonl"))
	t.Setenv("LAKE", lakeDir)
	f.reference(t)
	f.wantVelocity = slices.Clone(f.allVelocity) // a bounded input fires every window
	slices.Sort(f.wantVelocity)
	return f
}

func splitLines(data []byte) [][]byte {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// writeSpecs writes the merchants table of the fixture's transactions and the specs: the
// reference's over fileSource, the cluster's over clusterSource.
func (f *clusterFixture) writeSpecs(t *testing.T, fileSource, clusterSource string) {
	t.Helper()
	merchants := map[string]bool{}
	for _, l := range f.lines {
		var row struct {
			Merchant string `json:"merchant_id"`
		}
		if err := json.Unmarshal(l, &row); err != nil {
			t.Fatal(err)
		}
		merchants[row.Merchant] = true
	}
	table := "merchant_id,region\n"
	for i, m := range slices.Sorted(maps.Keys(merchants)) {
		if i%5 == 4 {
			continue // an inner join drops the rows of merchants the table lacks
		}
		table += fmt.Sprintf("%s,r%d\n", m, i%3)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "merchants.csv"), []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	f.fileSpec, f.spec = filepath.Join(f.dir, "file.yaml"), filepath.Join(f.dir, "cluster.yaml")
	for path, source := range map[string]string{f.fileSpec: fileSource, f.spec: clusterSource} {
		text := f.specText
		if text == "" {
			text = clusterSpec
		}
		if err := os.WriteFile(path, fmt.Appendf(nil, text, source), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("BROKERS", f.brokers[0])
	t.Setenv("MERCHANTS", filepath.Join(f.dir, "merchants.csv"))
	t.Setenv("FILES", f.dir)
}

// reference runs the file spec in one process into the want- topics.
func (f *clusterFixture) reference(t *testing.T) {
	t.Helper()
	t.Setenv("PREFIX", "want")
	mustRun(t, "run", f.fileSpec, "-p", "2", "--listen", "", "--no-checkpoint")
	f.allVelocity = kafkatest.Values(kafkatest.ReadCommitted(t, f.brokers, "want-velocity"))
	f.wantLarge = kafkatest.Values(kafkatest.ReadCommitted(t, f.brokers, "want-large"))
	slices.Sort(f.wantLarge)
	if len(f.allVelocity) == 0 || len(f.wantLarge) == 0 {
		t.Fatalf("the reference made %d windows and %d large rows", len(f.allVelocity), len(f.wantLarge))
	}
	t.Setenv("PREFIX", "got")
}

// produce feeds the topic the file's transactions up to the fraction upTo of them, keyed
// by card as gen --to kafka does.
func (f *clusterFixture) produce(t *testing.T, upTo float64) {
	t.Helper()
	end := int(upTo * float64(len(f.lines)))
	w, err := kafka.NewLineWriter(context.Background(), kafka.Conn{Brokers: f.brokers}, "tx", "card_id")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range f.lines[f.produced:end] {
		if _, err := w.Write(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.produced = end
}

// expect settles, once the whole file is in the topic, the windows an unbounded run fires:
// those its watermark passes, the least over the partitions of their latest event time,
// less 2s. The file run ended and fired every window.
func (f *clusterFixture) expect(t *testing.T) {
	t.Helper()
	wm := inputWatermark(t, f.brokers, "tx").Add(-2 * time.Second)
	for _, v := range f.allVelocity {
		var row struct {
			End time.Time `json:"window_end"`
		}
		if err := json.Unmarshal([]byte(v), &row); err != nil {
			t.Fatalf("velocity row %s: %v", v, err)
		}
		if !row.End.After(wm) {
			f.wantVelocity = append(f.wantVelocity, v)
		}
	}
	slices.Sort(f.wantVelocity)
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

func (f *clusterFixture) startWorker(t *testing.T, name string, extra ...string) *workerProc {
	t.Helper()
	state := f.state
	if state == "" {
		state = "file://" + filepath.Join(f.dir, "state")
	}
	args := []string{"run", f.spec, "--cluster", "kafka://" + f.brokers[0], "--state", state,
		"--worker-id", name, "--listen", "", "--checkpoint-interval", "100ms"}
	cmd := exec.Command(os.Args[0], slices.Concat(args, f.workerArgs, extra)...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	cmd.Dir = f.dir // a spec's relative paths land in the test's directory
	w := &workerProc{name: name, cmd: cmd, stderr: &strings.Builder{}, done: make(chan error, 1)}
	cmd.Stderr = w.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- cmd.Wait() }()
	f.workers = append(f.workers, w)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			t.Logf("worker %s, killed at the end of the test: %v", w.name, <-w.done)
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
	if err := <-w.done; err == nil {
		t.Fatalf("worker %s exited cleanly after SIGKILL", w.name)
	}
}

// nearDeadline fires shortly before the test binary's deadline (-timeout): 30 s before it, or
// a tenth of the time left when that is less. It never fires without a deadline. It is no
// limit on what a test waits for: a test still waiting then is stuck, and fails with what
// it waited for and what it can gather of why, which a timeout's goroutine dump of the
// test binary alone would not say.
func nearDeadline(t *testing.T) <-chan time.Time {
	deadline, ok := t.Deadline()
	if !ok {
		return nil
	}
	left := time.Until(deadline)
	return time.After(left - min(30*time.Second, left/10))
}

// failStuck fails a test found stuck near the deadline. The message goes to stderr at once
// as well, since the test's own log is lost if its cleanup does not end before the
// binary's timeout.
func failStuck(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stderr, "--- STUCK: %s: %s\n", t.Name(), msg)
	t.Fatal(msg)
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
	case <-nearDeadline(t):
		failStuck(t, "%s never held %d committed records before the test's deadline\n%s", topic, n, f.stalled(t))
	}
}

// stalled tells what the group and each worker were doing when the cluster stalled: the
// group as the brokers describe it, each worker's log, and the goroutines of those still
// running (SIGQUIT).
func (f *clusterFixture) stalled(t *testing.T) string {
	var b strings.Builder
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	groups, err := kadm.NewClient(cl).DescribeGroups(context.Background(), "ctest")
	fmt.Fprintf(&b, "group: %v\n", err)
	for _, g := range groups {
		fmt.Fprintf(&b, "group %s: state %s, protocol %s, error %v\n", g.Group, g.State, g.Protocol, g.Err)
		for _, m := range g.Members {
			fmt.Fprintf(&b, "  member %s (%s)\n", m.MemberID, m.ClientHost)
		}
	}
	if ends, err := kadm.NewClient(cl).ListEndOffsets(context.Background()); err == nil {
		records := map[string]int64{}
		ends.Each(func(o kadm.ListedOffset) { records[o.Topic] += o.Offset })
		for _, topic := range slices.Sorted(maps.Keys(records)) {
			fmt.Fprintf(&b, "topic %s: end offsets add up to %d\n", topic, records[topic])
		}
	}
	fmt.Fprintf(&b, "what the brokers were asked:\n%s", f.groups)
	for _, w := range f.workers {
		end := "ended before"
		if w.cmd.ProcessState == nil && w.cmd.Process.Signal(syscall.SIGQUIT) == nil {
			end = fmt.Sprint("quit: ", <-w.done)
		}
		fmt.Fprintf(&b, "--- worker %s (%s)\n%s", w.name, end, w.stderr.String())
	}
	return b.String()
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
	f.checkFiles(t)
}

// clusterPart is the name of a part file a worker of the cluster published: the worker,
// its run, the subtask and the file's number.
var clusterPart = regexp.MustCompile(`^part-[a-z][a-z0-9]*-[0-9a-f]{8}-[0-9]{3}-[0-9]{5}\.(parquet|jsonl)$`)

// checkFiles compares the rows of the cluster's file sinks, read back, with the single
// process's: the large rows partition directory by partition directory, the windows with
// those the single process fired (see expect). Every file published has a name of the
// cluster's workers.
func (f *clusterFixture) checkFiles(t *testing.T) {
	t.Helper()
	want, got := filepath.Join(f.dir, "want", "large"), filepath.Join(f.dir, "got", "large")
	wantParts, gotParts := partitionDirs(t, want), partitionDirs(t, got)
	if len(wantParts) == 0 || !slices.Equal(gotParts, wantParts) {
		t.Errorf("the large files' partitions are %v, the single process's %v", gotParts, wantParts)
	}
	rows := 0
	for _, p := range wantParts {
		w, g := sinkRows(t, filepath.Join(want, p)), sinkRows(t, filepath.Join(got, p))
		rows += len(g)
		if !slices.Equal(g, w) {
			t.Errorf("large files, %s: %d rows, the single process %d; first difference: %s", p, len(g), len(w), firstDifference(g, w))
		}
	}
	velocity := filepath.Join(f.dir, "got", "velocity")
	if g := sinkRows(t, velocity); !slices.Equal(g, f.wantVelocity) {
		t.Errorf("velocity files: %d rows, the single process %d; first difference: %s", len(g), len(f.wantVelocity), firstDifference(g, f.wantVelocity))
	}
	files := map[string]int{} // by worker
	for _, dir := range []string{got, velocity} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case strings.HasPrefix(d.Name(), ".") && p != dir:
				if d.IsDir() {
					return filepath.SkipDir
				}
			case !d.IsDir() && !clusterPart.MatchString(d.Name()):
				t.Errorf("%s is not a part file of a worker of the cluster", p)
			case !d.IsDir():
				files[strings.Split(d.Name(), "-")[1]]++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("file sinks: %d large rows in %d partitions, %d windows; part files by worker %v", rows, len(wantParts), len(f.wantVelocity), files)
}

// publishedParts lists the part files published under dir, which may not exist.
func publishedParts(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case errors.Is(err, fs.ErrNotExist) && p == dir:
			return filepath.SkipAll
		case err != nil:
			return err
		case !d.IsDir() && strings.HasPrefix(d.Name(), "part-"):
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// partitionDirs lists the partition directories under a sink's directory.
func partitionDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestClusterOfWorkersEqualsOneProcess runs two workers keeping their state in an S3
// bucket: what they commit equals what one process makes of the same transactions.
func TestClusterOfWorkersEqualsOneProcess(t *testing.T) {
	f := newClusterFixture(t, 20_000, 4)
	f.state = objstoretest.S3(t)
	f.produce(t, 1)
	f.expect(t)
	a := f.startWorker(t, "a")
	b := f.startWorker(t, "b")
	f.waitCommitted(t, "got-velocity", len(f.wantVelocity), a, b)
	f.waitCommitted(t, "got-large", len(f.wantLarge), a, b)
	f.waitStatus(t, "a", "b")
	f.waitTrimmed(t, "millrace.ctest.velocity")
	out := mustRun(t, "cluster", "status", "kafka://"+f.brokers[0], "--pipeline", "ctest")
	for _, w := range []string{"a", "b"} {
		if !regexp.MustCompile(`(?m)^` + w + ` .*tx/`).MatchString(out) {
			t.Errorf("cluster status does not show worker %s with its partitions:\n%s", w, out)
		}
	}
	a.stop(t)
	b.stop(t)
	f.check(t)
	store, err := objstore.Open(context.Background(), f.state, objstore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close() }()
	objs, err := store.List(context.Background(), "ctest/state/millrace.ctest.velocity/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) < 256 {
		t.Errorf("%d state objects of the key groups in %s, want one per key group at least", len(objs), f.state)
	}
}

// waitTrimmed waits until the workers have deleted records of the exchange topic below
// what they committed: some partition's log no longer starts at 0. It looks each time a
// worker publishes its status.
func (f *clusterFixture) waitTrimmed(t *testing.T, topic string) {
	t.Helper()
	fol, err := cluster.FollowStatus(context.Background(), kafka.Conn{Brokers: f.brokers}, "ctest", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fol.Close() }()
	adm := admin(t, f.brokers)
	for {
		starts, err := adm.ListStartOffsets(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		trimmed := false
		starts.Each(func(o kadm.ListedOffset) { trimmed = trimmed || o.Offset > 0 })
		if trimmed {
			return
		}
		<-fol.Changed()
	}
}

// waitStatus waits until the status topic shows every one of workers with a checkpoint
// and, together, every partition of the input and of the exchange owned once.
func (f *clusterFixture) waitStatus(t *testing.T, workers ...string) {
	t.Helper()
	fol, err := cluster.FollowStatus(context.Background(), kafka.Conn{Brokers: f.brokers}, "ctest", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fol.Close() }()
	for {
		owned, ready := map[string]int{}, 0
		for _, w := range fol.Workers() {
			if slices.Contains(workers, w.Worker) && w.Checkpoint != nil {
				ready++
			}
			for _, o := range w.Owned {
				owned[o.Topic]++
			}
		}
		if ready == len(workers) && owned["tx"] == 4 && owned["millrace.ctest.velocity"] == 256 {
			return
		}
		<-fol.Changed()
	}
}

// waitJoined waits until the named workers run one generation of the group together,
// each owning partitions. A worker is killed only then: the in-process broker keeps a
// member that dies while its join is pending in the group forever, never timing out its
// session as Kafka does, so the partitions the group gave it would never move on.
func (f *clusterFixture) waitJoined(t *testing.T, workers ...string) {
	t.Helper()
	f.waitFor(t, func(ws []cluster.WorkerStatus) bool {
		gens := map[int32]bool{}
		joined := 0
		for _, w := range ws {
			if slices.Contains(workers, w.Worker) && len(w.Owned) > 0 && !w.Stale {
				gens[w.Generation] = true
				joined++
			}
		}
		return joined == len(workers) && len(gens) == 1
	})
}

// TestClusterSurvivesKillsAndRescaling feeds a topic in parts to three workers: one is
// killed with SIGKILL, the others take its partitions and key groups over; a fourth joins,
// two leave gracefully; what the cluster committed equals what one process makes of the
// same transactions, row for row.
func TestClusterSurvivesKillsAndRescaling(t *testing.T) {
	rows, partitions := 60_000, int32(8)
	// The kills come once these shares of the output are committed; a long run draws them.
	at := []float64{0.125, 0.4, 0.6}
	if *crashLong {
		rows = 2_000_000
		seed := time.Now().UnixNano()
		rnd := rand.New(rand.NewPCG(uint64(seed), 0))
		at = []float64{0.05 + 0.2*rnd.Float64(), 0.3 + 0.25*rnd.Float64(), 0.58 + 0.02*rnd.Float64()}
		t.Logf("kills at %.3f, %.3f, %.3f of the output (seed %d)", at[0], at[1], at[2], seed)
	}
	f := newClusterFixture(t, rows, partitions)
	share := func(x float64) int { return int(x * float64(len(f.wantLarge))) }
	f.produce(t, 0.3)
	a, b, c := f.startWorker(t, "a"), f.startWorker(t, "b"), f.startWorker(t, "c")
	f.waitCommitted(t, "got-large", share(at[0]), a, b, c)
	f.waitJoined(t, "a", "b", "c")
	b.kill(t)
	f.produce(t, 0.6)
	f.waitCommitted(t, "got-large", share(at[1]), a, c)
	d := f.startWorker(t, "d")
	f.produce(t, 0.8)
	f.waitCommitted(t, "got-large", share(at[2]), a, c, d)
	a.stop(t)
	c.stop(t)
	f.produce(t, 1)
	f.expect(t)
	f.waitCommitted(t, "got-large", len(f.wantLarge), d)
	f.waitCommitted(t, "got-velocity", len(f.wantVelocity), d)
	d.stop(t)
	f.check(t)
}

// TestClusterSharesAHistoryAmongWorkers reads eight files as splits of a bounded source:
// the group hands them out to three workers, the final watermark fires every window, and
// the output equals one process's, row for row. One worker is killed midway: its splits
// go on elsewhere from their committed state.
func TestClusterSharesAHistoryAmongWorkers(t *testing.T) {
	f := newHistoryFixture(t, 8, 6_000)
	a, b, c := f.startWorker(t, "a"), f.startWorker(t, "b"), f.startWorker(t, "c")
	f.waitCommitted(t, "got-large", len(f.wantLarge)/4, a, b, c)
	f.waitJoined(t, "a", "b", "c")
	b.kill(t)
	live := []*workerProc{a, c}
	f.waitCommitted(t, "got-large", len(f.wantLarge), live...)
	f.waitCommitted(t, "got-velocity", len(f.wantVelocity), live...)
	for _, w := range live {
		w.stop(t)
	}
	f.check(t)
}

// TestClusterReadsALake reads the history as a Parquet lake (kind: lake), whose work items
// (row-group ranges) the group hands out to the workers as splits: the output equals one
// process's reading the same transactions as JSONL files.
func TestClusterReadsALake(t *testing.T) {
	f := newSplitsFixture(t, 4, 5_000, true)
	a, b := f.startWorker(t, "a"), f.startWorker(t, "b")
	f.waitCommitted(t, "got-large", len(f.wantLarge), a, b)
	f.waitCommitted(t, "got-velocity", len(f.wantVelocity), a, b)
	a.stop(t)
	b.stop(t)
	f.check(t)
}

// TestClusterWaitsForTheStateStore runs a worker whose state store refuses every write: it
// commits nothing, says in its status that it waits for the store, and once the store
// takes writes again goes on to the output one process makes.
func TestClusterWaitsForTheStateStore(t *testing.T) {
	f := newClusterFixture(t, 4_000, 2)
	var refusing atomic.Bool
	refusing.Store(true)
	f.state = objstoretest.S3Handler(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refusing.Load() && r.Method == http.MethodPut {
				http.Error(w, "refused by the test", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	f.produce(t, 1)
	f.expect(t)
	a := f.startWorker(t, "a")
	waiting := f.waitFor(t, func(ws []cluster.WorkerStatus) bool {
		return len(ws) == 1 && strings.Contains(ws[0].Waiting, "objstore")
	})
	if got := kafkatest.ReadCommitted(t, f.brokers, "got-large"); len(got) != 0 {
		t.Fatalf("%d records committed while the state store refused every write", len(got))
	}
	if got := publishedParts(t, filepath.Join(f.dir, "got")); len(got) != 0 {
		t.Fatalf("files published while the state store refused every write: %v", got)
	}
	t.Logf("the worker says: %s", waiting[0].Waiting)
	refusing.Store(false)
	f.waitCommitted(t, "got-large", len(f.wantLarge), a)
	f.waitCommitted(t, "got-velocity", len(f.wantVelocity), a)
	a.stop(t)
	f.check(t)
}

// waitFor waits until the workers' statuses satisfy ok, and returns them.
func (f *clusterFixture) waitFor(t *testing.T, ok func([]cluster.WorkerStatus) bool) []cluster.WorkerStatus {
	t.Helper()
	fol, err := cluster.FollowStatus(context.Background(), kafka.Conn{Brokers: f.brokers}, "ctest", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fol.Close() }()
	for {
		if ws := fol.Workers(); ok(ws) {
			return ws
		}
		<-fol.Changed()
	}
}

// TestRunClusterFlags checks run's refusals of cluster flags: --kafka-* without --cluster,
// an address that is not kafka://, SASL without a user.
func TestRunClusterFlags(t *testing.T) {
	spec := filepath.Join("..", "..", "examples", "cluster-velocity.yaml")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--kafka-sasl-mechanism", "plain"}, "--kafka-sasl-mechanism: these say how a cluster's worker reaches its brokers"},
		{[]string{"--cluster", "127.0.0.1:9092"}, `--cluster "127.0.0.1:9092": want kafka://HOST:PORT`},
		{[]string{"--cluster", "kafka://127.0.0.1:9092", "--kafka-sasl-mechanism", "plain"}, "sasl: username is required"},
	} {
		var u usageError
		_, err := run(t, append([]string{"run", spec}, c.args...)...)
		if !errors.As(err, &u) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %v: %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
}

// secureSpec reads files of transactions into a keyed window written as JSONL part files
// under OUT: in a cluster, only the workers' own topics are on the brokers.
const secureSpec = `
name: secure
sources:
  tx: {kind: file, path: "${TX}", schema: transaction, event_time: ts, watermark: 2s}
views:
  velocity:
    from: tx
    group_by: [card_id]
    window: {tumble: 10s}
    select: {tx_count: count(*), spend: sum(amount)}
sinks:
  velocity_files: {from: velocity, kind: jsonl, path: "${OUT}/velocity"}
`

// TestClusterWorkerOverTLSAndSASL runs a worker against brokers that ask for TLS and
// SCRAM: with the --kafka-* flags it joins, exchanges and commits what one process makes of
// the same files, and its log never holds the password.
func TestClusterWorkerOverTLSAndSASL(t *testing.T) {
	addr, good, _ := secureCluster(t)
	dir := t.TempDir()
	for i := range 2 {
		mustRun(t, "gen", "--rows", "4000", "--seed", strconv.Itoa(30+i), "--out", filepath.Join(dir, "tx", fmt.Sprintf("part-%d.jsonl", i)))
	}
	spec := filepath.Join(dir, "secure.yaml")
	if err := os.WriteFile(spec, []byte(secureSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TX", filepath.Join(dir, "tx", "*.jsonl"))
	t.Setenv("OUT", filepath.Join(dir, "want"))
	mustRun(t, "run", spec, "--no-checkpoint", "--listen", "")
	want := sinkRows(t, filepath.Join(dir, "want", "velocity"))
	t.Setenv("OUT", filepath.Join(dir, "got"))
	f := &clusterFixture{brokers: []string{strings.TrimPrefix(addr, "kafka://")}, dir: dir, spec: spec,
		workerArgs: []string{"--kafka-tls-insecure", "--kafka-sasl-mechanism", "SCRAM-SHA-256", "--kafka-sasl-user", "alice", "--kafka-sasl-password-file", good}}
	w := f.startWorker(t, "a")
	got := filepath.Join(dir, "got", "velocity")
	waitFor(t, "the worker's windows", func() bool {
		_, err := os.Stat(got)
		return err == nil && len(sinkRows(t, got)) >= len(want)
	})
	w.stop(t)
	if got := sinkRows(t, got); !slices.Equal(got, want) {
		t.Errorf("the worker wrote %d windows, one process %d; first difference: %s", len(got), len(want), firstDifference(got, want))
	}
	if strings.Contains(w.stderr.String(), secretOfTheCluster) {
		t.Errorf("the worker's log holds the password:\n%s", w.stderr.String())
	}
}

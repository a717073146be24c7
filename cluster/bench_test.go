//go:build unix

package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/exchange"
	"millrace/gen"
	"millrace/kafka"
	"millrace/kafka/kafkatest"
	"millrace/objstore"
	"millrace/objstore/objstoretest"
	"millrace/op"
	"millrace/plan"
	"millrace/proctime"
	"millrace/spec"
)

// benchSpec is the pipeline of the benchmarks: generated transactions (%d of them) into a
// per-card window of one minute with count(*) and sum(amount), as a velocity view does.
const benchSpec = `
name: bench
sources:
  tx: {kind: generator, rows: %d, event_time: ts, watermark: 5s}
views:
  velocity:
    from: tx
    group_by: [card_id]
    window: {tumble: 1m}
    select: {tx_count: count(*), spend: sum(amount)}
`

// benchTopic is the exchange topic feeding the window step of benchSpec.
const benchTopic = "millrace.bench.velocity"

// benchPlan plans benchSpec over rows transactions at parallelism 1.
func benchPlan(b *testing.B, rows int) *plan.Plan {
	b.Helper()
	return benchPlanWith(b, rows, plan.Options{})
}

// benchPlanWith is benchPlan with more options (a state backend).
func benchPlanWith(b *testing.B, rows int, opts plan.Options) *plan.Plan {
	b.Helper()
	s, err := spec.Parse(fmt.Appendf(nil, benchSpec, rows), "bench.yaml", nil)
	if err != nil {
		b.Fatal(err)
	}
	opts.Parallelism, opts.Stdout = 1, io.Discard
	p, err := plan.Build(s, opts)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// planNode is the node of p named name.
func planNode(b *testing.B, p *plan.Plan, name string) *engine.Node {
	b.Helper()
	for _, n := range p.Graph.Nodes {
		if n.Name == name {
			return n
		}
	}
	b.Fatalf("the plan has no step %q", name)
	return nil
}

// benchState is a window step of benchSpec holding open windows.
type benchState struct {
	// final is the plan's window step, whose factory makes fresh operators.
	final *engine.Node
	// op holds the state.
	op op.Operator
	// rows is the number of transactions folded into it, bytes its StateBytes.
	rows, bytes int64
	// pre is the partial aggregate before op, and gen the transactions it takes.
	pre op.Operator
	gen *gen.Generator
}

// fold feeds the next n transactions (whole batches of 16,384, at least one) through pre
// into op.
func (st *benchState) fold(b *testing.B, n int64) {
	b.Helper()
	for done := int64(0); done < n; {
		rec, err := st.gen.Next(b.Context(), memory.DefaultAllocator, 16384)
		if err != nil {
			b.Fatalf("generate: %v", err)
		}
		done += rec.NumRows()
		st.rows += rec.NumRows()
		if err := st.pre.Process(0, rec, feed{st.op}); err != nil {
			b.Fatal(err)
		}
	}
}

// buildState feeds generated transactions through the operators benchSpec's plan makes,
// the partial aggregate and the window step, until the window step's state accounts for
// at least target bytes. No watermark reaches it: every window stays open.
func buildState(b *testing.B, target int64, opts plan.Options) *benchState {
	b.Helper()
	p := benchPlanWith(b, 1000, opts)
	st := &benchState{final: planNode(b, p, "velocity")}
	opctx := op.Context{Node: "velocity", Parallelism: 1, Mem: memory.DefaultAllocator, Log: slog.New(slog.DiscardHandler)}
	pre, err := planNode(b, p, "velocity.partial").Operator(0)
	if err != nil {
		b.Fatal(err)
	}
	if st.op, err = st.final.Operator(0); err != nil {
		b.Fatal(err)
	}
	for _, o := range []op.Operator{pre, st.op} {
		if err := o.Open(opctx); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		for _, o := range []op.Operator{pre, st.op} {
			if err := o.Close(); err != nil {
				b.Error(err)
			}
		}
	})
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Accounts, cfg.Seed = 0, 2_000_000, 7 // many cards: most transactions open a group
	if st.gen, err = gen.New(cfg); err != nil {
		b.Fatal(err)
	}
	st.pre = pre
	stateful := st.op.(op.Stateful)
	size := stateful.StateBytes
	if sp, ok := st.op.(op.Spiller); ok { // the pebble backend: what it spilled counts too
		size = func() int64 { return stateful.StateBytes() + sp.SpilledBytes() }
	}
	for size() < target {
		st.fold(b, 1)
	}
	st.bytes = size()
	return st
}

// feed hands what it collects to an operator's input 0.
type feed struct{ next op.Operator }

func (f feed) Collect(rec arrow.RecordBatch) error { return f.next.Process(0, rec, refuse{}) }

// refuse fails on rows: the window step emits none before a watermark.
type refuse struct{}

func (refuse) Collect(rec arrow.RecordBatch) error {
	defer rec.Release()
	return fmt.Errorf("%d rows emitted before any watermark", rec.NumRows())
}

// windowCount counts the rows of benchSpec's window step and sums their tx_count. When it
// sees the final watermark it closes ended (when set): every window has fired before it.
type windowCount struct {
	op.Base
	windows, txs int64
	ended        chan struct{}
	once         sync.Once
}

// Process counts rec's windows and transactions.
func (c *windowCount) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	idx := rec.Schema().FieldIndices("tx_count")
	if len(idx) != 1 {
		return fmt.Errorf("window rows without tx_count: %s", rec.Schema())
	}
	col := rec.Column(idx[0]).(*array.Int64)
	for i := range col.Len() {
		c.txs += col.Value(i)
	}
	c.windows += rec.NumRows()
	return nil
}

// Collect lets windowCount take what an operator emits.
func (c *windowCount) Collect(rec arrow.RecordBatch) error { return c.Process(0, rec, nil) }

// OnWatermark closes ended on the final watermark.
func (c *windowCount) OnWatermark(wm int64, _ op.Collector) error {
	if wm == op.MaxWatermark && c.ended != nil {
		c.once.Do(func() { close(c.ended) })
	}
	return nil
}

// stateSizes are the sizes of state BenchmarkRebalanceState measures: 10MB and 100MB, or
// those MILLRACE_BENCH_STATE lists (10MB,100MB,1GB).
func stateSizes(b *testing.B) []string {
	b.Helper()
	list := os.Getenv("MILLRACE_BENCH_STATE")
	if list == "" {
		return []string{"10MB", "100MB"}
	}
	sizes := strings.Split(list, ",")
	for _, s := range sizes {
		if _, err := parseSize(s); err != nil {
			b.Fatalf("MILLRACE_BENCH_STATE: %v", err)
		}
	}
	return sizes
}

// parseSize reads 10MB (2^20 bytes each) or 1GB (2^30).
func parseSize(s string) (int64, error) {
	var n int64
	var unit string
	if _, err := fmt.Sscanf(s, "%d%s", &n, &unit); err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a number of MB or GB", s)
	}
	switch unit {
	case "MB":
		return n << 20, nil
	case "GB":
		return n << 30, nil
	}
	return 0, fmt.Errorf("size %q: unit %q, want MB or GB", s, unit)
}

// keyGroups lists the key groups from lo to hi-1.
func keyGroups(lo, hi int32) []int32 {
	var out []int32
	for kg := lo; kg < hi; kg++ {
		out = append(out, kg)
	}
	return out
}

// BenchmarkRebalanceState measures the part of a rebalance that moves state, for window
// state of 10MB and 100MB (set MILLRACE_BENCH_STATE=10MB,100MB,1GB for more; a gigabyte
// of state takes several GB of memory and minutes to build and move), on a directory and, for
// 100MB, on the in-process S3 server over HTTP:
//
//   - save: what a worker does at a checkpoint before its transaction: the window step's
//     snapshot by key group (SnapshotGroups over the 256 key groups, as the engine takes
//     it with Checkpointing.ByKeyGroup), the units' states (unitStates), each encoded and
//     written to the store, eight at a time (saveAll);
//   - restore: what a worker does for the half of the key groups it takes over: read the
//     committed offsets from the group, read and decode the state objects they name, eight
//     at a time (restore), and load their parts into a fresh operator of the keyed stage's
//     one subtask, as the engine hands them over (RestoreParts).
//
// Each reports the step's state (state-MB, op.Stateful.StateBytes), the bytes it moved
// (moved-MB), the milliseconds of each part of the work per operation and the processor
// time the process spent per operation (cpu-ms/op: on a loaded machine, wall time exceeds
// it by what others took). After the loop,
// restore restores the other half too and fires every window of both halves: their
// tx_count must add up to the transactions folded.
func BenchmarkRebalanceState(b *testing.B) {
	for _, size := range stateSizes(b) {
		b.Run(size, func(b *testing.B) {
			target, _ := parseSize(size)
			benchRebalance(b, buildState(b, target, plan.Options{}), target == 100<<20)
			// The pebble backend, spilling all but 1 MB of the windows to disk.
			b.Run("pebble", func(b *testing.B) {
				st := buildState(b, target, plan.Options{StateBackend: plan.PebbleBackend, SpillDir: b.TempDir(), SpillAbove: 1 << 20})
				benchRebalance(b, st, false)
			})
		})
	}
}

// benchRebalance saves and restores st with a directory store, and with an S3 one too.
func benchRebalance(b *testing.B, st *benchState, s3 bool) {
	kinds := []string{"file"}
	if s3 {
		kinds = append(kinds, "s3")
	}
	store := func(b *testing.B, kind string) objstore.Store {
		url := "file://" + b.TempDir()
		if kind == "s3" {
			url = objstoretest.S3(b)
		}
		s, err := objstore.Open(b.Context(), url, objstore.DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if err := s.Close(); err != nil {
				b.Error(err)
			}
		})
		return s
	}
	for _, kind := range kinds {
		b.Run(kind+"/save", func(b *testing.B) { benchSave(b, st, store(b, kind)) })
		b.Run(kind+"/restore", func(b *testing.B) { benchRestore(b, st, store(b, kind)) })
	}
	// Last: they fold more transactions into st.
	b.Run("file/incremental", func(b *testing.B) { benchIncremental(b, st, store(b, "file")) })
	for _, kind := range kinds {
		b.Run(kind+"/after-incremental", func(b *testing.B) { benchRestoreWarm(b, st, store(b, kind)) })
	}
}

// savedState is one checkpoint's state of every key group, written to a store.
type savedState struct {
	states map[*unit]*unitState
	// snapshot (by key group), split (into units) and write are how long each part of the
	// save took.
	snapshot, split, write time.Duration
	// wrote is what the save wrote to the store.
	wrote written
}

// save takes checkpoint id of st's state for g's units and writes it to g's store.
func save(ctx context.Context, g *generation, st *benchState, id uint64) (*savedState, error) {
	sp := engine.SourcePart{Watermark: op.MinWatermark}
	for i, u := range g.units {
		sp.Partitions = append(sp.Partitions, engine.PartitionPart{Index: i, Position: benchPosition(u.partition), MaxTime: op.MinWatermark})
	}
	src, err := sp.Encode()
	if err != nil {
		return nil, err
	}
	out := &savedState{}
	t0 := time.Now()
	k := g.w.opts.Layout.KeyGroups // as the engine takes a keyed node's part with ByKeyGroup
	parts, err := st.op.(op.GroupSnapshotter).SnapshotGroups(id, k, engine.KeyOwner(k, k))
	if err != nil {
		return nil, err
	}
	t1 := time.Now()
	snap := &engine.Snapshot{ID: id, Parts: map[string][][]byte{benchTopic: {src}, st.final.Name: parts}}
	if out.states, err = g.unitStates(snap, fmt.Sprintf("bench-g1-%d", id)); err != nil {
		return nil, err
	}
	t2 := time.Now()
	if _, out.wrote, err = g.saveAll(ctx, out.states); err != nil {
		return nil, err
	}
	out.snapshot, out.split, out.write = t1.Sub(t0), t2.Sub(t1), time.Since(t2)
	if len(out.states) != len(g.units) {
		return nil, fmt.Errorf("%d units' states of %d", len(out.states), len(g.units))
	}
	return out, nil
}

// benchSave measures save: snapshot by key group, split into units, encode and write.
func benchSave(b *testing.B, st *benchState, store objstore.Store) {
	g := benchGeneration("bench", store, nil, "", benchTopic, st.final, keyGroups(0, 256))
	defer g.cancel()
	var snapshot, split, write time.Duration
	var moved int64
	id, objects := uint64(0), 0
	var cpu time.Duration
	for b.Loop() {
		c0 := proctime.CPU()
		id++
		s, err := save(b.Context(), g, st, id)
		if err != nil {
			b.Fatal(err)
		}
		snapshot, split, write, moved = snapshot+s.snapshot, split+s.split, write+s.write, s.wrote.bytes
		objects += s.wrote.objects
		cpu += proctime.CPU() - c0
		b.StopTimer()
		var keys []string
		for u, us := range s.states {
			keys = append(keys, stateKey("bench", u.topic, u.partition, us.Checkpoint))
		}
		if err := store.Delete(b.Context(), keys...); err != nil {
			b.Fatal(err)
		}
		g.stored.reset() // each save writes the whole state, as the first after a restore does
		b.StartTimer()
	}
	n := float64(id)
	b.ReportMetric(float64(st.bytes)/(1<<20), "state-MB")
	b.ReportMetric(float64(moved)/(1<<20), "moved-MB")
	b.ReportMetric(float64(objects)/n, "objects/op")
	b.ReportMetric(ms(snapshot)/n, "snapshot-ms/op")
	b.ReportMetric(ms(split)/n, "split-ms/op")
	b.ReportMetric(ms(write)/n, "write-ms/op")
	b.ReportMetric(ms(cpu)/n, "cpu-ms/op")
}

// betweenCheckpoints is how many transactions benchIncremental folds into the state
// between two checkpoints: ten seconds of 6,500 a second.
const betweenCheckpoints = 65_536

// benchIncremental measures the saves after the first: each operation folds
// betweenCheckpoints more transactions into the state (not timed), then saves it as a
// worker's next checkpoint does, writing only the pieces its earlier objects do not hold.
// It reports the bytes written (written-MB) and named in earlier objects (named-MB) and the
// objects written per checkpoint. After the loop it restores every key group from the last
// checkpoint's objects, which name pieces of the earlier ones (restore-all-ms, and its
// processor time), and fires them: they count every transaction folded.
func benchIncremental(b *testing.B, st *benchState, store objstore.Store) {
	ctx := b.Context()
	cl := benchClient(b)
	const group = "bench"
	g := benchGeneration("bench", store, cl, group, benchTopic, st.final, keyGroups(0, 256))
	defer g.cancel()
	id := uint64(1)
	s, err := save(ctx, g, st, id)
	if err != nil {
		b.Fatal(err)
	}
	var cpu, snapshot, write time.Duration
	var wrote written
	for b.Loop() {
		b.StopTimer()
		st.fold(b, betweenCheckpoints)
		b.StartTimer()
		c0 := proctime.CPU()
		id++
		if s, err = save(ctx, g, st, id); err != nil {
			b.Fatal(err)
		}
		cpu += proctime.CPU() - c0
		snapshot, write = snapshot+s.snapshot, write+s.write
		wrote.add(s.wrote)
	}
	n := float64(id - 1)
	b.ReportMetric(float64(st.bytes)/(1<<20), "state-MB")
	b.ReportMetric(float64(wrote.bytes)/n/(1<<20), "written-MB")
	b.ReportMetric(float64(wrote.named)/n/(1<<20), "named-MB")
	b.ReportMetric(float64(wrote.objects)/n, "objects/op")
	b.ReportMetric(ms(snapshot)/n, "snapshot-ms/op")
	b.ReportMetric(ms(write)/n, "write-ms/op")
	b.ReportMetric(ms(cpu)/n, "cpu-ms/op")

	commitState(b, cl, group, s)
	taken := benchGeneration("bench", store, cl, group, benchTopic, st.final, keyGroups(0, 256))
	defer taken.cancel()
	c0 := proctime.CPU()
	all, r, err := restoreHalf(taken, st.final)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(ms(proctime.CPU()-c0), "restore-all-cpu-ms")
	b.ReportMetric(ms(r.read+r.load), "restore-all-ms")
	var count windowCount
	if err := all.OnWatermark(op.MaxWatermark, &count); err != nil {
		b.Fatal(err)
	}
	if err := all.Close(); err != nil {
		b.Fatal(err)
	}
	if count.txs != st.rows || count.windows == 0 {
		b.Fatalf("the state restored from checkpoint %d fired %d windows of %d transactions, want the %d folded", id, count.windows, count.txs, st.rows)
	}
}

// benchRestore measures restore of half the key groups: committed offsets, read, decode,
// RestoreParts.
func benchRestore(b *testing.B, st *benchState, store objstore.Store) {
	ctx := b.Context()
	cl := benchClient(b)
	const group = "bench"
	all := benchGeneration("bench", store, cl, group, benchTopic, st.final, keyGroups(0, 256))
	defer all.cancel()
	saved, err := save(ctx, all, st, 1)
	if err != nil {
		b.Fatal(err)
	}
	commitState(b, cl, group, saved)
	taken := benchGeneration("bench", store, cl, group, benchTopic, st.final, keyGroups(128, 256))
	defer taken.cancel()
	fresh, moved := timeRestores(b, taken, st)
	b.ReportMetric(float64(moved)/(1<<20), "moved-MB")

	// The two halves hold every window: fired, they count every transaction once.
	other := benchGeneration("bench", store, cl, group, benchTopic, st.final, keyGroups(0, 128))
	defer other.cancel()
	rest, _, err := restoreHalf(other, st.final)
	if err != nil {
		b.Fatal(err)
	}
	var count windowCount
	for _, o := range []op.Operator{fresh, rest} {
		if err := o.OnWatermark(op.MaxWatermark, &count); err != nil {
			b.Fatal(err)
		}
		if err := o.Close(); err != nil {
			b.Fatal(err)
		}
	}
	if count.txs != st.rows || count.windows == 0 {
		b.Fatalf("the restored halves fired %d windows of %d transactions, want the %d folded", count.windows, count.txs, st.rows)
	}
}

// benchRestoreWarm measures the restore of half the key groups from an incremental
// checkpoint, as a worker that joins the group makes it: a first checkpoint of every key
// group is committed, betweenCheckpoints more transactions are folded into the state (not
// timed), and the next checkpoint, which names the pieces of the first that did not
// change, is committed. Then:
//
//   - cold: the restore of half the key groups reads every piece from the store;
//   - warm: the worker pre-warmed its piece cache from the first checkpoint, as one that
//     is starting does before it joins (not timed): the restore reads each object's
//     header and the pieces written since, and takes the others from the cache.
//
// Each reports what restore reports, and warm the bytes it took from the cache
// (cached-MB) and read from the store past each object's first read (read-MB).
func benchRestoreWarm(b *testing.B, st *benchState, store objstore.Store) {
	ctx := b.Context()
	cl := benchClient(b)
	const group = "bench"
	all := benchGeneration("bench", store, cl, group, benchTopic, st.final, keyGroups(0, 256))
	defer all.cancel()
	first, err := save(ctx, all, st, 1)
	if err != nil {
		b.Fatal(err)
	}
	st.fold(b, betweenCheckpoints)
	next, err := save(ctx, all, st, 2)
	if err != nil {
		b.Fatal(err)
	}
	commitState(b, cl, group, next)
	for _, warm := range []bool{false, true} {
		name := map[bool]string{false: "cold", true: "warm"}[warm]
		b.Run(name, func(b *testing.B) {
			taken := benchGeneration("bench", store, cl, group, benchTopic, st.final, keyGroups(128, 256))
			defer taken.cancel()
			if warm {
				taken.w.cache = newPieceCache(DefaultPrewarm)
				for u, us := range first.states {
					if err := taken.w.prewarmUnit(ctx, u, us.Checkpoint); err != nil {
						b.Fatal(err)
					}
				}
			}
			fresh, _ := timeRestores(b, taken, st)
			if err := fresh.Close(); err != nil {
				b.Fatal(err)
			}
			if warm {
				n := float64(b.N)
				s, _ := taken.w.cache.counts()
				b.ReportMetric(float64(s.hitBytes)/n/(1<<20), "cached-MB")
				b.ReportMetric(float64(s.readBytes)/n/(1<<20), "read-MB")
			}
		})
	}
}

// benchClient is a client of a new in-process broker whose topic benchTopic has a partition
// per key group.
func benchClient(b *testing.B) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafkatest.Cluster(b, benchTopic, 256)...))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	return cl
}

// commitState commits, for group, the offsets and checkpoints of saved's units, as a worker
// commits them with its transaction.
func commitState(b *testing.B, cl *kgo.Client, group string, saved *savedState) {
	var offsets kadm.Offsets
	for u, us := range saved.states {
		offsets.Add(kadm.Offset{Topic: u.topic, Partition: u.partition, At: us.Offset, LeaderEpoch: -1, Metadata: us.Checkpoint})
	}
	resp, err := kadm.NewClient(cl).CommitOffsets(b.Context(), group, offsets)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		b.Fatalf("commit the offsets of the state: %v", err)
	}
}

// timeRestores restores what taken owns into a fresh operator of st's window step once per
// operation, and reports the parts of the work per operation (read-ms/op, restore-ms/op),
// its processor time (cpu-ms/op) and the state's size (state-MB). It returns the operator
// restored last, which the caller closes, and the bytes of state a restore read.
func timeRestores(b *testing.B, taken *generation, st *benchState) (op.Operator, int64) {
	var read, load, cpu time.Duration
	var moved int64
	var fresh op.Operator
	for b.Loop() {
		if fresh != nil {
			b.StopTimer()
			if err := fresh.Close(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		c0 := proctime.CPU()
		f, r, err := restoreHalf(taken, st.final)
		if err != nil {
			b.Fatal(err)
		}
		cpu += proctime.CPU() - c0
		fresh, read, load, moved = f, read+r.read, load+r.load, r.bytes
	}
	n := float64(b.N)
	b.ReportMetric(float64(st.bytes)/(1<<20), "state-MB")
	b.ReportMetric(ms(read)/n, "read-ms/op")
	b.ReportMetric(ms(load)/n, "restore-ms/op")
	b.ReportMetric(ms(cpu)/n, "cpu-ms/op")
	return fresh, moved
}

// restored says how long each part of a restore took and how many bytes of state it read.
type restored struct {
	read, load time.Duration
	bytes      int64
}

// restoreHalf restores what g owns, as a generation and then the engine do, into a fresh
// operator of final.
func restoreHalf(g *generation, final *engine.Node) (op.Operator, restored, error) {
	var r restored
	t0 := time.Now()
	snap, err := g.restore()
	if err != nil {
		return nil, r, err
	}
	parts := snap.Parts[final.Name]
	if got := len(slices.DeleteFunc(slices.Clone(parts), func(p []byte) bool { return p == nil })); got != len(g.units) {
		return nil, r, fmt.Errorf("restored %d key groups' state, want %d", got, len(g.units))
	}
	for _, p := range parts {
		r.bytes += int64(len(p))
	}
	t1 := time.Now()
	fresh, err := final.Operator(0)
	if err != nil {
		return nil, r, err
	}
	if err := fresh.Open(op.Context{Node: final.Name, Parallelism: 1, Mem: memory.DefaultAllocator, Log: slog.New(slog.DiscardHandler)}); err != nil {
		return nil, r, err
	}
	// The engine hands a subtask the parts of the key groups it owns, as they are.
	if err := fresh.(op.PartsRestorer).RestoreParts(parts); err != nil {
		return nil, r, err
	}
	r.read, r.load = t1.Sub(t0), time.Since(t1)
	return fresh, r, nil
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// exchangeRows is the number of transactions BenchmarkExchangeOverhead moves.
const exchangeRows = 1_000_000

// BenchmarkExchangeOverhead runs benchSpec's keyed window over a million generated
// transactions at parallelism 1, up to the window's rows:
//
//   - in-process: engine.Run of the plan, the keyed exchange a channel;
//   - kafka: the plan cut at the keyed exchange as a worker runs it: the first stage's
//     partial states encoded by key group (exchangeOut, exchange.Encode) and produced to an
//     in-process Kafka broker (kfake) in one transaction per checkpoint (every second, and
//     the last), while a second run reads the 256 key groups back at once through
//     exchange.NewSource, one subtask as a worker's keyed stage does, into the window step.
//     The state the window step would checkpoint is not written: BenchmarkRebalanceState
//     measures that.
//
// Each reports rows/s (wall) and rows/cpu-s: transactions per second of processor time of
// the whole process, the broker's included for kafka. Both must fire the same windows and
// count every transaction.
func BenchmarkExchangeOverhead(b *testing.B) {
	var windows int64
	check := func(b *testing.B, c *windowCount) {
		b.Helper()
		if c.txs != exchangeRows {
			b.Fatalf("the windows counted %d transactions, want %d", c.txs, exchangeRows)
		}
		if windows == 0 {
			windows = c.windows
		}
		if c.windows != windows {
			b.Fatalf("%d windows, the other run fired %d", c.windows, windows)
		}
	}
	report := func(b *testing.B, cpu time.Duration) {
		rows := float64(exchangeRows * b.N)
		b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(rows/cpu.Seconds(), "rows/cpu-s")
	}
	b.Run("in-process", func(b *testing.B) {
		var cpu time.Duration
		for b.Loop() {
			c0 := proctime.CPU()
			c := runInProcess(b)
			cpu += proctime.CPU() - c0
			check(b, c)
		}
		report(b, cpu)
	})
	b.Run("kafka", func(b *testing.B) {
		brokers := kafkatest.Cluster(b, "", 0)
		var cpu time.Duration
		run := 0
		for b.Loop() {
			run++
			c0 := proctime.CPU()
			c := runAcrossKafka(b, brokers, fmt.Sprintf("%s.%d", benchTopic, run))
			cpu += proctime.CPU() - c0
			check(b, c)
		}
		report(b, cpu)
	})
}

// runInProcess runs the plan with the window's rows counted instead of a sink.
func runInProcess(b *testing.B) *windowCount {
	b.Helper()
	p := benchPlan(b, exchangeRows)
	c := &windowCount{}
	counter := &engine.Node{Name: "count", Parallelism: 1, Operator: func(int) (op.Operator, error) { return c, nil }}
	g := &engine.Graph{KeyGroups: 256, Nodes: append(slices.Clone(p.Graph.Nodes), counter),
		Edges: append(slices.Clone(p.Graph.Edges), &engine.Edge{From: planNode(b, p, "velocity"), To: counter, Partitioning: engine.Forward})}
	if _, err := engine.Run(b.Context(), g, engine.DefaultOptions()); err != nil {
		b.Fatal(err)
	}
	return c
}

// runAcrossKafka runs the plan's two stages at once, joined by the exchange topic topic
// on brokers, and returns what the window step emitted.
func runAcrossKafka(b *testing.B, brokers []string, topic string) *windowCount {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute) // a broken run fails instead of hanging
	defer cancel()
	p := benchPlan(b, exchangeRows)
	tx, partial, final := planNode(b, p, "tx"), planNode(b, p, "velocity.partial"), planNode(b, p, "velocity")
	step, ok := p.Step(partial.Name)
	if !ok {
		b.Fatalf("no step %s", partial.Name)
	}
	key := &engine.Edge{From: partial, To: final, Partitioning: engine.Hash, Key: []string{"card_id"}}
	x := &Exchange{Topic: topic, Edge: key, Schema: step.Schema()}

	admin, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	if err := exchange.Ensure(ctx, kadm.NewClient(admin), topic, 256); err != nil {
		b.Fatal(err)
	}
	producer, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.TransactionalID("bench-"+topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MaxBufferedRecords(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	defer producer.Close()

	// The first stage: source, partial aggregate, exchange out; each checkpoint's records in
	// one transaction.
	box := newOutbox()
	out := &engine.Node{Name: exchangeOutName(x), Parallelism: 1, Operator: func(int) (op.Operator, error) {
		return newExchangeOut(x, 256, "tx/0", box)
	}}
	if p.Graph.Edges[0].From != tx || p.Graph.Edges[0].To != partial {
		b.Fatalf("the plan's first edge joins %s to %s", p.Graph.Edges[0].From.Name, p.Graph.Edges[0].To.Name)
	}
	first := &engine.Graph{KeyGroups: 256, Nodes: []*engine.Node{tx, partial, out},
		Edges: []*engine.Edge{p.Graph.Edges[0], {From: partial, To: out, Partitioning: engine.Forward}}}
	firstOpts := engine.DefaultOptions()
	firstOpts.Checkpointing = &engine.Checkpointing{Interval: time.Second, Complete: func(s *engine.Snapshot) error {
		return produceTxn(ctx, producer, box.take(s))
	}}

	// The second stage: the exchange's key groups, the window step.
	src, err := exchange.NewSource(ctx, exchange.SourceOptions{Conn: kafka.Conn{Brokers: brokers}, Topic: topic,
		Partitions: keyGroups(0, 256), Schema: x.Schema, Upstream: []string{"tx/0"}})
	if err != nil {
		b.Fatal(err)
	}
	in := &engine.Node{Name: topic, Parallelism: 1, Source: src, Watermarks: engine.NoEventTime}
	c := &windowCount{ended: make(chan struct{})}
	counter := &engine.Node{Name: "count", Parallelism: 1, Operator: func(int) (op.Operator, error) { return c, nil }}
	second := &engine.Graph{KeyGroups: 256, Nodes: []*engine.Node{in, final, counter}, Edges: []*engine.Edge{
		{From: in, To: final, Partitioning: engine.Hash, Key: key.Key},
		{From: final, To: counter, Partitioning: engine.Forward}}}
	secondOpts := engine.DefaultOptions()
	secondOpts.Stop = c.ended // the final watermark came through: every window has fired, as a rebalance would stop it

	var wg sync.WaitGroup
	var secondErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, secondErr = engine.Run(ctx, second, secondOpts)
	}()
	_, err = engine.Run(ctx, first, firstOpts)
	if err != nil {
		cancel()
	}
	wg.Wait()
	if err != nil {
		b.Fatalf("first stage: %v", err)
	}
	if secondErr != nil {
		b.Fatalf("second stage: %v", secondErr)
	}
	return c
}

// produceTxn produces records in one transaction and commits it.
func produceTxn(ctx context.Context, cl *kgo.Client, records []*kgo.Record) error {
	if err := cl.BeginTransaction(); err != nil {
		return err
	}
	var mu sync.Mutex
	var produceErr error
	for _, r := range records {
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if produceErr == nil {
					produceErr = fmt.Errorf("produce to %s/%d: %w", r.Topic, r.Partition, err)
				}
				mu.Unlock()
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	if produceErr != nil {
		if err := cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
			return errors.Join(produceErr, fmt.Errorf("abort: %w", err))
		}
		return produceErr
	}
	return cl.EndTransaction(ctx, kgo.TryCommit)
}

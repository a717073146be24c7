package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/examples"
	"millrace/format"
	"millrace/gen"
	"millrace/job"
	"millrace/plan"
	"millrace/spec"
)

// AlertsOptions says how Alerts measures.
type AlertsOptions struct {
	// MaxRows is how many transactions the maximum rate is measured over.
	MaxRows int64
	// Load is how long each variant produces at the paced rate; LoadFactor the paced rate's
	// share of the maximum (0.5 for half).
	Load       time.Duration
	LoadFactor float64
	// Rate, when above 0, is the paced rate in transactions per second in place of
	// LoadFactor's share: the maximum is then not measured, so that two builds can be
	// compared at the same rate.
	Rate float64
	// Parallelism is the pipeline's subtasks per step.
	Parallelism int
	// CheckpointInterval is how often the pipeline takes checkpoints (run's default, 10 s).
	CheckpointInterval time.Duration
	// Watermark replaces the example's allowed disorder (5 s): a row's features, and so its
	// alert, wait until the watermark passes its event time.
	Watermark time.Duration
	// FraudDir holds models/fraud.xgb and rules/fraud.yaml, as FRAUD_DIR does for the example.
	FraudDir string
	// Dir is a work directory, for the checkpoints.
	Dir string
	// Seed picks the generated transactions.
	Seed int64
	// Log, when set, gets a line as each measurement ends.
	Log io.Writer
}

// DefaultAlertsOptions measures over 200,000 transactions, then 10 s at half the maximum
// for each variant, at watermark 0 and checkpoints every 10 s.
func DefaultAlertsOptions() AlertsOptions {
	return AlertsOptions{MaxRows: 200_000, Load: 10 * time.Second, LoadFactor: 0.5, CheckpointInterval: 10 * time.Second, FraudDir: "examples", Seed: 1}
}

// AlertVariant is how the example's alert sink delivers.
type AlertVariant struct {
	Delivery string // spec.DeliveryExactlyOnce or spec.DeliveryAtLeastOnce
	Commit   string // spec.CommitCheckpoint or spec.CommitBatch, exactly once only
}

func (v AlertVariant) String() string {
	if v.Delivery == spec.DeliveryExactlyOnce {
		return v.Delivery + ", commit: " + v.Commit
	}
	return v.Delivery
}

// AlertVariants are the variants Alerts measures, in order.
var AlertVariants = []AlertVariant{
	{Delivery: spec.DeliveryExactlyOnce, Commit: spec.CommitBatch},
	{Delivery: spec.DeliveryExactlyOnce, Commit: spec.CommitCheckpoint},
	{Delivery: spec.DeliveryAtLeastOnce},
}

// AlertLatency is what one variant measured: the transactions produced at the paced rate,
// the alerts a read_committed consumer read for them, and the quantiles of the time from a
// transaction's produce to the read of its alert.
type AlertLatency struct {
	Variant            AlertVariant
	Rows, Alerts       int
	P50, P99, Max      time.Duration
	Checkpoints        int64
	Rate, ProducedRate float64
	// Path is the mean time the engine's latency markers took from the source to the alert
	// sink: the queues along the pipeline, without the watermark's hold (in Steps), the
	// sink's produce and the consumer's fetch.
	Path time.Duration
	// Made is the time from a transaction's produce to the produce of its alert (the alert
	// record's timestamp): the source's fetch, the pipeline's queues and the watermark's
	// hold. Published is the rest, from the alert's produce to its read: the sink's commit
	// and the consumer's fetch. Each is given as its p50 and p99 over the alerts.
	Made, Published [2]time.Duration
	// Steps are the pipeline's steps in graph order, with what they took while the
	// transactions were produced.
	Steps []AlertStep
}

// AlertStep is what one step of the pipeline took while a variant produced transactions.
type AlertStep struct {
	Name string
	// Path is the mean time latency markers took from the source to the step.
	Path time.Duration
	// Pause is the mean time a checkpoint held one of the step's subtasks while it took its
	// part of the state; Pauses counts the parts.
	Pause  time.Duration
	Pauses int64
	// ReadAge, for the source, is the mean age of each batch's oldest transaction when the
	// source read it: from its produce to its read.
	ReadAge time.Duration
	// Hold, for a features step, is the mean time a transaction waited in it for the
	// watermark: from its arrival at the step to its release.
	Hold time.Duration
}

// AlertsResult is what Alerts measured.
type AlertsResult struct {
	Parallelism int
	Watermark   time.Duration
	Interval    time.Duration
	MaxRate     float64 // transactions per second the pipeline sustained; 0 when not measured
	Variants    []AlertLatency
}

func (r AlertsResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fraud-kafka at -p %d, watermark %s, checkpoints every %s: ", r.Parallelism, r.Watermark, r.Interval)
	if r.MaxRate > 0 {
		fmt.Fprintf(&b, "at most %.0f transactions/s; ", r.MaxRate)
	}
	fmt.Fprintf(&b, "at %.0f/s:\n", r.paced())
	fmt.Fprintf(&b, "%-32s %8s %7s %10s %10s %10s %10s %6s\n", "sink", "rows", "alerts", "p50", "p99", "max", "path", "ckpts")
	for _, v := range r.Variants {
		fmt.Fprintf(&b, "%-32s %8d %7d %10s %10s %10s %10s %6d\n", v.Variant, v.Rows, v.Alerts, ms(v.P50), ms(v.P99), ms(v.Max), ms(v.Path), v.Checkpoints)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func (r AlertsResult) paced() float64 {
	if len(r.Variants) == 0 {
		return 0
	}
	return r.Variants[0].Rate
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// Breakdown says, for each variant, where its alerts' time went: from the transaction's
// produce to its read by the source and to the alert's produce, from there to the read,
// the latency markers' path to each step, the time the features steps held transactions
// for the watermark and the checkpoints' pauses of the steps that took any.
func (r AlertsResult) Breakdown() string {
	var b strings.Builder
	for _, v := range r.Variants {
		fmt.Fprintf(&b, "%s:\n", v.Variant)
		for _, st := range v.Steps {
			if st.ReadAge > 0 {
				fmt.Fprintf(&b, "  transaction produced to read by %s:     mean %s (the oldest of each batch)\n", st.Name, ms(st.ReadAge))
			}
		}
		fmt.Fprintf(&b, "  transaction produced to alert produced:  p50 %s, p99 %s\n", ms(v.Made[0]), ms(v.Made[1]))
		fmt.Fprintf(&b, "  alert produced to alert read:            p50 %s, p99 %s\n", ms(v.Published[0]), ms(v.Published[1]))
		var path, hold, pause []string
		for _, st := range v.Steps {
			if st.Path > 0 {
				path = append(path, st.Name+" "+ms(st.Path))
			}
			if st.Hold > 0 {
				hold = append(hold, st.Name+" "+ms(st.Hold))
			}
			if st.Pauses > 0 {
				pause = append(pause, fmt.Sprintf("%s %s (%d)", st.Name, ms(st.Pause), st.Pauses))
			}
		}
		fmt.Fprintf(&b, "  path from the source, mean:              %s\n", strings.Join(path, ", "))
		fmt.Fprintf(&b, "  held for the watermark, mean:            %s\n", strings.Join(hold, ", "))
		if len(pause) > 0 {
			fmt.Fprintf(&b, "  checkpoint pause per part, mean (parts): %s\n", strings.Join(pause, ", "))
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Alerts runs examples/fraud-kafka.yaml (features per card, account and merchant, the
// model's score, the rules) on a Kafka cluster in this process. It first measures the rate
// the pipeline sustains, reading o.MaxRows transactions produced beforehand (unless o.Rate
// fixes the rate); then, for each variant of the alert sink, it produces transactions at
// o.Rate, or else o.LoadFactor of that maximum, for
// o.Load, each when its event time is due (event time runs as many times faster than the
// clock as the rate is above the generator's 1,000 per second), notes when each was
// produced, and measures, for every alert a read_committed consumer reads, the time since
// its transaction was produced.
func Alerts(ctx context.Context, o AlertsOptions) (AlertsResult, error) {
	res := AlertsResult{Parallelism: o.Parallelism, Watermark: o.Watermark, Interval: o.CheckpointInterval}
	paced := o.Rate
	if paced <= 0 {
		txs, err := alertInput(o.Seed, o.MaxRows)
		if err != nil {
			return res, err
		}
		if res.MaxRate, err = alertsMaxRate(ctx, o, txs); err != nil {
			return res, err
		}
		paced = res.MaxRate * o.LoadFactor
	}
	txs, err := alertInput(o.Seed, max(int64(paced*o.Load.Seconds()), 2))
	if err != nil {
		return res, err
	}
	for i, v := range AlertVariants {
		lat, err := alertsLatency(ctx, o, v, txs, paced, filepath.Join(o.Dir, fmt.Sprintf("v%d", i)))
		if err != nil {
			return res, fmt.Errorf("bench alerts, %s: %w", v, err)
		}
		res.Variants = append(res.Variants, lat)
		if o.Log != nil {
			fmt.Fprintf(o.Log, "bench alerts: %s: p50 %s, p99 %s over %d alerts\n", v, ms(lat.P50), ms(lat.P99), lat.Alerts)
		}
	}
	return res, nil
}

// alertTx is one generated transaction: its JSON, id and event time.
type alertTx struct {
	value []byte
	id    string
	ts    time.Time
}

// alertInput generates n transactions in event-time order, with 0.5% fraud.
func alertInput(seed, n int64) ([]alertTx, error) {
	cfg := gen.DefaultConfig()
	cfg.Seed, cfg.Rows, cfg.FraudRate, cfg.Flat = seed, n, 0.005, true
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), cfg, &buf, format.JSONL, format.WriteOptions{}, nil); err != nil {
		return nil, err
	}
	out := make([]alertTx, 0, n)
	for line := range bytes.Lines(buf.Bytes()) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		var row struct {
			ID string    `json:"tx_id"`
			TS time.Time `json:"ts"`
		}
		if err := json.Unmarshal(line, &row); err != nil {
			return nil, fmt.Errorf("generated transaction %q: %w", line, err)
		}
		out = append(out, alertTx{value: line, id: row.ID, ts: row.TS})
	}
	return out, nil
}

// alertPartitions is the number of partitions of the input and alert topics.
const alertPartitions = 4

// alertCluster is a Kafka cluster in this process with the topics tx and fraud-alerts.
type alertCluster struct {
	c    *kfake.Cluster
	prod *kgo.Client
}

func newAlertCluster() (*alertCluster, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(alertPartitions, "tx", "fraud-alerts"))
	if err != nil {
		return nil, fmt.Errorf("start a kafka cluster: %w", err)
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("tx"),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerLinger(0))
	if err != nil {
		c.Close()
		return nil, err
	}
	return &alertCluster{c: c, prod: prod}, nil
}

func (a *alertCluster) Close() {
	a.prod.Close()
	a.c.Close()
}

// alertPipeline is the example planned for a cluster and a variant, and running.
type alertPipeline struct {
	stop    chan struct{}
	done    chan error
	mu      sync.Mutex
	stats   *engine.Stats
	updated chan struct{} // closed and replaced at each progress report
}

// startAlertPipeline plans the example against cl with the variant's sink and o's
// watermark, and runs it with checkpoints under dir (none when dir is empty).
func startAlertPipeline(ctx context.Context, o AlertsOptions, cl *alertCluster, v AlertVariant, dir string) (*alertPipeline, error) {
	text, err := examples.Specs.ReadFile("fraud-kafka.yaml")
	if err != nil {
		return nil, err
	}
	vars := map[string]string{"KAFKA_BROKERS": strings.Join(cl.c.ListenAddrs(), ","), "FRAUD_DIR": o.FraudDir}
	s, err := spec.Parse(text, "fraud-kafka.yaml", func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		return nil, err
	}
	src, sink := s.Source("tx"), s.Sink("alerts")
	if src == nil || sink == nil || sink.Kafka == nil {
		return nil, errors.New("examples/fraud-kafka.yaml: no source tx or kafka sink alerts")
	}
	src.Watermark = o.Watermark
	sink.Kafka.Delivery, sink.Kafka.Commit = v.Delivery, v.Commit
	if sink.Kafka.Commit == "" {
		sink.Kafka.Commit = spec.CommitCheckpoint
	}
	pl, err := plan.BuildContext(ctx, s, plan.Options{Parallelism: o.Parallelism, Stdout: io.Discard})
	if err != nil {
		return nil, err
	}
	pp := &alertPipeline{stop: make(chan struct{}), done: make(chan error, 1), updated: make(chan struct{})}
	eng := engine.DefaultOptions()
	eng.Stop = pp.stop
	eng.ProgressEvery = 20 * time.Millisecond
	eng.Progress = func(st *engine.Stats) {
		pp.mu.Lock()
		defer pp.mu.Unlock()
		pp.stats = st
		close(pp.updated)
		pp.updated = make(chan struct{})
	}
	opts := job.Options{Plan: pl, Engine: eng, Holder: "millrace bench alerts"}
	if dir != "" {
		opts.Checkpoints = &job.Checkpointing{Dir: dir, Interval: o.CheckpointInterval, Retain: 2, Fresh: true, Discard: true}
	}
	go func() { pp.done <- job.New(opts).Run(ctx) }()
	return pp, nil
}

// node returns the report of the node named name in the latest progress report, and a
// channel closed at the next one.
func (pp *alertPipeline) node(name string) (engine.NodeReport, engine.CheckpointReport, <-chan struct{}) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.stats == nil {
		return engine.NodeReport{}, engine.CheckpointReport{}, pp.updated
	}
	for _, n := range pp.stats.Nodes {
		if n.Name == name {
			return n, pp.stats.Checkpoints, pp.updated
		}
	}
	return engine.NodeReport{}, pp.stats.Checkpoints, pp.updated
}

// waitFor waits until ok holds for the source's report, or the pipeline ends.
func (pp *alertPipeline) waitFor(ctx context.Context, name string, ok func(engine.NodeReport) bool) error {
	for {
		n, _, next := pp.node(name)
		if ok(n) {
			return nil
		}
		select {
		case <-next:
		case err := <-pp.done:
			pp.done <- err
			if err == nil {
				err = errors.New("the pipeline ended")
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// close stops the pipeline and waits for its end.
func (pp *alertPipeline) close() error {
	close(pp.stop)
	return <-pp.done
}

// alertsMaxRate produces txs into the topic beforehand, then runs the pipeline at least
// once over them and returns the rate from its first read until it has settled with every
// alert out: the rate the whole pipeline sustains.
func alertsMaxRate(ctx context.Context, o AlertsOptions, txs []alertTx) (float64, error) {
	cl, err := newAlertCluster()
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(txs))
	for i, t := range txs {
		recs[i] = &kgo.Record{Value: t.value}
	}
	if err := cl.prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return 0, fmt.Errorf("produce %d transactions: %w", len(recs), err)
	}
	if err := produceFlush(ctx, cl, txs[len(txs)-1]); err != nil {
		return 0, err
	}
	pp, err := startAlertPipeline(ctx, o, cl, AlertVariant{Delivery: spec.DeliveryAtLeastOnce}, "")
	if err != nil {
		return 0, err
	}
	var began time.Time
	total := int64(len(txs) + alertPartitions)
	err = pp.waitFor(ctx, "tx", func(r engine.NodeReport) bool {
		if began.IsZero() && r.Read > 0 {
			began = time.Now()
		}
		return r.Read >= total
	})
	if err == nil {
		err = quiet(ctx, pp, func(int64) bool { return true })
	}
	took := time.Since(began)
	if cerr := pp.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return float64(len(txs)) / took.Seconds(), nil
}

// alertsLatency runs the pipeline with variant v, produces txs at rate per second, each when
// its event time is due, and measures the latency of each alert.
func alertsLatency(ctx context.Context, o AlertsOptions, v AlertVariant, txs []alertTx, rate float64, dir string) (AlertLatency, error) {
	lat := AlertLatency{Variant: v, Rate: rate}
	cl, err := newAlertCluster()
	if err != nil {
		return lat, err
	}
	defer cl.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return lat, err
	}
	pp, err := startAlertPipeline(ctx, o, cl, v, dir)
	if err != nil {
		return lat, err
	}
	defer func() { _ = pp.close() }()
	// Measure from the first checkpoint on: a sink that commits per batch stages rows until
	// then, as it does at the start of every fresh run.
	if err := pp.waitFor(ctx, "tx", func(engine.NodeReport) bool {
		_, ck, _ := pp.node("tx")
		return ck.Completed > 0
	}); err != nil {
		return lat, err
	}
	sent := make([]atomic.Int64, len(txs)) // Unix nanoseconds of each produce
	index := make(map[string]int, len(txs))
	for i, t := range txs {
		index[t.id] = i
	}
	var latencies, made, published []time.Duration
	var readErr error
	read := make(chan struct{})
	reader, err := kgo.NewClient(kgo.SeedBrokers(cl.c.ListenAddrs()...), kgo.ConsumeTopics("fraud-alerts"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(10*time.Millisecond))
	if err != nil {
		return lat, err
	}
	defer reader.Close()
	alerts := atomic.Int64{}
	rctx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	go func() {
		defer close(read)
		for rctx.Err() == nil {
			fs := reader.PollFetches(rctx)
			at := time.Now()
			fs.EachError(func(t string, p int32, err error) {
				if !errors.Is(err, context.Canceled) && readErr == nil {
					readErr = fmt.Errorf("read %s partition %d: %w", t, p, err)
				}
			})
			fs.EachRecord(func(r *kgo.Record) {
				var row struct {
					ID string `json:"tx_id"`
				}
				if json.Unmarshal(r.Value, &row) != nil {
					return
				}
				if i, ok := index[row.ID]; ok {
					tx := time.Unix(0, sent[i].Load())
					latencies = append(latencies, at.Sub(tx))
					made = append(made, r.Timestamp.Sub(tx))
					published = append(published, at.Sub(r.Timestamp))
				}
				alerts.Add(1)
			})
		}
	}()
	pp.mu.Lock()
	startStats := pp.stats
	pp.mu.Unlock()
	if err := producePaced(ctx, cl, txs, rate, sent); err != nil {
		return lat, err
	}
	lat.ProducedRate = float64(len(txs)) / time.Duration(sent[len(txs)-1].Load()-sent[0].Load()).Seconds()
	// A last transaction an hour of event time later on every partition passes the watermark
	// over all the others; once the pipeline is quiet, every alert it made has been read
	// when the consumer has read as many as the sink took.
	if err := produceFlush(ctx, cl, txs[len(txs)-1]); err != nil {
		return lat, err
	}
	total := int64(len(txs) + alertPartitions)
	if err := pp.waitFor(ctx, "tx", func(r engine.NodeReport) bool { return r.Read >= total }); err != nil {
		return lat, err
	}
	if err := quiet(ctx, pp, func(sunk int64) bool { return alerts.Load() >= sunk }); err != nil {
		return lat, err
	}
	stopReading()
	<-read
	if readErr != nil {
		return lat, readErr
	}
	sink, ck, _ := pp.node("sink.alerts")
	lat.Rows, lat.Alerts, lat.Checkpoints = len(txs), len(latencies), ck.Completed
	if c := sink.Latency.Count(); c > 0 {
		lat.Path = sink.Latency.Sum / time.Duration(c)
	}
	pp.mu.Lock()
	lat.Steps = alertSteps(startStats, pp.stats)
	pp.mu.Unlock()
	if len(latencies) == 0 {
		return lat, errors.New("no alert was read")
	}
	q := func(ds []time.Duration, f float64) time.Duration {
		slices.Sort(ds)
		return ds[int(f*float64(len(ds)-1))]
	}
	lat.P50, lat.P99, lat.Max = q(latencies, 0.5), q(latencies, 0.99), latencies[len(latencies)-1]
	lat.Made = [2]time.Duration{q(made, 0.5), q(made, 0.99)}
	lat.Published = [2]time.Duration{q(published, 0.5), q(published, 0.99)}
	return lat, nil
}

// alertSteps is what each step took between two progress reports: the mean path of the
// latency markers that reached it, the mean hold of its rows for the watermark and its
// checkpoints' mean pause.
func alertSteps(from, to *engine.Stats) []AlertStep {
	var out []AlertStep
	for _, n := range to.Nodes {
		var was engine.NodeReport
		if from != nil {
			was, _ = from.Node(n.Name)
		}
		st := AlertStep{Name: n.Name}
		if l := n.Latency.Since(was.Latency); l.Count() > 0 {
			st.Path = l.Sum / time.Duration(l.Count())
		}
		if a := n.ReadAge.Since(was.ReadAge); a.Count() > 0 {
			st.ReadAge = a.Sum / time.Duration(a.Count())
		}
		if h := n.Hold.Since(was.Hold); h.Count() > 0 {
			st.Hold = h.Sum / time.Duration(h.Count())
		}
		if p := n.Pause.Since(was.Pause); p.Count() > 0 {
			st.Pause, st.Pauses = p.Sum/time.Duration(p.Count()), p.Count()
		}
		out = append(out, st)
	}
	return out
}

// quiet waits until the pipeline has settled (no node took or gave a row, and nothing was
// queued, over three progress reports) and the consumer has read as many alerts as the
// alert sink took. With exactly once per checkpoint, that waits for the next checkpoint's
// commit.
func quiet(ctx context.Context, pp *alertPipeline, caughtUp func(sunk int64) bool) error {
	last, same := int64(-1), 0
	for {
		pp.mu.Lock()
		st, next := pp.stats, pp.updated
		pp.mu.Unlock()
		var moved, sunk int64
		queued := 0
		for _, n := range st.Nodes {
			moved += n.RowsIn + n.RowsOut
			queued += n.Queued
			if n.Name == "sink.alerts" {
				sunk = n.RowsIn
			}
		}
		if moved == last && queued == 0 {
			same++
		} else {
			same = 0
		}
		last = moved
		if same >= 3 && caughtUp(sunk) {
			return nil
		}
		select {
		case <-next:
		case err := <-pp.done:
			pp.done <- err
			if err == nil {
				err = errors.New("the pipeline ended")
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// producePaced produces txs, each when its event time is due at rate transactions per
// second, and stores in sent when it was handed to the client.
func producePaced(ctx context.Context, cl *alertCluster, txs []alertTx, rate float64, sent []atomic.Int64) error {
	var failed atomic.Pointer[error]
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			failed.CompareAndSwap(nil, &err)
		}
	}
	// Event time runs speed times faster than the clock.
	span := txs[len(txs)-1].ts.Sub(txs[0].ts)
	speed := float64(span) / (float64(len(txs)) / rate * float64(time.Second))
	start := time.Now()
	for i := 0; i < len(txs); {
		due := start.Add(time.Duration(float64(txs[i].ts.Sub(txs[0].ts)) / speed))
		if wait := time.Until(due); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		now := time.Now()
		for ; i < len(txs) && !start.Add(time.Duration(float64(txs[i].ts.Sub(txs[0].ts))/speed)).After(now); i++ {
			sent[i].Store(time.Now().UnixNano())
			cl.prod.Produce(ctx, &kgo.Record{Value: txs[i].value}, promise)
		}
	}
	if err := cl.prod.Flush(ctx); err != nil {
		return err
	}
	if p := failed.Load(); p != nil {
		return fmt.Errorf("produce transactions: %w", *p)
	}
	return nil
}

// produceFlush produces to every partition a copy of last an hour of event time later.
func produceFlush(ctx context.Context, cl *alertCluster, last alertTx) error {
	var recs []*kgo.Record
	for p := range alertPartitions {
		var row map[string]any
		if err := json.Unmarshal(last.value, &row); err != nil {
			return err
		}
		row["tx_id"], row["ts"] = fmt.Sprintf("flush-%d", p), last.ts.Add(time.Hour).UnixMilli()
		v, err := json.Marshal(row)
		if err != nil {
			return err
		}
		recs = append(recs, &kgo.Record{Topic: "tx", Partition: int32(p), Value: v})
	}
	flusher, err := kgo.NewClient(kgo.SeedBrokers(cl.c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer flusher.Close()
	if err := flusher.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce the last transactions: %w", err)
	}
	return nil
}

package kafka_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/format"
	"millrace/gen"
	"millrace/job"
	"millrace/kafka/kafkatest"
	"millrace/plan"
	"millrace/spec"
)

// windowRecords is the number of transactions the topic of BenchmarkConsumeWindow holds.
const windowRecords = 200_000

// windowSpec reads the topic tx and counts and sums the transactions of each card per
// minute of event time.
const windowSpec = `
name: bench-window
sources:
  tx:
    kind: kafka
    brokers: ["${BROKERS}"]
    topic: tx
    schema: transaction
    event_time: ts
    watermark: 5s
views:
  per_card:
    from: tx
    group_by: [card_id]
    window: {tumble: 1m}
    select: {tx_count: count(*), spend: sum(amount)}
sinks:
  out: {from: per_card, kind: jsonl, path: "${OUT}/per_card"}
`

// transactionTopic starts a cluster whose 4-partition topic tx holds n generated
// transactions as JSON, one per record, spread round-robin.
func transactionTopic(b *testing.B, n int64) []string {
	b.Helper()
	brokers := kafkatest.Cluster(b, "tx", 4)
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Seed, cfg.Disorder = n, 1, 2*time.Second
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), cfg, &buf, format.JSONL, format.WriteOptions{}, nil); err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	recs := make([]*kgo.Record, len(lines))
	for i, l := range lines {
		recs[i] = &kgo.Record{Topic: "tx", Partition: int32(i % 4), Value: l}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	return brokers
}

// pipeline is a spec planned and run in process until told to stop.
type pipeline struct {
	stop chan struct{}
	once sync.Once
	done chan error
}

// startPipeline plans specText with vars at parallelism p and runs it, with checkpoints
// every interval under a temporary directory when interval is positive. When the engine's
// progress, reported every 5 ms, says its sources have read stopAt records (if positive),
// the pipeline stops gracefully.
func startPipeline(b *testing.B, specText string, vars map[string]string, p int, interval time.Duration, stopAt int64) *pipeline {
	b.Helper()
	s, err := spec.Parse([]byte(specText), "bench.yaml", func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		b.Fatal(err)
	}
	pl, err := plan.Build(s, plan.Options{Parallelism: p, Stdout: os.Stdout})
	if err != nil {
		b.Fatal(err)
	}
	pp := &pipeline{stop: make(chan struct{}), done: make(chan error, 1)}
	eng := engine.DefaultOptions()
	eng.Stop = pp.stop
	if stopAt > 0 {
		eng.ProgressEvery = 5 * time.Millisecond
		eng.Progress = func(st *engine.Stats) {
			var n int64
			for _, node := range st.Nodes {
				n += node.Read
			}
			if n >= stopAt {
				pp.once.Do(func() { close(pp.stop) })
			}
		}
	}
	opts := job.Options{Plan: pl, Engine: eng, Holder: "benchmark"}
	if interval > 0 {
		opts.Checkpoints = &job.Checkpointing{Dir: b.TempDir(), Interval: interval, Retain: 2, Fresh: true, Discard: true}
	}
	go func() { pp.done <- job.New(opts).Run(context.Background()) }()
	return pp
}

// close stops the pipeline gracefully and waits for its end.
func (pp *pipeline) close(b *testing.B) {
	b.Helper()
	pp.once.Do(func() { close(pp.stop) })
	if err := <-pp.done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkConsumeWindow reads a 4-partition topic of 200,000 transactions through a real
// plan, a Kafka source (consume, decode every column into Arrow batches) into a one-minute
// tumbling window counting and summing per card, at parallelism 1 and 2, stopping once every
// record is read; and, on the same topic, through a bare franz-go consumer loop that decodes
// each value with encoding/json into a struct. records/s is the metric to compare.
func BenchmarkConsumeWindow(b *testing.B) {
	brokers := transactionTopic(b, windowRecords)
	for _, p := range []int{1, 2} {
		b.Run(fmt.Sprintf("pipeline-p%d", p), func(b *testing.B) {
			for b.Loop() {
				pp := startPipeline(b, windowSpec, map[string]string{"BROKERS": brokers[0], "OUT": b.TempDir()}, p, 0, windowRecords)
				if err := <-pp.done; err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(windowRecords*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
	b.Run("bare", func(b *testing.B) { kafkatest.BareConsume(b, brokers, "tx", 4, windowRecords) })
}

// latencySpec filters records of the topic IN, each naming when it was produced (sent, in
// Unix nanoseconds), into the topic OUT with the delivery DELIVERY: a stateless pipeline.
const latencySpec = `
name: bench-latency
sources:
  tx:
    kind: kafka
    brokers: ["${BROKERS}"]
    topic: "${IN}"
    columns: {id: string, sent: int64, amount: int64}
views:
  kept:
    from: tx
    where: amount >= 100
    select: {id: id, sent: sent, amount: amount}
sinks:
  out: {from: kept, kind: kafka, brokers: ["${BROKERS}"], topic: "${OUT}", key: id, delivery: "${DELIVERY}"}
`

// latencyLoad is how long each run of BenchmarkEndToEndLatency produces records.
const latencyLoad = 3 * time.Second

// latencyValue is a record of the latency benchmark's input.
func latencyValue(id string, i int) []byte {
	return fmt.Appendf(nil, `{"id":%q,"sent":%d,"amount":%d}`, id, time.Now().UnixNano(), i%1000)
}

// latencyRun is one run of the latency pipeline over its own pair of topics.
type latencyRun struct {
	brokers []string
	in, out string
	prod    *kgo.Client
}

// newLatencyRun makes the topics name-in and name-out, of 2 partitions each, and a producer.
func newLatencyRun(b *testing.B, brokers []string, name string) *latencyRun {
	b.Helper()
	prod, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(name+"-in"), kgo.ProducerLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(prod.Close)
	for _, topic := range []string{name + "-in", name + "-out"} {
		if _, err := kadm.NewClient(prod).CreateTopic(context.Background(), 2, -1, nil, topic); err != nil {
			b.Fatal(err)
		}
	}
	return &latencyRun{brokers: brokers, in: name + "-in", out: name + "-out", prod: prod}
}

// vars are the latency spec's variables for the run and delivery.
func (r *latencyRun) vars(delivery string) map[string]string {
	return map[string]string{"BROKERS": r.brokers[0], "IN": r.in, "OUT": r.out, "DELIVERY": delivery}
}

// kept is how many of the first n records of the latency input the pipeline keeps: those
// whose amount, the record's number modulo 1000, is at least 100.
func kept(n int) int { return n/1000*900 + max(n%1000-100, 0) }

// pace produces records from to to-1 at rate per second, in the bursts due every
// millisecond (all at once when rate is 0), ids prefixed by prefix.
func (r *latencyRun) pace(b *testing.B, prefix string, from, to int, rate float64) {
	b.Helper()
	var mu sync.Mutex
	var failed error
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			failed = err
			mu.Unlock()
		}
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for i := from; i < to; {
		due := to
		if rate > 0 {
			due = min(from+int(time.Since(start).Seconds()*rate), to)
		}
		for ; i < due; i++ {
			r.prod.Produce(context.Background(), &kgo.Record{Value: latencyValue(fmt.Sprintf("%s%d", prefix, i), i)}, promise)
		}
		<-tick.C
	}
	if err := r.prod.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if failed != nil {
		b.Fatalf("produce to %s: %v", r.in, failed)
	}
}

// readCommitted consumes the output topic with read_committed from its start and hands
// every record's value and the time it was read to seen, until seen returns false.
func (r *latencyRun) readCommitted(b *testing.B, seen func(value []byte, at time.Time) bool) <-chan error {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.brokers...), kgo.ConsumeTopics(r.out), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(10*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for {
			fs := cl.PollFetches(ctx)
			at := time.Now()
			if err := fs.Err0(); err != nil {
				done <- fmt.Errorf("read %s: %w", r.out, err)
				return
			}
			for it := fs.RecordIter(); !it.Done(); {
				if !seen(it.Next().Value, at) {
					done <- nil
					return
				}
			}
		}
	}()
	return done
}

// measure runs the latency pipeline with delivery and checkpoint interval over a fresh pair
// of topics, waits until a first record has come through (every part is running), then
// produces n records at rate per second (as fast as the producer goes when rate is 0) and
// returns, once a read_committed consumer of the output has read every record kept, how
// long each took from its produce to that read, and how long the n records took from the
// first produce to the last read.
func measure(b *testing.B, brokers []string, name, delivery string, interval time.Duration, n int, rate float64) ([]time.Duration, time.Duration) {
	b.Helper()
	r := newLatencyRun(b, brokers, name)
	pp := startPipeline(b, latencySpec, r.vars(delivery), 0, interval, 0)
	defer pp.close(b)
	warm := r.readCommitted(b, func([]byte, time.Time) bool { return false })
	r.pace(b, "w", 100, 200, 1000) // amounts of 100 and more: kept
	if err := <-warm; err != nil {
		b.Fatal(err)
	}
	want := kept(n)
	var measured []time.Duration
	var last time.Time
	got := r.readCommitted(b, func(value []byte, at time.Time) bool {
		var row struct {
			ID   string `json:"id"`
			Sent int64  `json:"sent"`
		}
		if err := json.Unmarshal(value, &row); err != nil {
			b.Error(err)
			return false
		}
		if row.ID[0] == 'm' {
			measured = append(measured, at.Sub(time.Unix(0, row.Sent)))
			last = at
		}
		return len(measured) < want
	})
	began := time.Now()
	r.pace(b, "m", 0, n, rate)
	if err := <-got; err != nil {
		b.Fatal(err)
	}
	return measured, last.Sub(began)
}

// BenchmarkEndToEndLatency measures, for a stateless pipeline (a filter) from a Kafka topic
// into a Kafka sink, the time from producing a record to a read_committed consumer reading
// its output, at half the maximum rate. The maximum is measured first, on this machine as a
// whole (producer, broker, pipeline and consumer share its cores): 100,000 records produced
// as fast as the producer goes through the pipeline at least once, over the time until the
// consumer has read their output. Each variant then produces at half that for a few
// seconds: exactly once with a checkpoint every second and every 200 ms, and at least once.
// p50-ms and p99-ms are the latency's quantiles, records/s the rate produced.
func BenchmarkEndToEndLatency(b *testing.B) {
	brokers := kafkatest.Cluster(b, "", 0)
	const maxRecords = 100_000
	_, took := measure(b, brokers, "max", "at_least_once", time.Second, maxRecords, 0)
	maxRate := maxRecords / took.Seconds()
	for _, v := range []struct {
		name, delivery string
		interval       time.Duration
	}{
		{"exactly_once-1s", "exactly_once", time.Second},
		{"exactly_once-200ms", "exactly_once", 200 * time.Millisecond},
		{"at_least_once-1s", "at_least_once", time.Second},
	} {
		b.Run(v.name, func(b *testing.B) {
			rate := maxRate / 2
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				measured, _ := measure(b, brokers, fmt.Sprintf("lat-%s-%d", v.name, i), v.delivery, v.interval, int(rate*latencyLoad.Seconds()), rate)
				lat = append(lat, measured...)
			}
			slices.Sort(lat)
			q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))]) / float64(time.Millisecond) }
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(rate, "records/s")
			b.ReportMetric(maxRate, "max-records/s")
		})
	}
}

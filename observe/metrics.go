// Package observe makes a running pipeline visible: Prometheus metrics of every node and
// subtask, the topology with its bottleneck verdict, the ledger and recent dead letters as
// JSON, and a live dashboard, served over HTTP; for a worker of a cluster, every worker of
// the cluster too, and the one that holds it back. It reads the figures the engine keeps; it
// never slows the engine down, since it only reads them when asked.
package observe

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"millrace/engine"
	"millrace/op"
)

// metric describes one exported series family: a counter or a gauge whose value is read off
// a subtask's report, where it has one.
type metric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(r engine.NodeReport, now time.Time) (float64, bool)
	// sources marks figures exported for source nodes only.
	sources bool
}

// Collector exports a run's figures as Prometheus metrics, labelled by pipeline, node and
// subtask, read from its Monitor at every scrape.
type Collector struct {
	pipeline string
	monitor  *engine.Monitor
	sources  map[string]bool
	metrics  []metric
	latency  *prometheus.Desc
	// pause is how long checkpoints held each operator subtask while it took its part.
	pause *prometheus.Desc
	// readAge is how old each batch's oldest record was when a broker source read it.
	readAge *prometheus.Desc
	// hold is how long a step that keeps rows in event-time order held each for the watermark.
	hold *prometheus.Desc
	// Per pipeline: checkpoints completed and failed, and how long the newest took.
	completed, failed, duration *prometheus.Desc
	// Per source partition, for sources that know it: the consumer lag, and whether the
	// partition's reader cannot reach its broker.
	lag, unreachable *prometheus.Desc
}

// NewCollector returns a collector of the run that monitor watches; sources names the
// source nodes, whose ledger figures are exported too.
func NewCollector(pipeline string, monitor *engine.Monitor, sources []string) *Collector {
	labels := []string{"pipeline", "node", "subtask"}
	family := func(kind prometheus.ValueType, name, help string, value func(engine.NodeReport, time.Time) (float64, bool)) metric {
		return metric{desc: prometheus.NewDesc("millrace_"+name, help, labels, nil), kind: kind, value: value}
	}
	counter := func(name, help string, value func(engine.NodeReport) float64) metric {
		return family(prometheus.CounterValue, name, help, func(r engine.NodeReport, _ time.Time) (float64, bool) { return value(r), true })
	}
	ledger := func(name, help string, value func(engine.NodeReport) float64) metric {
		m := counter(name, help, value)
		m.sources = true
		return m
	}
	c := &Collector{pipeline: pipeline, monitor: monitor, sources: map[string]bool{},
		latency: prometheus.NewDesc("millrace_latency_seconds",
			"Time latency markers took from their source to a subtask: the ingest-to-here latency of the path, waiting in windows excluded.", labels, nil),
		pause: prometheus.NewDesc("millrace_checkpoint_pause_seconds",
			"Time each checkpoint held a subtask while it took its part of the state (the copy of a state encoded beside the subtask, or the whole snapshot), its input waiting meanwhile.", labels, nil),
		readAge: prometheus.NewDesc("millrace_source_read_age_seconds",
			"Age of each batch's oldest record when a broker source read it: the time from its produce (the broker's timestamp) to its read.", labels, nil),
		hold: prometheus.NewDesc("millrace_watermark_hold_seconds",
			"Time each row waited in a step that keeps rows in event-time order (features) until the watermark released it.", labels, nil)}
	pipelineOnly := []string{"pipeline"}
	c.completed = prometheus.NewDesc("millrace_checkpoints_completed_total", "Checkpoints made durable.", pipelineOnly, nil)
	c.failed = prometheus.NewDesc("millrace_checkpoints_failed_total", "Checkpoints that could not be written; the one before stays.", pipelineOnly, nil)
	c.duration = prometheus.NewDesc("millrace_checkpoint_duration_seconds", "Time from the newest checkpoint's trigger until it was durable.", pipelineOnly, nil)
	c.lag = prometheus.NewDesc("millrace_source_lag_records",
		"Records a source partition holds at its broker past the position read (a consumer's lag), for sources that know it.",
		[]string{"pipeline", "source", "partition"}, nil)
	c.unreachable = prometheus.NewDesc("millrace_source_unreachable",
		"1 while a broker source partition's reader cannot reach its broker (it waits and reconnects by itself), 0 while it can.",
		[]string{"pipeline", "source", "partition"}, nil)
	for _, s := range sources {
		c.sources[s] = true
	}
	c.metrics = []metric{
		counter("records_in_total", "Rows a subtask received.", func(r engine.NodeReport) float64 { return float64(r.RowsIn) }),
		counter("records_out_total", "Rows a subtask emitted.", func(r engine.NodeReport) float64 { return float64(r.RowsOut) }),
		counter("batches_in_total", "Batches a subtask received.", func(r engine.NodeReport) float64 { return float64(r.BatchesIn) }),
		counter("batches_out_total", "Batches a subtask emitted.", func(r engine.NodeReport) float64 { return float64(r.BatchesOut) }),
		counter("busy_seconds_total", "Time a subtask spent handling messages, blocked time included.", func(r engine.NodeReport) float64 { return r.Busy.Seconds() }),
		counter("backpressure_seconds_total", "Time a subtask spent blocked on a full downstream channel.", func(r engine.NodeReport) float64 { return r.Backpressure.Seconds() }),
		counter("idle_seconds_total", "Time a subtask spent waiting for input.", func(r engine.NodeReport) float64 { return r.Idle.Seconds() }),
		counter("filtered_records_total", "Rows an operator dropped: a where clause, an inner join's misses, having.", func(r engine.NodeReport) float64 { return float64(r.Dropped) }),
		counter("error_records_total", "Rows an operator sent to its view's errors: an expression failed on them, or a sum would overflow.", func(r engine.NodeReport) float64 { return float64(r.Errors) }),
		family(prometheus.GaugeValue, "input_queue_fill_ratio", "Share of a subtask's input channel holding messages.",
			func(r engine.NodeReport, _ time.Time) (float64, bool) {
				return float64(r.Queued) / float64(max(r.QueueCapacity, 1)), r.QueueCapacity > 0
			}),
		family(prometheus.GaugeValue, "watermark_lag_seconds", "How far a subtask's event-time watermark is behind the wall clock.",
			func(r engine.NodeReport, now time.Time) (float64, bool) {
				if r.Watermark == op.MinWatermark || r.Watermark == op.MaxWatermark {
					return 0, false
				}
				return max(now.Sub(time.UnixMilli(r.Watermark)).Seconds(), 0), true
			}),
		family(prometheus.GaugeValue, "state_bytes", "Estimated memory of a subtask's operator state.",
			func(r engine.NodeReport, _ time.Time) (float64, bool) { return float64(r.StateBytes), true }),
		ledger("source_read_records_total", "Records a source read: accepted, rejected or late.", func(r engine.NodeReport) float64 { return float64(r.Read) }),
		ledger("source_accepted_records_total", "Records a source passed on.", func(r engine.NodeReport) float64 { return float64(r.Accepted) }),
		ledger("source_dead_letters_total", "Records a source could not decode or that failed a check.", func(r engine.NodeReport) float64 { return float64(r.Rejected) }),
		ledger("source_late_records_total", "Records a source read behind its watermark.", func(r engine.NodeReport) float64 { return float64(r.Late) }),
		ledger("source_read_bytes_total", "Bytes of input a source read.", func(r engine.NodeReport) float64 { return float64(r.InputBytesRead) }),
		ledger("source_memory_pauses_total", "Times a source paused because the run's state was above the memory budget's high-water mark.",
			func(r engine.NodeReport) float64 { return float64(r.MemoryPauses) }),
	}
	backlog := family(prometheus.GaugeValue, "source_backlog_bytes", "Bytes of input a source has left, where it knows.",
		func(r engine.NodeReport, _ time.Time) (float64, bool) { b := r.Backlog(); return float64(b), b >= 0 })
	backlog.sources = true
	c.metrics = append(c.metrics, backlog)
	return c
}

// Describe sends the descriptions of every series family.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		ch <- m.desc
	}
	ch <- c.latency
	ch <- c.pause
	ch <- c.readAge
	ch <- c.hold
	ch <- c.completed
	ch <- c.failed
	ch <- c.duration
	ch <- c.lag
	ch <- c.unreachable
}

// Collect reads the run's figures and sends one sample per metric, node and subtask.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.monitor.Snapshot()
	if st == nil {
		return
	}
	cp := st.Checkpoints
	ch <- prometheus.MustNewConstMetric(c.completed, prometheus.CounterValue, float64(cp.Completed), c.pipeline)
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(cp.Failed), c.pipeline)
	if cp.Completed > 0 {
		ch <- prometheus.MustNewConstMetric(c.duration, prometheus.GaugeValue, cp.LastDuration.Seconds(), c.pipeline)
	}
	for _, n := range st.Nodes {
		for p, lag := range n.Lag {
			ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(lag), c.pipeline, n.Name, strconv.Itoa(p))
			if _, away := n.Unreachable[p]; !away {
				ch <- prometheus.MustNewConstMetric(c.unreachable, prometheus.GaugeValue, 0, c.pipeline, n.Name, strconv.Itoa(p))
			}
		}
		for p := range n.Unreachable {
			ch <- prometheus.MustNewConstMetric(c.unreachable, prometheus.GaugeValue, 1, c.pipeline, n.Name, strconv.Itoa(p))
		}
		for _, sub := range n.Subtasks {
			labels := []string{c.pipeline, n.Name, strconv.Itoa(sub.Subtask)}
			for _, m := range c.metrics {
				if m.sources && !c.sources[n.Name] {
					continue
				}
				if v, ok := m.value(sub, st.Taken); ok {
					ch <- prometheus.MustNewConstMetric(m.desc, m.kind, v, labels...)
				}
			}
			if c.sources[n.Name] {
				if age := sub.ReadAge; age.Count() > 0 {
					ch <- prometheus.MustNewConstHistogram(c.readAge, uint64(age.Count()), age.Sum.Seconds(), cumulative(age), labels...)
				}
				continue // markers start at sources
			}
			ch <- prometheus.MustNewConstHistogram(c.latency, uint64(sub.Latency.Count()), sub.Latency.Sum.Seconds(), cumulative(sub.Latency), labels...)
			ch <- prometheus.MustNewConstHistogram(c.pause, uint64(sub.Pause.Count()), sub.Pause.Sum.Seconds(), cumulative(sub.Pause), labels...)
			if hold := sub.Hold; hold.Count() > 0 {
				ch <- prometheus.MustNewConstHistogram(c.hold, uint64(hold.Count()), hold.Sum.Seconds(), cumulative(hold), labels...)
			}
		}
	}
}

// cumulative turns a histogram's bucket counts into Prometheus' cumulative ones, keyed by
// upper bound in seconds.
func cumulative(l engine.Latency) map[float64]uint64 {
	out := make(map[float64]uint64, len(engine.LatencyBounds))
	var n int64
	for i, b := range engine.LatencyBounds {
		if i < len(l.Counts) {
			n += l.Counts[i]
		}
		out[b.Seconds()] = uint64(n)
	}
	return out
}

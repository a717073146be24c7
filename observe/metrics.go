// Package observe makes a running pipeline visible: Prometheus metrics of every node and
// subtask, served over HTTP. It reads the figures the engine keeps; it never slows the
// engine down, since it only reads counters when scraped.
package observe

import (
	"github.com/prometheus/client_golang/prometheus"

	"millrace/engine"
)

// metric describes one exported series family.
type metric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(engine.NodeReport) float64
	// sources marks the ledger figures, exported for source nodes only.
	sources bool
}

// Collector exports a run's figures as Prometheus metrics, labelled by pipeline, node and
// subtask, read from its Monitor at every scrape.
type Collector struct {
	pipeline string
	monitor  *engine.Monitor
	sources  map[string]bool
	metrics  []metric
}

// NewCollector returns a collector of the run that monitor watches; sources names the
// source nodes, whose ledger figures are exported too.
func NewCollector(pipeline string, monitor *engine.Monitor, sources []string) *Collector {
	labels := []string{"pipeline", "node", "subtask"}
	counter := func(name, help string, value func(engine.NodeReport) float64) metric {
		return metric{desc: prometheus.NewDesc("millrace_"+name, help, labels, nil), kind: prometheus.CounterValue, value: value}
	}
	ledger := func(name, help string, value func(engine.NodeReport) float64) metric {
		m := counter(name, help, value)
		m.sources = true
		return m
	}
	c := &Collector{pipeline: pipeline, monitor: monitor, sources: map[string]bool{}}
	for _, s := range sources {
		c.sources[s] = true
	}
	c.metrics = []metric{
		counter("records_in_total", "Rows a subtask received.", func(r engine.NodeReport) float64 { return float64(r.RowsIn) }),
		counter("records_out_total", "Rows a subtask emitted.", func(r engine.NodeReport) float64 { return float64(r.RowsOut) }),
		counter("batches_in_total", "Batches a subtask received.", func(r engine.NodeReport) float64 { return float64(r.BatchesIn) }),
		counter("batches_out_total", "Batches a subtask emitted.", func(r engine.NodeReport) float64 { return float64(r.BatchesOut) }),
		counter("busy_seconds_total", "Time a subtask spent handling messages.", func(r engine.NodeReport) float64 { return r.Busy.Seconds() }),
		counter("backpressure_seconds_total", "Time a subtask spent blocked on a full downstream channel.", func(r engine.NodeReport) float64 { return r.Backpressure.Seconds() }),
		counter("filtered_records_total", "Rows an operator dropped: a where clause, an inner join's misses, having.", func(r engine.NodeReport) float64 { return float64(r.Dropped) }),
		ledger("source_read_records_total", "Records a source read: accepted, rejected or late.", func(r engine.NodeReport) float64 { return float64(r.Read) }),
		ledger("source_accepted_records_total", "Records a source passed on.", func(r engine.NodeReport) float64 { return float64(r.Accepted) }),
		ledger("source_dead_letters_total", "Records a source could not decode or that failed a check.", func(r engine.NodeReport) float64 { return float64(r.Rejected) }),
		ledger("source_late_records_total", "Records a source read behind its watermark.", func(r engine.NodeReport) float64 { return float64(r.Late) }),
	}
	return c
}

// Describe sends the descriptions of every series family.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		ch <- m.desc
	}
}

// Collect reads the run's figures and sends one sample per metric, node and subtask.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.monitor.Snapshot()
	if st == nil {
		return
	}
	for _, n := range st.Nodes {
		for _, sub := range n.Subtasks {
			for _, m := range c.metrics {
				if m.sources && !c.sources[n.Name] {
					continue
				}
				ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(sub), c.pipeline, n.Name, itoa(sub.Subtask))
			}
		}
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

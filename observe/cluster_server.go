package observe

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Cluster is what the server of a worker of a cluster shows beyond the worker's own run.
type Cluster struct {
	// Workers returns the latest view of every worker of the cluster, this one included. It
	// is called for every request of /api/topology, /api/cluster and /api/stream, and at
	// every scrape, so it must answer from memory.
	Workers func() []WorkerView
	// Rebalances, when set, exports the pauses of this worker's rebalances.
	Rebalances *Rebalances
}

// WithCluster makes the server show the whole cluster: /api/cluster (a ClusterView),
// the workers and the bottleneck worker of every step in /api/topology and its stream, a
// workers panel on the dashboard, and the metrics millrace_cluster_workers,
// millrace_owned_partitions and, with c.Rebalances, millrace_rebalance_seconds.
func WithCluster(c Cluster) Option {
	return func(sc *serverConfig) { sc.cluster = &c }
}

// rebalanceBuckets are the upper bounds, in seconds, of millrace_rebalance_seconds: a
// rebalance should take well under a second; past a minute something is wrong.
var rebalanceBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Rebalances measures the pauses of a worker's rebalances, from the moment its partitions
// were revoked (or assigned, for its first assignment) until it processes again, and
// exports them as the histogram millrace_rebalance_seconds. It is safe for concurrent use.
type Rebalances struct {
	hist prometheus.Histogram
}

// NewRebalances returns a Rebalances that has observed nothing.
func NewRebalances() *Rebalances {
	return &Rebalances{hist: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "millrace_rebalance_seconds",
		Help:    "Pauses of this worker's rebalances: from the revocation (or first assignment) of its partitions until it processes again.",
		Buckets: rebalanceBuckets,
	})}
}

// Observe records the pause of one rebalance.
func (r *Rebalances) Observe(pause time.Duration) { r.hist.Observe(pause.Seconds()) }

// clusterCollector exports the cluster's figures, read from its workers function at every
// scrape.
type clusterCollector struct {
	pipeline         string
	workers          func() []WorkerView
	live, partitions *prometheus.Desc
}

func newClusterCollector(pipeline string, workers func() []WorkerView) *clusterCollector {
	return &clusterCollector{pipeline: pipeline, workers: workers,
		live: prometheus.NewDesc("millrace_cluster_workers",
			"Workers of the cluster that publish their figures (stale ones are not counted).", []string{"pipeline"}, nil),
		partitions: prometheus.NewDesc("millrace_owned_partitions",
			"Partitions a worker of the cluster owns, of input and exchange topics, as it last published.", []string{"pipeline", "worker"}, nil),
	}
}

// Describe sends the descriptions of the cluster's series.
func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.live
	ch <- c.partitions
}

// Collect sends the number of live workers and each live worker's owned partitions.
func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	live := 0
	for _, w := range c.workers() {
		if w.Stale {
			continue
		}
		live++
		ch <- prometheus.MustNewConstMetric(c.partitions, prometheus.GaugeValue, float64(w.Partitions), c.pipeline, w.Worker)
	}
	ch <- prometheus.MustNewConstMetric(c.live, prometheus.GaugeValue, float64(live), c.pipeline)
}

// register adds the cluster's metrics to reg.
func (c *Cluster) register(reg prometheus.Registerer, pipeline string) error {
	if err := reg.Register(newClusterCollector(pipeline, c.Workers)); err != nil {
		return err
	}
	if c.Rebalances != nil {
		return prometheus.WrapRegistererWith(prometheus.Labels{"pipeline": pipeline}, reg).Register(c.Rebalances.hist)
	}
	return nil
}

// clusterHandler serves /api/cluster: every worker with the verdicts.
type clusterHandler struct{ workers func() []WorkerView }

func (h clusterHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, NewClusterView(h.workers()))
}

// withWorkers adds the cluster's workers to t, with the worker that holds the cluster back
// and, on each node, the worker that holds that step back.
func withWorkers(t Topology, workers []WorkerView) Topology {
	view := NewClusterView(workers)
	t.Workers, t.WorkerVerdict = view.Workers, &view.Verdict
	for i, n := range t.Nodes {
		if v, ok := view.Steps[n.ID]; ok {
			t.Nodes[i].BottleneckWorker = &v
		}
	}
	return t
}

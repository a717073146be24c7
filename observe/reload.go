package observe

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"millrace/reload"
)

// reloadCollector exports what the steps that reload a file (rules, models) report: how
// often a new version was loaded, how often one failed, and whether the latest failed.
type reloadCollector struct {
	pipeline                  string
	files                     []*reload.Status
	reloads, failures, failed *prometheus.Desc
}

func newReloadCollector(pipeline string, files []*reload.Status) *reloadCollector {
	labels := []string{"pipeline", "what", "path"}
	return &reloadCollector{pipeline: pipeline, files: files,
		reloads: prometheus.NewDesc("millrace_file_reloads_total",
			"New versions of a rules file or model loaded while the pipeline runs, summed over the subtasks that read it.", labels, nil),
		failures: prometheus.NewDesc("millrace_file_reload_failures_total",
			"Versions of a rules file or model that failed to load (each kept the version in use), summed over subtasks.", labels, nil),
		failed: prometheus.NewDesc("millrace_file_reload_failing",
			"1 while the newest version of a rules file or model fails to load and an older one is in use; /api/reloads says why.", labels, nil),
	}
}

func (c *reloadCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.reloads
	ch <- c.failures
	ch <- c.failed
}

func (c *reloadCollector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range c.files {
		failing := 0.0
		if f.LastError() != "" {
			failing = 1
		}
		ch <- prometheus.MustNewConstMetric(c.reloads, prometheus.CounterValue, float64(f.Reloads()), c.pipeline, f.What, f.Path)
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(f.Failures()), c.pipeline, f.What, f.Path)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, failing, c.pipeline, f.What, f.Path)
	}
}

// reloadsHandler serves /api/reloads: per file reloaded while the pipeline runs, the
// version in use and why the newest one failed, if it did.
type reloadsHandler struct{ files []*reload.Status }

// reloadJSON is one file of /api/reloads.
type reloadJSON struct {
	What     string `json:"what"`
	Path     string `json:"path"`
	Version  string `json:"version"`
	Reloads  int64  `json:"reloads"`
	Failures int64  `json:"failures"`
	Error    string `json:"error,omitempty"`
}

func (h reloadsHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	out := make([]reloadJSON, 0, len(h.files))
	for _, f := range h.files {
		out = append(out, reloadJSON{What: f.What, Path: f.Path, Version: f.Version(), Reloads: f.Reloads(), Failures: f.Failures(), Error: f.LastError()})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out) // the client went away
}

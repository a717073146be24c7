package observe

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"millrace/engine"
)

func TestMetricsOfARun(t *testing.T) {
	stats, families := runScraped(t, `
name: metrics
sources:
  tx: {kind: generator, rows: 20000, checks: ["amount > 5"]}
views:
  big: {from: tx, where: "amount > 100", select: {tx_id: tx_id}}
sinks:
  out: {from: big, kind: jsonl, path: OUT}
`)
	sum := func(name, node string) float64 {
		f, ok := families[name]
		if !ok {
			t.Fatalf("no metric %s", name)
		}
		if f.GetHelp() == "" || f.GetType() != dto.MetricType_COUNTER && f.GetType() != dto.MetricType_GAUGE {
			t.Fatalf("%s: help %q type %v", name, f.GetHelp(), f.GetType())
		}
		var v float64
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["pipeline"] != "metrics" || labels["subtask"] == "" {
				t.Fatalf("%s: labels %v", name, labels)
			}
			if labels["node"] == node {
				v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
		return v
	}
	src, _ := stats.Node("tx")
	view, _ := stats.Node("big")
	if got := sum("millrace_source_read_records_total", "tx"); got != 20000 {
		t.Errorf("read %v", got)
	}
	if got := sum("millrace_source_dead_letters_total", "tx"); got != float64(src.Rejected) || got == 0 {
		t.Errorf("dead letters %v, stats say %d", got, src.Rejected)
	}
	if got := sum("millrace_records_in_total", "big"); got != float64(view.RowsIn) {
		t.Errorf("view in %v, stats say %d", got, view.RowsIn)
	}
	if got := sum("millrace_filtered_records_total", "big"); got != float64(view.Dropped) || got == 0 {
		t.Errorf("filtered %v, stats say %d", got, view.Dropped)
	}
	if got := sum("millrace_records_in_total", "sink.out"); got != float64(view.RowsOut) {
		t.Errorf("sink in %v, view out %d", got, view.RowsOut)
	}
	if got := sum("millrace_idle_seconds_total", "sink.out"); got <= 0 {
		t.Errorf("the sink never waited: %v", got)
	}
	if got := sum("millrace_state_bytes", "big"); got != 0 {
		t.Errorf("a stateless view holds %v bytes", got)
	}
	if _, ok := families["millrace_source_backlog_bytes"]; ok {
		t.Error("a generator has no backlog to tell")
	}
	if f := families["millrace_checkpoints_completed_total"]; f == nil || f.GetMetric()[0].GetCounter().GetValue() != 0 {
		t.Errorf("a run without checkpoints: %v", f)
	}
	if _, ok := families["millrace_checkpoint_duration_seconds"]; ok {
		t.Error("a checkpoint duration without a checkpoint")
	}
	lat := families["millrace_latency_seconds"]
	if lat.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("latency: %v", lat)
	}
	for _, m := range lat.GetMetric() {
		h := m.GetHistogram()
		if b := h.GetBucket(); len(b) != len(engine.LatencyBounds)+1 || b[len(b)-1].GetCumulativeCount() > h.GetSampleCount() {
			t.Errorf("latency buckets %v of %d", b, h.GetSampleCount())
		}
	}
	pause := families["millrace_checkpoint_pause_seconds"]
	if pause.GetType() != dto.MetricType_HISTOGRAM || len(pause.GetMetric()) != len(lat.GetMetric()) {
		t.Fatalf("checkpoint pauses: %v", pause)
	}
	for _, m := range pause.GetMetric() {
		if h := m.GetHistogram(); h.GetSampleCount() != 0 || len(h.GetBucket()) != len(engine.LatencyBounds)+1 {
			t.Errorf("a run without checkpoints paused %d times: %v", h.GetSampleCount(), h.GetBucket())
		}
	}
	if _, ok := families["millrace_source_read_age_seconds"]; ok {
		t.Error("a generator's rows have an age at their read")
	}
	if _, ok := families["millrace_watermark_hold_seconds"]; ok {
		t.Error("a pipeline without features held rows for the watermark")
	}
	if _, ok := families["millrace_source_read_records_total"]; ok {
		for _, m := range families["millrace_source_read_records_total"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "node" && l.GetValue() != "tx" {
					t.Errorf("source figures exported for node %s", l.GetValue())
				}
			}
		}
	}
}

// runScraped runs the pipeline of text, its sink's path OUT replaced by a file of the test,
// at parallelism 2 with its metrics served, and returns its figures and what /metrics said
// after the run.
func runScraped(t *testing.T, text string) (*engine.Stats, map[string]*dto.MetricFamily) {
	t.Helper()
	text = strings.ReplaceAll(text, "OUT", filepath.Join(t.TempDir(), "out.jsonl"))
	p, srv, mon := servePlan(t, text, "metrics.yaml", nil, 2)
	opts := engine.DefaultOptions()
	opts.Monitor = mon
	stats, err := engine.Run(context.Background(), p.Graph, opts)
	if err != nil {
		t.Fatal(err)
	}
	body := get(t, srv, "/metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("metrics do not parse: %v\n%s", err, body)
	}
	return stats, families
}

// TestMetricsOfAFeaturesStep runs a features step, which holds each row until the watermark
// passes it: every row it took in is counted once in millrace_watermark_hold_seconds.
func TestMetricsOfAFeaturesStep(t *testing.T) {
	stats, families := runScraped(t, `
name: metrics
sources:
  tx: {kind: generator, rows: 5000}
views:
  card:
    from: tx
    over: {key: card_id, range: 10m}
    select: {card_count_10m: count(*)}
sinks:
  out: {from: card, kind: jsonl, path: OUT}
`)
	card, _ := stats.Node("card")
	hold := families["millrace_watermark_hold_seconds"]
	if hold.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("hold: %v", hold)
	}
	var held uint64
	for _, m := range hold.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "node" && l.GetValue() != "card" {
				t.Errorf("node %s held rows for the watermark", l.GetValue())
			}
		}
		held += m.GetHistogram().GetSampleCount()
	}
	if held == 0 || held != uint64(card.RowsIn) {
		t.Errorf("%d rows held for the watermark, the features step took in %d", held, card.RowsIn)
	}
}

// TestMetricsPassPromtool has promtool lint the exposition, where promtool is installed
// (CI installs it).
func TestMetricsPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed")
		}
		t.Skip("promtool is not installed")
	}
	p := testPlan(t)
	mon := &engine.Monitor{}
	opts := engine.DefaultOptions()
	opts.Monitor = mon
	if _, err := engine.Run(context.Background(), p.Graph, opts); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(p.Spec.Name, mon, []string{"tx"}))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(&text, f); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

package observe

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"millrace/engine"
	"millrace/plan"
	"millrace/spec"
)

func TestMetricsOfARun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "big.jsonl")
	text := `
name: metrics
sources:
  tx: {kind: generator, rows: 20000, checks: ["amount > 5"]}
views:
  big: {from: tx, where: "amount > 100", select: {tx_id: tx_id}}
sinks:
  out: {from: big, kind: jsonl, path: ` + out + `}
`
	s, err := spec.Parse([]byte(text), "metrics.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(s, plan.Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	mon := &engine.Monitor{}
	srv, err := Listen("127.0.0.1:0", p, mon)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	opts := engine.DefaultOptions()
	opts.Monitor = mon
	stats, err := engine.Run(context.Background(), p.Graph, opts)
	if err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("metrics do not parse: %v\n%s", err, body)
	}
	sum := func(name, node string) float64 {
		f, ok := families[name]
		if !ok {
			t.Fatalf("no metric %s", name)
		}
		if f.GetHelp() == "" || f.GetType() != dto.MetricType_COUNTER {
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
				v += m.GetCounter().GetValue()
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

package observe

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"millrace/engine"
)

// TestGrafanaDashboardUsesExportedMetrics checks that every metric the dashboard under
// deploy/grafana queries is one the collector exports.
func TestGrafanaDashboardUsesExportedMetrics(t *testing.T) {
	body, err := os.ReadFile("../deploy/grafana/millrace.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(body, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	exported := map[string]bool{}
	descs := make(chan *prometheus.Desc, 64)
	NewCollector("p", &engine.Monitor{}, nil).Describe(descs)
	close(descs)
	name := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for d := range descs {
		exported[name.FindStringSubmatch(d.String())[1]] = true
	}
	used := regexp.MustCompile(`millrace_[a-z_]+`)
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range used.FindAllString(tg.Expr, -1) {
				n++
				m = strings.TrimSuffix(m, "_bucket") // a histogram's series
				if !exported[m] {
					t.Errorf("panel %q queries %s, which is not exported (exported: %s)", p.Title, m, strings.Join(keys(exported), ", "))
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("the dashboard queries no millrace metric")
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

package observe

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"millrace/engine"
)

// get returns the body of a GET of path on srv.
func get(t *testing.T, srv *Server, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + srv.Addr() + path)
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
	return string(body)
}

// TestReloadStatus plans a pipeline with a rules file, breaks the file before the run, and
// checks that the run goes on with the rules the plan loaded and that /metrics and
// /api/reloads say the version in use and why the new one fails.
func TestReloadStatus(t *testing.T) {
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesFile, []byte("rules:\n  - {name: big, when: amount > 100, reason: big}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(`
name: reloads
sources:
  tx: {kind: generator, rows: 2000}
views:
  alerts: {from: tx, rules: {file: %s}}
sinks:
  out: {from: alerts, kind: jsonl, path: %s}
`, rulesFile, filepath.Join(dir, "out.jsonl"))
	p, srv, mon := servePlan(t, text, "reloads.yaml", nil, 1)
	if err := os.WriteFile(rulesFile, []byte("rules:\n  - {name: big, when: amont > 100, reason: big}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := engine.DefaultOptions()
	opts.Monitor = mon
	if _, err := engine.Run(t.Context(), p.Graph, opts); err != nil {
		t.Fatal(err)
	}
	metrics := get(t, srv, "/metrics")
	for _, want := range []string{
		fmt.Sprintf(`millrace_file_reload_failures_total{path=%q,pipeline="reloads",what="rules"} 1`, rulesFile),
		fmt.Sprintf(`millrace_file_reload_failing{path=%q,pipeline="reloads",what="rules"} 1`, rulesFile),
		fmt.Sprintf(`millrace_file_reloads_total{path=%q,pipeline="reloads",what="rules"} 0`, rulesFile),
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics)
		}
	}
	var files []reloadJSON
	if err := json.Unmarshal([]byte(get(t, srv, "/api/reloads")), &files); err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].What != "rules" || files[0].Version == "" || !strings.Contains(files[0].Error, `unknown column "amont"`) {
		t.Fatalf("/api/reloads: %+v", files)
	}
}

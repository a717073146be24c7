package agg

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// duckDB runs SQL with DuckDB (tools/duckdb, a Node package) and returns its rows, each
// decoded from the JSON object query.mjs prints. It fails the test, saying how to install
// what is missing, when node or the package is not there.
func duckDB(t *testing.T, sql string) []map[string]any {
	t.Helper()
	tool, err := filepath.Abs(filepath.Join("..", "tools", "duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: DuckDB's answers come from tools/duckdb, a Node package")
	}
	if _, err := os.Stat(filepath.Join(tool, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Fatalf("tools/duckdb/node_modules is missing: run `npm ci --prefix tools/duckdb`")
	}
	cmd := exec.Command(node, filepath.Join(tool, "query.mjs"), sql)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("duckdb %s: %v\n%s", sql, err, stderr.String())
	}
	var rows []map[string]any
	for line := range strings.Lines(string(out)) {
		var row map[string]any
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		if err := d.Decode(&row); err != nil {
			t.Fatalf("duckdb printed %q: %v", line, err)
		}
		rows = append(rows, row)
	}
	return rows
}

// Package duckdb runs SQL with DuckDB, from its Node package in this directory, so that
// tests can check millrace's files and answers against DuckDB's. The first query of a run
// installs the package (npm ci, from package-lock.json) when it is missing, under a lock, so
// test packages running at once install it once.
package duckdb

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// dir is this directory: the Node package and query.mjs.
func dir(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("duckdb: cannot tell where tools/duckdb is")
	}
	return filepath.Dir(file)
}

// Query runs sql and returns its rows, each decoded from the JSON object query.mjs prints
// (numbers as json.Number; decimals, timestamps and 64-bit integers as strings). A failure
// fails the test, with DuckDB's message.
func Query(t testing.TB, sql string) []map[string]any {
	t.Helper()
	node, script := install(t)
	cmd := exec.Command(node, script, sql)
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

// install makes sure node and the package are there, installing the package if it is not,
// and returns node's path and query.mjs's.
func install(t testing.TB) (node, script string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: DuckDB's answers come from tools/duckdb, a Node package")
	}
	d := dir(t)
	lock, err := os.OpenFile(filepath.Join(d, "node_modules.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "node_modules", "@duckdb", "node-api")); err != nil {
		cmd := exec.Command("npm", "ci", "--prefix", d, "--no-audit", "--no-fund", "--loglevel=error")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("install DuckDB's Node package (npm ci --prefix tools/duckdb): %v\n%s", err, out)
		}
	}
	return node, filepath.Join(d, "query.mjs")
}

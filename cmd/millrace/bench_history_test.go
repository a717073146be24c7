package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"millrace/bench"
)

// TestBenchHistoryRunsBothSidesOnTheSameFiles builds the DuckDB peer (cgo) from bench/peers,
// runs `bench history` on small inputs, and checks that every work has both sides' time,
// processor time and peak memory, and that both outputs' digests agree and count every
// input row.
func TestBenchHistoryRunsBothSidesOnTheSameFiles(t *testing.T) {
	dir := t.TempDir()
	peer := filepath.Join(dir, "duckdb-peer")
	build := exec.Command("go", "build", "-o", peer, ".")
	build.Dir = filepath.Join("..", "..", "bench", "peers")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the peer in bench/peers: %v\n%s", err, out)
	}
	t.Setenv(runMainEnv, "1") // the millrace processes are this test binary running main
	const rows = 20_000
	out := mustRun(t, "bench", "history", "--peer", peer, "--jsonl-rows", "20000", "--parquet-rows", "20000", "--seed", "3",
		"--dir", filepath.Join(dir, "work"), "--json")
	var results []bench.HistoryResult
	for line := range strings.Lines(out) {
		var r bench.HistoryResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		results = append(results, r)
	}
	var works []string
	for _, r := range results {
		works = append(works, r.Work)
		for side, s := range map[string]bench.Side{"millrace": r.Millrace, "DuckDB": r.DuckDB} {
			if s.Seconds <= 0 || s.CPUSeconds <= 0 || s.PeakRSS < 1<<20 {
				t.Errorf("%s: %s took %v s (%v s of CPU) and %d bytes at most", r.Work, side, s.Seconds, s.CPUSeconds, s.PeakRSS)
			}
		}
		if len(r.Differ) > 0 || len(r.Millrace.Digest) < 4 {
			t.Errorf("%s: digests differ on %q: millrace %v, DuckDB %v", r.Work, r.Differ, r.Millrace.Digest, r.DuckDB.Digest)
		}
		if r.Millrace.Digest["tx_count"] != "20000" || r.DuckDB.Digest["tx_count"] != "20000" {
			t.Errorf("%s: the outputs do not count the %d input rows: millrace %v, DuckDB %v", r.Work, rows, r.Millrace.Digest, r.DuckDB.Digest)
		}
	}
	if strings.Join(works, ",") != "decode,scan,windows,groups" {
		t.Fatalf("works %v", works)
	}
	if r := results[2]; r.Millrace.Digest["windows"] == "" || r.Millrace.Digest["windows"] == "0" {
		t.Errorf("windows: no window in the digest %v", r.Millrace.Digest)
	}
}

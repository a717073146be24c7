package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"millrace/engine"
)

// TestPebbleBackendRunsUnderABudgetItsWindowsOutgrow runs the card velocity example over
// 30,000 transactions twice: in memory with room to spare, and with --state-backend pebble
// under a 4 MiB budget, which stops the memory backend (its windows need about 10 MiB).
// The pebble run must finish with the same rows in every sink and leave --spill-dir empty.
func TestPebbleBackendRunsUnderABudgetItsWindowsOutgrow(t *testing.T) {
	dir, example := velocityUnderBudget(t)
	inMemory, onDisk, spill := filepath.Join(dir, "memory"), filepath.Join(dir, "pebble"), filepath.Join(dir, "spill")
	for _, d := range []string{inMemory, onDisk} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(inMemory)
	if said, err := runLogged(t, "run", example, "-p", "2", "--listen", "", "--memory-budget", "1GiB"); err != nil {
		t.Fatalf("memory backend: %v\n%s", err, said)
	}
	t.Chdir(t.TempDir())
	if _, err := runLogged(t, "run", example, "-p", "2", "--listen", "", "--memory-budget", "4MiB"); !errors.As(err, new(*engine.BudgetError)) {
		t.Fatalf("the memory backend under 4MiB ended with %v, want the budget's error", err)
	}
	t.Chdir(onDisk)
	if said, err := runLogged(t, "run", example, "-p", "2", "--listen", "", "--memory-budget", "4MiB",
		"--state-backend", "pebble", "--spill-dir", spill); err != nil {
		t.Fatalf("pebble backend under 4MiB: %v\n%s", err, said)
	}
	for _, sink := range []string{"velocity", "merchant_volume", "large.jsonl", "dead.jsonl", "late.jsonl"} {
		want, got := sinkRows(t, filepath.Join(inMemory, "out", sink)), sinkRows(t, filepath.Join(onDisk, "out", sink))
		if len(want) == 0 && sink != "late.jsonl" && sink != "dead.jsonl" {
			t.Fatalf("sink %s is empty: nothing to compare", sink)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("sink %s: the pebble backend wrote %d rows, the memory backend %d, and they differ", sink, len(got), len(want))
		}
	}
	if left, err := os.ReadDir(spill); err != nil || len(left) > 0 {
		t.Fatalf("--spill-dir %s holds %d entries after the run (%v)", spill, len(left), err)
	}
	if _, err := run(t, "run", example, "--state-backend", "rocksdb"); err == nil || !strings.Contains(err.Error(), `"rocksdb"`) {
		t.Errorf("--state-backend rocksdb: %v", err)
	}
	if _, err := run(t, "run", example, "--spill-above", "1MiB"); err == nil || !strings.Contains(err.Error(), "need --state-backend pebble") {
		t.Errorf("--spill-above without pebble: %v", err)
	}
}

// TestClusterMovesSpilledState runs cluster workers with the pebble backend and a threshold
// of one byte, so that every key group's window state is on disk between batches: the first
// worker is killed once half the output is committed, a third joins, and what the cluster
// committed equals what one process makes. The killed worker may leave its store behind;
// the workers that stopped cleanly removed theirs.
func TestClusterMovesSpilledState(t *testing.T) {
	f := newClusterFixture(t, 20_000, 4)
	f.produce(t, 1)
	f.expect(t)
	spill := map[string]string{}
	start := func(name string) *workerProc {
		spill[name] = t.TempDir()
		f.workerArgs = []string{"--state-backend", "pebble", "--spill-above", "1", "--spill-dir", spill[name]}
		return f.startWorker(t, name)
	}
	a, b := start("a"), start("b")
	f.waitCommitted(t, "got-large", len(f.wantLarge)/2, a, b)
	f.waitJoined(t, "a", "b")
	a.kill(t)
	c := start("c")
	f.waitCommitted(t, "got-large", len(f.wantLarge), b, c)
	f.waitCommitted(t, "got-velocity", len(f.wantVelocity), b, c)
	b.stop(t)
	c.stop(t)
	f.check(t)
	for name, most := range map[string]int{"a": 1, "b": 0, "c": 0} {
		left, err := os.ReadDir(spill[name])
		if err != nil {
			t.Fatal(err)
		}
		if len(left) > most {
			t.Errorf("worker %s left %d stores in its --spill-dir, want at most %d", name, len(left), most)
		}
	}
}

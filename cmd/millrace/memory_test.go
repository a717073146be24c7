package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"millrace/engine"
	"millrace/plan"
)

// TestRunStopsAboveTheMemoryBudget runs the card velocity example over 30,000 transactions
// under a budget its windows outgrow: the run must stop with the error that names the step,
// not hold on, and the flag must refuse a size it cannot read.
func TestRunStopsAboveTheMemoryBudget(t *testing.T) {
	dir, example := velocityUnderBudget(t)
	t.Chdir(dir)
	said, err := runLogged(t, "run", example, "-p", "1", "--listen", "", "--memory-budget", "1MiB")
	var be *engine.BudgetError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "above --memory-budget 1.0 MiB: raise it, shorten the window, or add parallelism") {
		t.Fatalf("run under 1MiB ended with %v, want the budget's error", err)
	}
	if strings.Contains(said, "restarting") {
		t.Errorf("a run over its budget was restarted, to outgrow it again:\n%s", said)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<20+1<<18 {
		t.Errorf("Go's soft memory limit is %d, want a quarter above the budget", got)
	}
	if _, err := run(t, "run", example, "--memory-budget", "lots"); err == nil || !strings.Contains(err.Error(), `--memory-budget: size "lots"`) {
		t.Errorf("--memory-budget lots: %v", err)
	}
}

// velocityUnderBudget writes 30,000 transactions where the card velocity example reads
// them and returns the directory and the example's path, with Go's own memory limit off
// for the test, so that only the run's budget bounds its state.
func velocityUnderBudget(t *testing.T) (dir, example string) {
	t.Helper()
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	dir = t.TempDir()
	mustRun(t, "gen", "--rows", "30000", "--out", filepath.Join(dir, "tx", "a.jsonl"))
	t.Setenv("TX_PATH", filepath.Join(dir, "tx", "*.jsonl"))
	example, err := filepath.Abs("../../examples/card-velocity.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return dir, example
}

// TestPaceCollector checks the collector's GOGC for runs with and without state per key, and
// that a GOGC from the environment is left as it is.
func TestPaceCollector(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(defaultGCPercent))
	t.Setenv("GOGC", "") // restored after the test
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	source := &plan.Step{Name: "tx", Kind: plan.KindSource}
	partial := &plan.Step{Name: "v.partial", Kind: plan.KindPartial, Inputs: []plan.Input{{From: "tx", Partitioning: engine.Forward.String()}}}
	keyed := &plan.Step{Name: "v", Kind: plan.KindWindowAggregate, Inputs: []plan.Input{{From: "v.partial", Partitioning: engine.Hash.String()}}}
	stateless := &plan.Plan{Steps: []*plan.Step{source, partial}}
	grouped := &plan.Plan{Steps: []*plan.Step{source, partial, keyed}}
	for _, tc := range []struct {
		name string
		p    *plan.Plan
		want int
	}{
		{"no state per key", stateless, leanGCPercent},
		{"grouped", grouped, defaultGCPercent},
		{"no state per key again", stateless, leanGCPercent},
	} {
		paceCollector(tc.p)
		if got := debug.SetGCPercent(defaultGCPercent); got != tc.want {
			t.Errorf("%s: GOGC %d, want %d", tc.name, got, tc.want)
		}
	}
	t.Setenv("GOGC", "300")
	debug.SetGCPercent(300)
	paceCollector(stateless)
	if got := debug.SetGCPercent(defaultGCPercent); got != 300 {
		t.Errorf("with GOGC=300 in the environment: GOGC %d, want 300", got)
	}
}

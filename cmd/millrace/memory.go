package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"millrace/engine"
	"millrace/memlimit"
	"millrace/plan"
)

// memoryBudgetFlag is --memory-budget of run and demo.
type memoryBudgetFlag struct{ value string }

func (m *memoryBudgetFlag) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&m.value, "memory-budget", "", fmt.Sprintf(
		"bytes of window and join state the run may hold, such as 4GiB; sources ahead pause above 3/4 of it and the run stops above it (default %.0f%% of the cgroup's memory limit, or of the machine's memory)",
		memlimit.DefaultShare*100))
}

// apply sets the budget in opts, from the flag or else from the memory the process may use,
// and sets Go's soft memory limit a quarter above it, so that the collector works harder
// before the process nears the real limit; sources ahead also pause while the live heap is
// above that limit.
func (m *memoryBudgetFlag) apply(opts *engine.Options) error {
	budget, err := m.budget()
	if err != nil {
		return err
	}
	opts.MemoryBudget, opts.MemoryHeapLimit = budget, budget+budget/4
	debug.SetMemoryLimit(opts.MemoryHeapLimit)
	return nil
}

// budget is the flag's value, or else the default share of the memory the process may use.
func (m *memoryBudgetFlag) budget() (int64, error) {
	if m.value != "" {
		b, err := memlimit.Parse(m.value)
		if err != nil {
			return 0, fmt.Errorf("--memory-budget: %w", err)
		}
		if b <= 0 {
			return 0, fmt.Errorf("--memory-budget: %q is no memory at all", m.value)
		}
		return b, nil
	}
	l, err := memlimit.Detect(os.DirFS("/"))
	if err != nil {
		return 0, fmt.Errorf("--memory-budget: no default: %w; set one", err)
	}
	return l.Budget(), nil
}

// leanGCPercent is the collector's GOGC for a run that keeps no state per key. Its live heap
// is then mostly the Arrow buffers of the batches in flight, which hold no pointers, so a
// collection costs little, and collecting at half Go's default growth cuts the heap's peak
// from about twice the live heap to one and a half times for no measurable processor time
// (docs/performance.md). State per key (maps, sketches) is what a collection must mark, so
// runs with it keep Go's default.
const leanGCPercent = 50

// defaultGCPercent is Go's GOGC when the environment does not set it.
const defaultGCPercent = 100

// paceCollector sets the collector's GOGC for a run of p: leanGCPercent when p keeps no state
// per key, else Go's default; it leaves a GOGC that the environment sets alone.
func paceCollector(p *plan.Plan) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	percent := defaultGCPercent
	if !p.HoldsKeyedState() {
		percent = leanGCPercent
	}
	debug.SetGCPercent(percent)
}

package main

import (
	"github.com/spf13/cobra"

	"millrace/memlimit"
	"millrace/plan"
)

// stateBackendFlags are run's --state-backend, --spill-dir and --spill-above.
type stateBackendFlags struct {
	backend, dir, above string
}

func (s *stateBackendFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.backend, "state-backend", string(plan.MemoryBackend), "where window aggregates keep their state: memory, or pebble to spill the windows that fire last to local disk")
	cmd.Flags().StringVar(&s.dir, "spill-dir", "", "directory under which --state-backend pebble keeps one store per subtask, removed when the run ends (default: the OS temp directory)")
	cmd.Flags().StringVar(&s.above, "spill-above", "", "bytes of window state --state-backend pebble holds in memory, such as 512MiB, shared by the subtasks (default half of --memory-budget)")
}

// apply sets the state backend in opts; the threshold defaults to half the memory budget,
// below the three quarters at which sources pause.
func (s *stateBackendFlags) apply(opts *plan.Options, mem *memoryBudgetFlag) error {
	backend, err := plan.ParseStateBackend(s.backend)
	if err != nil {
		return usagef("--state-backend: %v", err)
	}
	opts.StateBackend = backend
	if backend != plan.PebbleBackend {
		if s.dir != "" || s.above != "" {
			return usagef("--spill-dir and --spill-above need --state-backend pebble")
		}
		return nil
	}
	opts.SpillDir = s.dir
	if s.above != "" {
		if opts.SpillAbove, err = memlimit.Parse(s.above); err != nil {
			return usagef("--spill-above: %v", err)
		}
		if opts.SpillAbove <= 0 {
			return usagef("--spill-above %s: want a size above zero", s.above)
		}
		return nil
	}
	budget, err := mem.budget()
	if err != nil {
		return err
	}
	opts.SpillAbove = budget / 2
	return nil
}

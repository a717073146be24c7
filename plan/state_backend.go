package plan

import (
	"fmt"

	"millrace/engine"
	"millrace/op"
	"millrace/window"
)

// StateBackend is where window aggregates keep their open groups.
type StateBackend string

// The state backends.
const (
	// MemoryBackend keeps every group in memory (the default).
	MemoryBackend StateBackend = "memory"
	// PebbleBackend keeps the groups of tumbling and hopping windows in memory up to each
	// subtask's share of Options.SpillAbove and spills the windows that fire last to a
	// local pebble database under Options.SpillDir, by key group; windows are read back
	// when they fire and when a checkpoint is taken, whose snapshots are the memory
	// backend's. Session windows stay in memory.
	PebbleBackend StateBackend = "pebble"
)

// ParseStateBackend reads memory or pebble; empty is memory.
func ParseStateBackend(s string) (StateBackend, error) {
	switch StateBackend(s) {
	case "", MemoryBackend:
		return MemoryBackend, nil
	case PebbleBackend:
		return PebbleBackend, nil
	}
	return "", fmt.Errorf("state backend %q: want memory or pebble", s)
}

// spillConfig returns the spill settings of a window aggregate step of parallelism
// subtasks, nil when its groups stay in memory. Every such step shares one SpillConfig, whose
// threshold finishSpill sets once the plan knows how many subtasks share Options.SpillAbove.
func (b *builder) spillConfig(w window.Spec, parallelism int) *op.SpillConfig {
	if b.opts.StateBackend != PebbleBackend || w.Kind == window.Session {
		return nil
	}
	if b.spill == nil {
		b.spill = &op.SpillConfig{Dir: b.opts.SpillDir, KeyGroup: engine.KeyOwner(b.opts.KeyGroups, b.opts.KeyGroups),
			KeyGroups: b.opts.KeyGroups}
	}
	b.spillSubtasks += parallelism
	return b.spill
}

// finishSpill shares Options.SpillAbove among the subtasks of the steps that spill.
func (b *builder) finishSpill() {
	if b.spill != nil {
		b.spill.Above = max(b.opts.SpillAbove/int64(max(b.spillSubtasks, 1)), 1)
	}
}

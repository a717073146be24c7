// Package enginetest runs graphs the way tests of checkpoints and restores need: stopped at
// a checkpoint and resumed from it at another parallelism.
package enginetest

import (
	"context"
	"testing"
	"time"

	"millrace/engine"
)

// Stage is one run of a stop-and-resume series: its parallelism, and whether it takes its
// checkpoints by key group.
type Stage struct {
	P       int
	ByGroup bool
}

// RunResumed runs the graph build makes at each stage's parallelism, checkpointing every
// millisecond: each run but the last stops at its first checkpoint and the next resumes
// from it, and the last runs to the end of its input. The first run must stop before its
// end. A later one that reads to the end before its checkpoint to stop at (a busy machine
// reads fast between two checkpoints) ends the series there, its output complete. It
// returns the last checkpoint, which is final.
func RunResumed(t testing.TB, stages []Stage, build func(p int) *engine.Graph) *engine.Snapshot {
	t.Helper()
	var last *engine.Snapshot
	for i, st := range stages {
		stop := make(chan struct{})
		opts := engine.DefaultOptions()
		opts.Stop = stop
		stopAt := uint64(1)
		if last != nil {
			stopAt += last.ID
		}
		final := i == len(stages)-1
		opts.Checkpointing = &engine.Checkpointing{Interval: time.Millisecond, Restore: last, ByKeyGroup: st.ByGroup, Complete: func(s *engine.Snapshot) error {
			last = s
			if s.ID == stopAt && !final {
				close(stop)
			}
			return nil
		}}
		if _, err := engine.Run(context.Background(), build(st.P), opts); err != nil {
			t.Fatalf("run %d at parallelism %d: %v", i, st.P, err)
		}
		if !final && last.Final {
			if i == 0 {
				t.Fatalf("the first run, at parallelism %d, read to its end before checkpoint %d, so nothing resumed", st.P, stopAt)
			}
			t.Logf("the run at parallelism %d read to its end before checkpoint %d", st.P, stopAt)
			break
		}
	}
	if !last.Final {
		t.Fatal("the last run did not finish its input")
	}
	return last
}

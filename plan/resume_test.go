package plan

import (
	"context"
	"testing"
	"time"

	"millrace/engine"
)

// resumeStage is one run of a stop-and-resume test: its parallelism, and whether it takes
// its checkpoints by key group.
type resumeStage struct {
	p       int
	byGroup bool
}

// runResumed runs the plan build makes at each stage's parallelism, checkpointing every
// millisecond: each run but the last stops at its first checkpoint and the next resumes
// from it, and the last runs to the end of its input. The first run must stop before its
// end. A later one that reads to the end before its checkpoint to stop at (a busy machine
// reads fast between two checkpoints) ends the series there, its output complete. It
// returns the last checkpoint, which is final.
func runResumed(t *testing.T, stages []resumeStage, build func(p int) *Plan) *engine.Snapshot {
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
		opts.Checkpointing = &engine.Checkpointing{Interval: time.Millisecond, Restore: last, ByKeyGroup: st.byGroup, Complete: func(s *engine.Snapshot) error {
			last = s
			if s.ID == stopAt && !final {
				close(stop)
			}
			return nil
		}}
		if _, err := engine.Run(context.Background(), build(st.p).Graph, opts); err != nil {
			t.Fatalf("run %d at parallelism %d: %v", i, st.p, err)
		}
		if !final && last.Final {
			if i == 0 {
				t.Fatalf("the first run, at parallelism %d, read to its end before checkpoint %d, so nothing resumed", st.p, stopAt)
			}
			t.Logf("the run at parallelism %d read to its end before checkpoint %d", st.p, stopAt)
			break
		}
	}
	if !last.Final {
		t.Fatal("the last run did not finish its input")
	}
	return last
}

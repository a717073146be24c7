package main

import (
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"millrace/job"
)

// checkpointFlags are run's checkpoint options.
type checkpointFlags struct {
	dir        string
	off        bool
	interval   time.Duration
	retain     int
	fresh      bool
	resetViews []string
	restarts   job.Backoff
}

func (f *checkpointFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dir, "checkpoint", "", "directory of the pipeline's checkpoints (default ./.millrace/PIPELINE/); one run at a time holds it")
	cmd.Flags().BoolVar(&f.off, "no-checkpoint", false, "take no checkpoints: a crash loses the run, and sinks publish at the end")
	cmd.Flags().DurationVar(&f.interval, "checkpoint-interval", 10*time.Second, "time between checkpoints (e.g. 200ms, 10s)")
	cmd.Flags().IntVar(&f.retain, "checkpoint-retain", 2, "how many of the newest checkpoints to keep; the one before the newest is kept anyway, to fall back to if the newest is damaged")
	cmd.Flags().BoolVar(&f.fresh, "fresh", false, "start over: discard the checkpoints of an earlier run")
	cmd.Flags().StringSliceVar(&f.resetViews, "reset-view", nil, "resume with this view's state emptied (its open windows miss what was read before); repeat or comma-separate for several")
	cmd.Flags().IntVar(&f.restarts.Attempts, "restarts", 3, "how often a failed run starts again from its newest checkpoint")
	cmd.Flags().DurationVar(&f.restarts.Base, "restart-backoff", time.Second, "the wait before the first restart; it doubles with each")
	f.restarts.Max = 30 * time.Second
}

// check validates the flags.
func (f *checkpointFlags) check() error {
	switch {
	case f.off && (f.fresh || f.dir != "" || len(f.resetViews) > 0):
		return usagef("--no-checkpoint takes no --fresh, --checkpoint or --reset-view")
	case f.off:
		return nil
	case f.interval <= 0:
		return usagef("--checkpoint-interval %s: want a positive duration such as 10s", f.interval)
	case f.retain < 1:
		return usagef("--checkpoint-retain %d: keep at least 1", f.retain)
	case f.restarts.Attempts < 0 || f.restarts.Base <= 0:
		return usagef("--restarts %d --restart-backoff %s: want a count of 0 or more and a positive duration", f.restarts.Attempts, f.restarts.Base)
	}
	return nil
}

// checkpointing is the job's checkpoint configuration for a pipeline, nil with
// --no-checkpoint.
func (f *checkpointFlags) checkpointing(pipeline string) *job.Checkpointing {
	if f.off {
		return nil
	}
	dir := f.dir
	if dir == "" {
		dir = defaultCheckpointDir(pipeline)
	}
	return &job.Checkpointing{Dir: dir, Interval: f.interval, Retain: f.retain, Fresh: f.fresh, ResetViews: f.resetViews}
}

// defaultCheckpointDir is where run keeps a pipeline's checkpoints unless told otherwise.
func defaultCheckpointDir(pipeline string) string {
	return filepath.Join(".millrace", pipeline)
}

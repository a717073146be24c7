package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"millrace/engine"
	"millrace/plan"
	"millrace/scale"
)

// job runs a pipeline to its end as a series of engine runs. A run that fails starts again
// from the newest checkpoint, up to the restarts the checkpoint flags allow. With
// autoscaling, a run whose parallelism the advisor wants changed is stopped at a
// checkpoint, and the next goes on from it at the new parallelism, in this process: state
// moves with its key groups, and nothing is read or written twice.
type job struct {
	cmd *cobra.Command
	// plan is the pipeline at the parallelism it runs at; build plans it at another.
	plan  *plan.Plan
	build func(parallelism int) (*plan.Plan, error)
	cp    *checkpointFlags
	// advisor observes the runs; scaler, when autoscaling, decides when to change the
	// parallelism.
	advisor *scale.Advisor
	scaler  rescaler
	// opts are the options of every engine run; their Stop is the user's.
	opts engine.Options
	log  io.Writer
	// ran reports the ledger of the job so far after each engine run.
	ran func(ledger plan.Ledger)

	started time.Time
	before  plan.Ledger // of the runs before this one, each ended by a rescale
}

// ledger is the ledger of the job so far, given the figures of its current run.
func (j *job) ledger(st *engine.Stats) plan.Ledger { return j.before.Plus(j.plan.Ledger(st)) }

// run runs the job until its input ends or the user stops it.
func (j *job) run() error {
	ctx, userStop := j.cmd.Context(), j.opts.Stop
	j.started = time.Now()
	for attempt := 0; ; {
		chk, err := j.cp.open(j.cmd, j.plan, &j.opts, j.advisor) // resumes from the newest checkpoint
		j.cp.rescaling = false
		if err != nil {
			return err
		}
		opts := j.opts
		var rescaleTo func() (int, time.Time)
		opts.Stop, rescaleTo = j.segment(userStop)
		stats, err := engine.Run(ctx, j.plan.Graph, opts)
		to, asked := rescaleTo()
		total := j.before
		if stats != nil {
			total = j.ledger(stats)
			j.ran(total)
		}
		if err == nil && to != 0 && !stopped(userStop) && chk != nil && !chk.final {
			if j.plan, err = j.build(to); err != nil {
				return err
			}
			from := j.scaler.rescaled(to)
			j.before = total
			fmt.Fprintf(j.log, "%s: rescaled from %d to %d subtasks per step at checkpoint %d (stopping took %s); going on\n",
				time.Since(j.started).Round(time.Second), from, to, chk.last, time.Since(asked).Round(time.Millisecond))
			j.cp.fresh, j.cp.rescaling = false, true
			continue
		}
		if err == nil {
			return chk.finish(j.log)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted; unfinished files were not published")
		}
		if chk == nil || attempt >= j.cp.restarts.attempts || stopped(userStop) {
			return err
		}
		d := j.cp.restarts.delay(attempt)
		fmt.Fprintf(j.log, "run failed: %v\nrestarting from the newest checkpoint in %s (restart %d of %d)\n",
			err, d.Round(time.Millisecond), attempt+1, j.cp.restarts.attempts)
		if err := wait(ctx, d); err != nil {
			return fmt.Errorf("interrupted; unfinished files were not published")
		}
		j.cp.fresh = false
		attempt++
	}
}

// rescaler decides when a job changes its parallelism.
type rescaler interface {
	// want returns the parallelism to go to, or 0 to stay; it is asked every every().
	want() int
	every() time.Duration
	// rescaled says the job goes on at parallelism n from now on, and returns the one before.
	rescaled(n int) int
}

// segment returns the Stop of one engine run, closed when the user stops or the scaler
// asks for another parallelism, and a function to call once the run ended, which says the
// parallelism asked for (0 for none) and when.
func (j *job) segment(userStop <-chan struct{}) (<-chan struct{}, func() (int, time.Time)) {
	stop, ended, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	to, asked := 0, time.Time{}
	go func() {
		defer close(done)
		var tick <-chan time.Time
		if j.scaler != nil {
			t := time.NewTicker(j.scaler.every())
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-userStop:
				close(stop)
				return
			case <-tick:
				if to = j.scaler.want(); to != 0 {
					asked = time.Now()
					close(stop)
					return
				}
			case <-ended:
				return
			}
		}
	}()
	return stop, func() (int, time.Time) {
		close(ended)
		<-done
		return to, asked
	}
}

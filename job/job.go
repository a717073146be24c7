package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"millrace/engine"
	"millrace/plan"
	"millrace/scale"
)

// Options configure a job.
type Options struct {
	// Plan is the pipeline at the parallelism it starts at; Build plans it at another, for
	// rescaling.
	Plan  *plan.Plan
	Build func(parallelism int) (*plan.Plan, error)
	// Checkpoints, when set, makes the job exactly-once: see Checkpointing.
	Checkpoints *Checkpointing
	// Restarts says how often and how soon a failed run starts again from the newest
	// checkpoint; without checkpoints a failed run is not restarted.
	Restarts Backoff
	// Advisor, when set, observes the runs and keeps its history in the checkpoints;
	// Scaler, when set, decides when to change the parallelism.
	Advisor *scale.Advisor
	Scaler  Rescaler
	// Engine are the options of every engine run; their Stop is the user's graceful stop.
	Engine engine.Options
	// Log receives what the job tells its user: resuming, restarts, rescaling.
	Log io.Writer
	// Ran, when set, is given the ledger of the job so far after each engine run.
	Ran func(plan.Ledger)
	// Holder describes the job to a second run refused by its lock, such as the command
	// line.
	Holder string
}

// Checkpointing configures a job's checkpoints.
type Checkpointing struct {
	// Dir is the state directory: the checkpoints, and the lock that keeps a second run out.
	Dir      string
	Interval time.Duration
	// Retain is how many of the newest checkpoints are kept (at least 1).
	Retain int
	// Fresh discards the checkpoints of an earlier run and starts over.
	Fresh bool
	// ResetViews names views whose state is dropped when the run resumes: see PlanResume.
	ResetViews []string
	// Discard: the checkpoints serve this job only (to change its parallelism) and are
	// removed at its end.
	Discard bool
}

// Rescaler decides when a job changes its parallelism.
type Rescaler interface {
	// Want returns the parallelism to go to, or 0 to stay; it is asked every Every().
	Want() int
	Every() time.Duration
	// Rescaled says the job goes on at parallelism n from now on, and returns the one
	// before.
	Rescaled(n int) int
}

// ErrInterrupted is returned when the user aborted the job (a cancelled context) rather
// than stopping it gracefully.
var ErrInterrupted = errors.New("interrupted; unfinished files were not published")

// Job runs a pipeline to its end as a series of engine runs. A run that fails starts
// again from the newest checkpoint, up to Options.Restarts. With a Rescaler, a run whose
// parallelism it wants changed is stopped at a checkpoint, and the next goes on from it at
// the new parallelism in this process: state moves with its key groups, and nothing is
// read or written twice.
type Job struct {
	opts    Options
	plan    *plan.Plan
	started time.Time
	before  plan.Ledger // of the runs before this one, each ended by a rescale
}

// New returns a job; Run runs it.
func New(opts Options) *Job {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	return &Job{opts: opts, plan: opts.Plan, started: time.Now()}
}

// Plan is the plan the job runs now.
func (j *Job) Plan() *plan.Plan { return j.plan }

// Started is when the job was made.
func (j *Job) Started() time.Time { return j.started }

// Ledger is the ledger of the job so far, given the figures of its current run.
func (j *Job) Ledger(st *engine.Stats) plan.Ledger { return j.before.Plus(j.plan.Ledger(st)) }

// Run runs the job until its input ends or the user stops it: a graceful stop
// (Options.Engine.Stop) ends with a checkpoint to go on from; a cancelled ctx aborts and
// returns ErrInterrupted. It holds the state directory's lock from start to end.
func (j *Job) Run(ctx context.Context) (err error) {
	var chk *checkpoints
	if c := j.opts.Checkpoints; c != nil {
		lock, lerr := LockDir(c.Dir, j.opts.Holder)
		if lerr != nil {
			return lerr
		}
		defer func() { err = errors.Join(err, lock.Close()) }() // the named result
		if chk, err = openCheckpoints(c.Dir, c.Retain, j.opts.Log); err != nil {
			return err
		}
		chk.advisor, chk.discard = j.opts.Advisor, c.Discard
	}
	userStop := j.opts.Engine.Stop
	fresh, rescaling := j.opts.Checkpoints != nil && j.opts.Checkpoints.Fresh, false
	for attempt := 0; ; {
		opts := j.opts.Engine
		if chk != nil {
			snap, err := chk.resume(j.plan, fresh, rescaling, j.opts.Checkpoints.ResetViews)
			if err != nil {
				return err
			}
			opts.Checkpointing = &engine.Checkpointing{Interval: j.opts.Checkpoints.Interval, Restore: snap, Complete: chk.complete}
		}
		fresh, rescaling = false, false
		var rescaleTo func() (int, time.Time)
		opts.Stop, rescaleTo = j.segment(userStop)
		stats, err := engine.Run(ctx, j.plan.Graph, opts)
		to, asked := rescaleTo()
		total := j.before
		if stats != nil {
			total = j.Ledger(stats)
			if j.opts.Ran != nil {
				j.opts.Ran(total)
			}
		}
		if err == nil && to != 0 && !stopped(userStop) && chk != nil && !chk.final {
			if j.plan, err = j.opts.Build(to); err != nil {
				return err
			}
			from := j.opts.Scaler.Rescaled(to)
			j.before = total
			fmt.Fprintf(j.opts.Log, "%s: rescaled from %d to %d subtasks per step at checkpoint %d (stopping took %s); going on\n",
				time.Since(j.started).Round(time.Second), from, to, chk.last, time.Since(asked).Round(time.Millisecond))
			rescaling = true
			continue
		}
		if err == nil {
			return chk.finish(j.opts.Log)
		}
		if ctx.Err() != nil {
			return ErrInterrupted
		}
		if chk == nil || attempt >= j.opts.Restarts.Attempts || stopped(userStop) || !restartable(err) {
			return err
		}
		d := j.opts.Restarts.Delay(attempt)
		fmt.Fprintf(j.opts.Log, "run failed: %v\nrestarting from the newest checkpoint in %s (restart %d of %d)\n",
			err, d.Round(time.Millisecond), attempt+1, j.opts.Restarts.Attempts)
		if err := wait(ctx, d); err != nil {
			return ErrInterrupted
		}
		attempt++
	}
}

// restartable tells whether a failed run may do better from its checkpoint: not when its
// state outgrew the memory budget, as it would again.
func restartable(err error) bool {
	var budget *engine.BudgetError
	return !errors.As(err, &budget)
}

// segment returns the Stop of one engine run, closed when the user stops or the scaler
// asks for another parallelism, and a function to call once the run ended, which says the
// parallelism asked for (0 for none) and when.
func (j *Job) segment(userStop <-chan struct{}) (<-chan struct{}, func() (int, time.Time)) {
	stop, ended, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	to, asked := 0, time.Time{}
	go func() {
		defer close(done)
		var tick <-chan time.Time
		if j.opts.Scaler != nil {
			t := time.NewTicker(j.opts.Scaler.Every())
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-userStop:
				close(stop)
				return
			case <-tick:
				if to = j.opts.Scaler.Want(); to != 0 {
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

// stopped tells whether a graceful stop was asked for.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"millrace/engine"
	"millrace/job"
	"millrace/plan"
)

// scripted is a job.Rescaler that asks for each parallelism of a script in turn, once
// the run at the current one has read each rows: driven by rows read, not by time, so the
// input never ends before the script does.
type scripted struct {
	mu      sync.Mutex
	script  []int
	current int
	each    int64
	read    int64 // by the run at the current parallelism
	done    []int // the parallelisms gone to
}

func (s *scripted) Every() time.Duration { return 5 * time.Millisecond }

// progress records the rows the current run has read.
func (s *scripted) progress(read int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read = read
}

func (s *scripted) Want() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.script) == 0 || s.read < s.each {
		return 0
	}
	return s.script[0]
}

func (s *scripted) Rescaled(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := s.current
	s.current, s.read, s.script = n, 0, s.script[1:]
	s.done = append(s.done, n)
	return from
}

// TestLiveRescalingChangesNothing runs the resume spec over three files while the
// parallelism goes 1, 2, 3, 1 within the run, each change at a checkpoint once 50 000 more
// rows were read: the sources'
// partitions and the window's groups move, and every sink must hold exactly the rows of an
// uninterrupted run, with a ledger that reads every record once.
func TestLiveRescalingChangesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a pipeline for several seconds")
	}
	dir := t.TempDir()
	for i, f := range []string{"a", "b", "c"} {
		mustRun(t, "gen", "--rows", "300000", "--seed", strconv.Itoa(i+1), "--disorder", "2s", "--out", filepath.Join(dir, "tx", f+".jsonl"))
	}
	spec := filepath.Join(dir, "resume.yaml")
	writeResumeSpec(t, spec, "2s", "amount > 100")
	t.Setenv("TX", filepath.Join(dir, "tx", "*.jsonl"))
	t.Setenv("OUT", filepath.Join(dir, "want"))
	mustRun(t, "run", spec, "-p", "2", "--listen", "", "--no-checkpoint")
	t.Setenv("OUT", filepath.Join(dir, "got"))

	cmd := &cobra.Command{}
	cmd.SetContext(context.Background())
	var log bytes.Buffer
	cmd.SetErr(&log)
	build := func(n int) (*plan.Plan, error) { return buildPlan(cmd, spec, n, 3) }
	p, err := build(1)
	if err != nil {
		t.Fatal(err)
	}
	script := &scripted{script: []int{2, 3, 1}, current: 1, each: 50_000}
	var ledger plan.Ledger
	opts := job.Options{Plan: p, Build: build, Scaler: script, Log: &log, Engine: engine.DefaultOptions(),
		Checkpoints: &job.Checkpointing{Dir: filepath.Join(dir, "checkpoints"), Interval: 50 * time.Millisecond, Retain: 2},
		Ran:         func(l plan.Ledger) { ledger = l }}
	opts.Engine.ProgressEvery = time.Millisecond
	var j *job.Job
	opts.Engine.Progress = func(st *engine.Stats) { script.progress(j.Plan().Ledger(st).Sources[0].Read) }
	j = job.New(opts)
	if err := j.Run(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !slices.Equal(script.done, []int{2, 3, 1}) {
		t.Fatalf("the run went to parallelisms %v, want 2, 3 and 1 (it ended too soon?)\n%s", script.done, log.String())
	}
	for _, sink := range []string{"big.jsonl", "per_card"} {
		want, got := sinkRows(t, filepath.Join(dir, "want", sink)), sinkRows(t, filepath.Join(dir, "got", sink))
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s: %d rows rescaled live, %d at one parallelism; %s", sink, len(got), len(want), firstDifference(got, want))
		}
	}
	if !ledger.Balanced() || len(ledger.Sources) != 1 || ledger.Sources[0].Read != 900_000 {
		t.Errorf("the ledger of the rescaled run does not read every record once:\n%s", ledger)
	}
	noHidden(t, filepath.Join(dir, "got", "per_card"))
}

// noHidden fails if a sink left hidden files (unpublished, or of removed subtasks) in dir;
// the markers that claim a sink's path stay by design.
func noHidden(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && !strings.HasSuffix(d.Name(), ".millrace") {
			t.Errorf("left behind %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAdvisorConfigFollowsTheSpeed checks that the demo's advisor judges event time alike at
// any speed, within the clock's floors, and that autoscaling makes workers the parallelism.
func TestAdvisorConfigFollowsTheSpeed(t *testing.T) {
	live := advisorConfig(1, 4, autoscaleFlags{})
	if live.Step != 10*time.Second || live.Horizon != 10*time.Minute || live.Window != time.Minute || live.Season != 24*time.Hour ||
		live.Policy.Limits.ScaleDownWindow != 10*time.Minute || live.Workers != 0 || live.Acts || live.Policy.Limits.Min != 1 {
		t.Errorf("at speed 1: %+v", live)
	}
	fast := advisorConfig(60, 2, autoscaleFlags{on: true, min: 1, max: 3})
	lim := fast.Policy.Limits
	if fast.Step != time.Second || fast.Horizon != 10*time.Second || fast.Window != 10*time.Second || fast.Season != 24*time.Minute ||
		lim.ScaleDownWindow != 30*time.Second || lim.CatchUp != 10*time.Second || fast.ErrorMemory != 2*time.Minute ||
		fast.Startup != 2*time.Second || fast.SLOLag != time.Second {
		t.Errorf("at speed 60: %+v", fast)
	}
	if fast.Workers != 2 || !fast.Acts || lim.Min != 1 || lim.Max != 3 {
		t.Errorf("autoscaling: workers %d, acts %v, limits %d..%d", fast.Workers, fast.Acts, lim.Min, lim.Max)
	}
}

// TestAutoscaleFlagsAreChecked refuses what autoscaling cannot do, as usage errors.
func TestAutoscaleFlagsAreChecked(t *testing.T) {
	spec := "../../examples/card-velocity.yaml"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--autoscale", "--no-checkpoint"}, "it takes no --no-checkpoint"},
		{[]string{"--autoscale", "-p", "4", "--max-parallelism", "2"}, "-p 4 is outside --min-parallelism 1 and --max-parallelism 2"},
		{[]string{"--autoscale", "-p", "1", "--min-parallelism", "3", "--max-parallelism", "2"}, "want 1 <= min <= max <= 256"},
	} {
		_, err := runLogged(t, append([]string{"run", spec, "--listen", ""}, c.args...)...)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %v: %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
}

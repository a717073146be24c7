//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"millrace/cluster"
	"millrace/kafka"
	"millrace/objstore"
	"millrace/observe"
	"millrace/scale"
)

// The surge of TestClusterUpScalesBeforeASurge, in the generator's event time and in the
// clock's: the input runs surgeSpeed times faster than the clock, at surgeBase records/s of
// event time (300/s of the clock) before and after a surge ten times higher.
const (
	surgeSpeed = 20
	surgeBase  = 15
	// surgeBefore, surgeFor and surgeAfter are the event time before the surge, the surge's
	// and the time after it: 55 s, 30 s and 30 s of the clock.
	surgeBefore = 1100 * time.Second
	surgeFor    = 600 * time.Second
	surgeAfter  = 600 * time.Second
	// surgeLead is how long before the input's first record the workers start.
	surgeLead = 15 * time.Second
	// surgeCapacity is the input rate one worker is sized for: the cluster's advice needs
	// one worker for 300/s and three for the surge's 3000/s, at 70% utilisation.
	surgeCapacity = 1500
)

// TestClusterUpScalesBeforeASurge runs cluster up with --workers auto between 1 and 3 on a
// topic that a paced generator feeds with a surge, the cluster's advisor having seen that
// surge at the same time of its (shortened) day on the two days before. The advice asks
// for more workers from its forecast, and a worker started for it has joined and run after
// its first rebalance before the surge's first record is produced; after the surge's last
// record the workers are stopped again, down to one. Through every change, what the
// cluster commits to its Kafka and file sinks equals what a single process makes of the
// same input.
func TestClusterUpScalesBeforeASurge(t *testing.T) {
	if testing.Short() {
		t.Skip("a surge paced at 20 times the clock takes three minutes")
	}
	f := newSurgeFixture(t)
	state := filepath.Join(f.dir, "state")
	adv := adviceFlags{speed: surgeSpeed, capacity: surgeCapacity, model: "auto"}
	cfg, err := adv.config([]string{"tx"})
	if err != nil {
		t.Fatal(err)
	}
	// Today's surge comes surgeLead + surgeBefore/speed from now; the history has had it
	// at the same time of the two days before.
	surgeAt := time.Now().Add(surgeLead + surgeBefore/surgeSpeed)
	model := writeSurgeHistory(t, state, "ctest", cfg, surgeAt, surgeFor/surgeSpeed)
	t.Logf("the advisor's history holds two days with a surge; its model: %s", model)

	u := startUp(t, f.spec, "--brokers", f.brokers[0], "--workers", "auto", "--min", "1", "--max", "3",
		"--cooldown", "5s", "--listen", "", "--state", "file://"+state, "--",
		"--checkpoint-interval", "500ms", "--advice-speed", strconv.Itoa(surgeSpeed),
		"--advice-capacity", strconv.Itoa(surgeCapacity))
	u.out.waitMatch(t, regexp.MustCompile(`\[w1\] .*msg=running`), u.done)

	fed := make(chan error, 1)
	go func() { fed <- f.producePaced(surgeAt, u.out) }()
	// Back to one worker: two stopped after the surge.
	u.out.waitMatch(t, regexp.MustCompile(`(?m)^cluster up: stopped w\d, 1 workers: `), u.done)
	if err := <-fed; err != nil {
		t.Fatal(err)
	}
	f.produced = len(f.lines)
	f.expect(t)
	f.waitCommitted(t, "got-velocity", len(f.wantVelocity))
	f.waitCommitted(t, "got-large", len(f.wantLarge))
	out := u.interrupt(t)
	t.Logf("cluster up and its workers:\n%s", out)
	f.check(t)
	checkSurgeOrder(t, out)
}

// checkSurgeOrder checks, in cluster up's output with the producer's marks, that the first
// change of the worker count came from the forecast and started workers that ran before
// the surge's first record was produced, and that workers were stopped only after its last.
func checkSurgeOrder(t *testing.T, out string) {
	t.Helper()
	first, last := strings.Index(out, surgeFirstMark), strings.Index(out, surgeLastMark)
	if first < 0 || last < 0 {
		t.Fatalf("the producer's marks are missing from the output")
	}
	changes := regexp.MustCompile(`(?m)^cluster up: (started|stopped) (w\d(?:, w\d)*), (\d) workers: (.*)$`).FindAllStringSubmatchIndex(out, -1)
	if len(changes) < 3 {
		t.Fatalf("cluster up made %d changes, want w1 started, workers started for the surge and stopped after it", len(changes))
	}
	// changes[0] starts w1 for --min.
	up := changes[1]
	verb, ids, reason := out[up[2]:up[3]], strings.Split(out[up[4]:up[5]], ", "), out[up[8]:up[9]]
	if verb != "started" || !strings.HasPrefix(reason, "scale up 1→") || !strings.Contains(reason, "forecast") || !strings.Contains(reason, "model profile") {
		t.Fatalf("the first change after w1 is %q of %v: %s; want workers started for the profile's forecast", verb, ids, reason)
	}
	if up[0] > first {
		t.Errorf("workers were started for the surge only after its first record was produced")
	}
	for _, id := range ids {
		ran := regexp.MustCompile(`\[` + id + `\] .*msg=running`).FindStringIndex(out)
		switch {
		case ran == nil:
			t.Errorf("worker %s, started for the surge, never ran", id)
		case ran[0] > first:
			t.Errorf("worker %s, started for the surge, ran after its first rebalance only after the surge's first record was produced", id)
		}
	}
	stops := 0
	for _, c := range changes[2:] {
		if out[c[2]:c[3]] != "stopped" {
			continue // a surge measured above what was remembered may start more
		}
		stops++
		if c[0] < last {
			t.Errorf("cluster up stopped a worker before the surge's last record was produced: %s", out[c[0]:c[1]])
		}
	}
	if stops == 0 {
		t.Errorf("no worker was stopped after the surge")
	}
}

// The producer's marks in cluster up's output, after the time they were made.
const (
	surgeFirstMark = "the surge's first record is produced\n"
	surgeLastMark  = "the surge's last record is produced\n"
)

// newSurgeFixture generates the surge's transactions in event time and runs the single
// process's reference over them.
func newSurgeFixture(t *testing.T) *clusterFixture {
	t.Helper()
	f := &clusterFixture{dir: t.TempDir()}
	f.brokers, f.groups = newWatchedCluster(t, "tx", 4)
	txFile := filepath.Join(f.dir, "tx.jsonl")
	mustRun(t, "gen", "--seed", "5", "--flat", "--rate", strconv.Itoa(surgeBase), "--start", "2024-01-01T00:00:00Z",
		"--duration", (surgeBefore + surgeFor + surgeAfter).String(),
		"--surge", fmt.Sprintf("+%vx10/%v", surgeBefore, surgeFor), "--out", txFile)
	f.lines = splitLines(readFile(t, txFile))
	f.writeSpecs(t, "kind: file\n    path: ${TX}", "kind: kafka\n    brokers: [\"${BROKERS}\"]\n    topic: tx\n    start: earliest")
	t.Setenv("TX", txFile)
	f.reference(t)
	return f
}

// surgeStart is the event time of the surge's first record.
var surgeStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(surgeBefore)

// producePaced produces the fixture's transactions to the topic tx as the clock reaches
// each one's event time at surgeSpeed times the clock, the surge's start coming at surgeAt,
// and writes a mark to marks as it produces the surge's first record and after its last.
func (f *clusterFixture) producePaced(surgeAt time.Time, marks *lockedBuffer) error {
	w, err := kafka.NewLineWriter(context.Background(), kafka.Conn{Brokers: f.brokers}, "tx", "card_id")
	if err != nil {
		return err
	}
	surgeEnd := surgeStart.Add(surgeFor)
	in, after := false, false
	for i, l := range f.lines {
		var row struct {
			TS time.Time `json:"ts"`
		}
		if err := json.Unmarshal(l, &row); err != nil {
			_ = w.Close()
			return fmt.Errorf("line %d: %w", i+1, err)
		}
		due := surgeAt.Add(row.TS.Sub(surgeStart) / surgeSpeed)
		if wait := time.Until(due); wait > 0 {
			<-time.After(wait) // the pace of the input in simulated time, not a wait for the cluster
		}
		switch {
		case !in && !row.TS.Before(surgeStart):
			in = true
			_, _ = marks.Write([]byte(time.Now().Format(time.TimeOnly+".000 ") + surgeFirstMark))
		case in && !after && !row.TS.Before(surgeEnd):
			after = true
			_, _ = marks.Write([]byte(time.Now().Format(time.TimeOnly+".000 ") + surgeLastMark))
		}
		if _, err := w.Write(l); err != nil {
			_ = w.Close()
			return err
		}
	}
	return w.Close()
}

// writeSurgeHistory writes to the cluster's state store (a directory) the history of an
// advisor configured as cfg that observed pipeline's cluster of one worker on the two days
// before (days of the advisor's season): the input at surgeBase records/s of event time,
// and surgeFor of ten times that from the time of day of surgeAt, up to now. The worker
// that decides first loads it. It returns the model the advisor forecasts with at the end.
func writeSurgeHistory(t *testing.T, dir, pipeline string, cfg scale.AdvisorConfig, surgeAt time.Time, surgeFor time.Duration) string {
	t.Helper()
	adv, err := scale.NewAdvisor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := float64(surgeBase * surgeSpeed)
	meter := &cluster.LoadMeter{}
	observations := 0
	now := time.Now()
	var last scale.Advice
	for at := surgeAt.Add(-2*cfg.Season - 5*time.Minute); at.Before(now); at = at.Add(cfg.Step) {
		rate := base
		if phase := (at.Sub(surgeAt)%cfg.Season + cfg.Season) % cfg.Season; phase < surgeFor {
			rate *= 10
		}
		ws := []cluster.WorkerStatus{{Worker: "w1", Pipeline: pipeline, Updated: at,
			Steps: []observe.StepFigures{{Step: "tx", Kind: "source", Subtasks: 1, InRate: rate}}}}
		adv.SetWorkers(cluster.Live(ws))
		last = adv.Observe(at, meter.Add(at, ws))
		observations++
	}
	if last.Model != scale.ModelProfile.String() || last.DesiredWorkers != 1 {
		t.Fatalf("the history's last advice: model %s, %d workers (%s); want the profile and one worker", last.Model, last.DesiredWorkers, last.Reason)
	}
	store, err := objstore.Open(context.Background(), "file://"+dir, objstore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close() }() // a directory store holds nothing to release
	if err := cluster.StoreAdvisor(context.Background(), store, pipeline, adv, observations); err != nil {
		t.Fatal(err)
	}
	return last.Model + ": " + last.Reason
}

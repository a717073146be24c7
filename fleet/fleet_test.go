//go:build unix

package fleet

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// workerEnv makes the test binary a worker: it says its id and slot, then waits for
// SIGTERM and says it leaves, or with FLEET_TEST_FAIL set ends at once with status 3.
const workerEnv = "FLEET_TEST_WORKER"

func TestMain(m *testing.M) {
	if id := os.Getenv(workerEnv); id != "" {
		if os.Getenv("FLEET_TEST_FAIL") != "" {
			fmt.Println("failing")
			os.Exit(3)
		}
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM)
		fmt.Printf("worker %s in slot %s\n", id, os.Args[1])
		fmt.Fprint(os.Stderr, "no newline before ")
		<-sigs
		fmt.Fprintln(os.Stderr, "leaving")
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// syncBuffer is an io.Writer whose contents can be read while workers write.
type syncBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

// waitFor waits until the output holds line n times.
func (s *syncBuffer) waitFor(line string, n int) {
	for {
		s.mu.Lock()
		if strings.Count(s.b.String(), line+"\n") >= n {
			s.mu.Unlock()
			return
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		<-ch
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFleetStartsAndStopsWorkers starts three worker processes, stops the newest
// gracefully, starts one again in the slot it freed, and stops all: every worker's lines
// come whole with its id, and each one stopped ran until SIGTERM.
func TestFleetStartsAndStopsWorkers(t *testing.T) {
	out := &syncBuffer{}
	f := New(Options{Path: os.Args[0], Output: out, Env: append(os.Environ(), workerEnv+"=1"),
		Args: func(worker string, slot int) []string { return []string{fmt.Sprint(slot)} }})
	ids, err := f.Start(3)
	if err != nil || !slices.Equal(ids, []string{"w1", "w2", "w3"}) {
		t.Fatalf("started %v, %v", ids, err)
	}
	// A worker is stopped once it listens for SIGTERM, as millrace's workers do from
	// their start.
	out.waitFor("[w1] worker 1 in slot 0", 1)
	out.waitFor("[w2] worker 1 in slot 1", 1)
	out.waitFor("[w3] worker 1 in slot 2", 1)
	stopped, err := f.Stop(context.Background(), 1)
	if err != nil || !slices.Equal(stopped, []string{"w3"}) {
		t.Fatalf("stopped %v, %v", stopped, err)
	}
	if got := f.Running(); !slices.Equal(got, []string{"w1", "w2"}) {
		t.Fatalf("running %v after stopping w3", got)
	}
	if ids, err := f.Start(1); err != nil || !slices.Equal(ids, []string{"w3"}) {
		t.Fatalf("started %v in the freed slot, %v", ids, err)
	}
	out.waitFor("[w3] worker 1 in slot 2", 2)
	if err := f.StopAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.Running(); len(got) != 0 {
		t.Fatalf("running %v after StopAll", got)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	count := map[string]int{}
	for _, l := range lines {
		count[l]++
	}
	// w3 ran twice; every worker said its slot and left on SIGTERM.
	for _, want := range []struct {
		line string
		n    int
	}{{"[w1] worker 1 in slot 0", 1}, {"[w2] worker 1 in slot 1", 1}, {"[w3] worker 1 in slot 2", 2},
		{"[w1] no newline before leaving", 1}, {"[w3] no newline before leaving", 2}} {
		if count[want.line] != want.n {
			t.Errorf("%q %d times, want %d, in:\n%s", want.line, count[want.line], want.n, out.String())
		}
	}
	select {
	case e := <-f.Ended():
		t.Errorf("worker %s said to have ended by itself: %v", e.Worker, e.Err)
	default:
	}
}

// TestFleetReportsAWorkerThatEnds starts a worker that fails at once: Ended tells it with
// its exit status.
func TestFleetReportsAWorkerThatEnds(t *testing.T) {
	out := &syncBuffer{}
	f := New(Options{Path: os.Args[0], Output: out, Env: append(os.Environ(), workerEnv+"=1", "FLEET_TEST_FAIL=1"),
		Args: func(string, int) []string { return []string{"0"} }})
	if _, err := f.Start(1); err != nil {
		t.Fatal(err)
	}
	e := <-f.Ended()
	if e.Worker != "w1" || e.Err == nil || !strings.Contains(e.Err.Error(), "exit status 3") {
		t.Errorf("ended: %+v, want w1 with exit status 3", e)
	}
	if err := f.StopAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "[w1] failing\n") {
		t.Errorf("output %q lacks the worker's line", out.String())
	}
}

package engine

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/op"
)

// capturingSum is a sumByKey that captures its snapshot: the copy is taken at the barrier,
// and the encoding of checkpoint 1's copy waits until the operator has handled a batch or
// a watermark after that barrier, which it can only do while the encoding runs beside it.
type capturingSum struct {
	sumByKey
	mu       sync.Mutex
	after    chan struct{} // closed at the first batch or watermark after checkpoint 1's capture
	captured bool
	fail     error // what every encoding returns, when set
	// beside says, per checkpoint, whether its encoding saw the operator go on.
	beside map[uint64]bool
}

func newCapturingSum() *capturingSum {
	return &capturingSum{after: make(chan struct{}), beside: map[uint64]bool{}}
}

func (s *capturingSum) Process(in int, rec arrow.RecordBatch, out op.Collector) error {
	s.wentOn()
	return s.sumByKey.Process(in, rec, out)
}

func (s *capturingSum) OnWatermark(wm int64, out op.Collector) error {
	s.wentOn()
	return s.sumByKey.OnWatermark(wm, out)
}

// wentOn notes that the operator handled a message, after checkpoint 1's capture or not.
func (s *capturingSum) wentOn() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.captured {
		s.captured = false
		close(s.after)
	}
}

func (s *capturingSum) CaptureSnapshot(id uint64) (func() ([]byte, error), error) {
	sums := maps.Clone(s.sums)
	first := false
	s.mu.Lock()
	if id == 1 && s.fail == nil {
		s.captured, first = true, true
	}
	s.mu.Unlock()
	return func() ([]byte, error) {
		if first {
			// A guard, not a measure: an engine that encoded on the operator's goroutine
			// would wait here for ever.
			select {
			case <-s.after:
				s.mu.Lock()
				s.beside[id] = true
				s.mu.Unlock()
			case <-time.After(time.Minute):
			}
		}
		if s.fail != nil {
			return nil, s.fail
		}
		return json.Marshal(sums)
	}, nil
}

// captureGraph is checkpointGraph with the keyed sum's subtasks made by sum.
func captureGraph(n int64, d *disk, sum func(int) *capturingSum) *Graph {
	g := scaledGraph(n, d, 2)
	g.Nodes[1].Operator = func(i int) (op.Operator, error) { return sum(i), nil }
	return g
}

// TestCapturedSnapshotsEncodeBesideTheOperator checks that an op.Capturer's part of a
// checkpoint is encoded while the operator handles the rows after the barrier, that the
// checkpoint holds what was captured at the barrier (a run resumed from it after a crash
// publishes every value exactly once), and that the subtask's pauses are counted.
func TestCapturedSnapshotsEncodeBesideTheOperator(t *testing.T) {
	const n = 20000
	var mu sync.Mutex
	var sums []*capturingSum
	make := func(int) *capturingSum {
		mu.Lock()
		defer mu.Unlock()
		s := newCapturingSum()
		sums = append(sums, s)
		return s
	}
	d := newDisk()
	var last *Snapshot
	ctx, crash := context.WithCancel(context.Background())
	defer crash()
	opts := DefaultOptions()
	opts.Checkpointing = &Checkpointing{Interval: 5 * time.Millisecond, Complete: func(s *Snapshot) error {
		last = s
		if s.ID == 2 {
			crash()
		}
		return nil
	}}
	st, err := Run(ctx, captureGraph(n, d, make), opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("crash after checkpoint 2: %v", err)
	}
	if last == nil || last.ID != 2 || last.Last {
		t.Fatalf("the last checkpoint before the crash: %+v", last)
	}
	for i, s := range sums {
		if !s.beside[1] {
			t.Errorf("subtask %d handled nothing while its part of checkpoint 1 was encoded", i)
		}
	}
	if sum, ok := st.Node("sum"); !ok || sum.Pause.Count() < 2 {
		t.Errorf("the sum's pauses: %+v", sum.Pause)
	}

	resumed := DefaultOptions()
	resumed.Checkpointing = &Checkpointing{Interval: 5 * time.Millisecond, Restore: last, Complete: func(*Snapshot) error { return nil }}
	if _, err := Run(context.Background(), captureGraph(n, d, func(int) *capturingSum { return newCapturingSum() }), resumed); err != nil {
		t.Fatal(err)
	}
	if got, want := d.values(), wantValues(n); !slices.Equal(got, want) {
		t.Errorf("published %d values after resuming from checkpoint 2, want %d", len(got), len(want))
	}
}

// TestAFailedEncodingFailsTheRun checks that an error of a captured snapshot's encoding
// ends the run with it, naming the step and the checkpoint.
func TestAFailedEncodingFailsTheRun(t *testing.T) {
	opts := DefaultOptions()
	opts.Checkpointing = &Checkpointing{Interval: 5 * time.Millisecond, Complete: func(*Snapshot) error { return nil }}
	g := captureGraph(20000, newDisk(), func(int) *capturingSum {
		s := newCapturingSum()
		s.fail = errors.New("out of space")
		return s
	})
	_, err := Run(context.Background(), g, opts)
	if err == nil || !strings.Contains(err.Error(), "out of space") || !strings.Contains(err.Error(), "snapshot for checkpoint ") ||
		!strings.HasPrefix(err.Error(), "sum[") {
		t.Fatalf("run: %v", err)
	}
}

package engine

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/op"
)

// Rescale moves each group's sum to the subtask that owns the group now.
func (s *sumByKey) Rescale(states [][]byte, n int, owner op.KeyOwner) ([][]byte, error) {
	all := map[int64]int64{}
	for _, st := range states {
		var sums map[int64]int64
		if err := json.Unmarshal(st, &sums); err != nil {
			return nil, err
		}
		for k, v := range sums {
			all[k] += v
		}
	}
	keys := slices.Sorted(mapsKeys(all))
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(keys, nil)
	col := b.NewArray()
	defer col.Release()
	subs, err := owner([]arrow.Array{col})
	if err != nil {
		return nil, err
	}
	parts := make([]map[int64]int64, n)
	for i := range parts {
		parts[i] = map[int64]int64{}
	}
	for i, k := range keys {
		parts[subs[i]][k] = all[k]
	}
	out := make([][]byte, n)
	for i, p := range parts {
		if out[i], err = json.Marshal(p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Rescale hands old subtask i's readied files to new subtask i mod n.
func (s *twoPhase) Rescale(states [][]byte, n int, _ op.KeyOwner) ([][]byte, error) {
	files := make([][]string, n)
	for i, st := range states {
		var fs []string
		if err := json.Unmarshal(st, &fs); err != nil {
			return nil, err
		}
		files[i%n] = append(files[i%n], fs...)
	}
	out := make([][]byte, n)
	for i, fs := range files {
		var err error
		if out[i], err = json.Marshal(fs); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TestResumeAtAnotherParallelism stops a run at parallelism 2, resumes it at 3, stops it
// again and finishes it at 1: the sums by group, whose state moves by key group, and every
// value must be published once, as by one uninterrupted run.
func TestResumeAtAnotherParallelism(t *testing.T) {
	const n = 40000
	d := newDisk()
	var last *Snapshot
	for i, p := range []int{2, 3, 1} {
		stop := make(chan struct{})
		opts := DefaultOptions()
		opts.Stop = stop
		stopAt := uint64(0)
		if last != nil {
			stopAt = last.ID
		}
		stopAt += 2
		opts.Checkpointing = &Checkpointing{Interval: 5 * time.Millisecond, Restore: last, Complete: func(s *Snapshot) error {
			last = s
			if s.ID == stopAt && i < 2 {
				close(stop)
			}
			return nil
		}}
		if _, err := Run(context.Background(), scaledGraph(n, d, p), opts); err != nil {
			t.Fatalf("at parallelism %d: %v", p, err)
		}
		if i < 2 && last.Final {
			t.Fatalf("the run at parallelism %d ended before it was stopped", p)
		}
	}
	if got, want := d.values(), wantValues(n); !slices.Equal(got, want) {
		t.Errorf("published %d values, want %d, or they differ", len(got), len(want))
	}
}

// TestRescaleAfterACrash resumes at parallelism 3 from a checkpoint of a run at 2 that was
// killed: what the checkpoint readied is published, the rest is read again.
func TestRescaleAfterACrash(t *testing.T) {
	const n = 20000
	d := newDisk()
	last := crashAfter(t, scaledGraph(n, d, 2), 3)
	resumed := DefaultOptions()
	resumed.Checkpointing = &Checkpointing{Interval: 5 * time.Millisecond, Restore: last, Complete: func(*Snapshot) error { return nil }}
	if _, err := Run(context.Background(), scaledGraph(n, d, 3), resumed); err != nil {
		t.Fatal(err)
	}
	if got, want := d.values(), wantValues(n); !slices.Equal(got, want) {
		t.Errorf("published %d values, want %d, or they differ", len(got), len(want))
	}
	if len(last.Parts["src"]) != 2 {
		t.Errorf("rescaling changed the checkpoint it resumed from: %d source parts", len(last.Parts["src"]))
	}
}

// A step whose state cannot move refuses to resume at another parallelism.
func TestRescaleRefusesStateThatCannotMove(t *testing.T) {
	g := scaledGraph(10, newDisk(), 3)
	g.Nodes[1].Operator = func(int) (op.Operator, error) { return &fixedSum{}, nil }
	s := &Snapshot{ID: 4, Parts: map[string][][]byte{"sum": {[]byte("{}"), []byte("{}")}}}
	_, err := rescaled(g, s)
	if err == nil || err.Error() != `engine: checkpoint 4: "sum" from 2 to 3 subtasks: its state cannot move to another number of subtasks` {
		t.Fatalf("got %v", err)
	}
}

// fixedSum is a keyed operator whose state cannot move.
type fixedSum struct{ op.Base }

func (fixedSum) Process(int, arrow.RecordBatch, op.Collector) error { return nil }
func (fixedSum) Snapshot(uint64) ([]byte, error)                    { return nil, nil }
func (fixedSum) Restore([]byte) error                               { return nil }

// KeyGroupRange and KeyGroupOwner agree: every key group is in the range of its owner.
func TestKeyGroupRangeHoldsWhatItsSubtaskOwns(t *testing.T) {
	for _, k := range []int{1, 7, 128, 256} {
		for p := 1; p <= k && p <= 40; p++ {
			next := 0
			for sub := range p {
				start, end := KeyGroupRange(sub, k, p)
				if start != next {
					t.Fatalf("k %d p %d: subtask %d starts at %d, want %d", k, p, sub, start, next)
				}
				for kg := start; kg < end; kg++ {
					if o := KeyGroupOwner(kg, k, p); o != sub {
						t.Fatalf("k %d p %d: key group %d is in subtask %d's range but owned by %d", k, p, kg, sub, o)
					}
				}
				next = end
			}
			if next != k {
				t.Fatalf("k %d p %d: the ranges end at %d", k, p, next)
			}
		}
	}
}

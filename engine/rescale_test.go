package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
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
	_, _, err := rescaled(g, s)
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

// sumByGroup is sumByKey that takes its snapshot by owner and restores several parts at
// once; restores counts the calls of RestoreParts.
type sumByGroup struct {
	sumByKey
	restores *atomic.Int32
}

func (s *sumByGroup) SnapshotGroups(id uint64, n int, owner op.KeyOwner) ([][]byte, error) {
	state, err := s.Snapshot(id)
	if err != nil {
		return nil, err
	}
	parts, err := s.Rescale([][]byte{state}, n, owner)
	if err != nil {
		return nil, err
	}
	for i, p := range parts {
		if string(p) == "{}" {
			parts[i] = nil
		}
	}
	return parts, nil
}

func (s *sumByGroup) RestoreParts(parts [][]byte) error {
	s.restores.Add(1)
	for _, p := range parts {
		var sums map[int64]int64
		if err := json.Unmarshal(p, &sums); err != nil {
			return err
		}
		for k, v := range sums {
			if _, dup := s.sums[k]; dup {
				return fmt.Errorf("key %d in two parts", k)
			}
			s.sums[k] = v
		}
	}
	return nil
}

// TestResumeFromPartsByKeyGroup takes checkpoints by key group at parallelism 2, resumes
// from them at 3, again by key group, and finishes at 1 taking whole snapshots: the sums'
// node has a part per key group with state, each subtask restores its key groups' parts
// together, and every value and sum is published once.
func TestResumeFromPartsByKeyGroup(t *testing.T) {
	const n = 40000
	d := newDisk()
	var restores atomic.Int32
	graph := func(p int) *Graph {
		g := scaledGraph(n, d, p)
		g.Nodes[1].Operator = func(int) (op.Operator, error) { return &sumByGroup{restores: &restores}, nil }
		return g
	}
	var last *Snapshot
	for i, p := range []int{2, 3, 1} {
		stop := make(chan struct{})
		opts := DefaultOptions()
		opts.Stop = stop
		stopAt := uint64(2)
		if last != nil {
			stopAt += last.ID
		}
		opts.Checkpointing = &Checkpointing{Interval: 5 * time.Millisecond, Restore: last, ByKeyGroup: i < 2, Complete: func(s *Snapshot) error {
			last = s
			if s.ID == stopAt && i < 2 {
				close(stop)
			}
			return nil
		}}
		if _, err := Run(context.Background(), graph(p), opts); err != nil {
			t.Fatalf("at parallelism %d: %v", p, err)
		}
		if i == 2 {
			break
		}
		sums := last.Parts["sum"]
		if len(sums) != 256 || len(last.Parts["raw"]) != p {
			t.Fatalf("at parallelism %d: %d parts of the sums by key group, %d of the values; want 256 and %d", p, len(sums), len(last.Parts["raw"]), p)
		}
		held := len(slices.DeleteFunc(slices.Clone(sums), func(b []byte) bool { return b == nil }))
		if held == 0 || held > 4 {
			t.Fatalf("at parallelism %d: %d key groups hold sums of 4 keys", p, held)
		}
	}
	if got, want := d.values(), wantValues(n); !slices.Equal(got, want) {
		t.Errorf("published %d values, want %d, or they differ", len(got), len(want))
	}
	if restores.Load() == 0 {
		t.Error("no subtask restored its parts together")
	}
}

// TestRescaleBundlesNestedKeyGroups resumes 4 subtasks' parts at 2: each new subtask owns
// the key groups of two old ones whole, so it restores their parts as they are; 4 to 3
// splits key group ranges and goes through Rescale.
func TestRescaleBundlesNestedKeyGroups(t *testing.T) {
	g := scaledGraph(10, newDisk(), 2)
	var restores atomic.Int32
	g.Nodes[1].Operator = func(int) (op.Operator, error) { return &sumByGroup{restores: &restores}, nil }
	if err := g.validate(); err != nil {
		t.Fatal(err)
	}
	parts := [][]byte{[]byte(`{"0":1}`), []byte(`{}`), []byte(`{"1":2}`), []byte(`{"2":3}`)}
	s := &Snapshot{ID: 4, Parts: map[string][][]byte{"sum": parts}}
	out, bundles, err := rescaled(g, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.Parts["sum"]; ok {
		t.Error("the bundled node's parts are still in the snapshot to restore")
	}
	want := [][][]byte{{parts[0], parts[1]}, {parts[2], parts[3]}}
	if b := bundles[g.Nodes[1]]; len(b) != 2 || !slices.EqualFunc(b, want, func(x, y [][]byte) bool {
		return slices.EqualFunc(x, y, func(p, q []byte) bool { return string(p) == string(q) })
	}) {
		t.Fatalf("bundles %q, want %q", b, want)
	}
	g.Nodes[1].Parallelism = 3
	out, bundles, err = rescaled(g, s)
	if err != nil {
		t.Fatal(err)
	}
	if bundles != nil || len(out.Parts["sum"]) != 3 {
		t.Fatalf("4 to 3: bundles %v, %d parts; want Rescale's 3", bundles, len(out.Parts["sum"]))
	}
}

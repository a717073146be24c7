package op

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// cardOwner is the test's keyed exchange: a card's subtask of n is its FNV hash mod n.
func cardOwner(n int) KeyOwner {
	return func(keys []arrow.Array) ([]int, error) {
		cards := keys[0].(*array.String)
		out := make([]int, cards.Len())
		for i := range out {
			h := fnv.New32a()
			h.Write([]byte(cards.Value(i)))
			out[i] = int(h.Sum32() % uint32(n))
		}
		return out, nil
	}
}

// keyedRun feeds msgs to subtasks as a keyed exchange would: each batch's rows to the
// subtask owning their card (column 0), every watermark to all.
type keyedRun struct {
	t    *testing.T
	mem  memory.Allocator
	subs []Operator
	out  []string
}

func (k *keyedRun) deliver(msgs []msg) {
	own := cardOwner(len(k.subs))
	for _, m := range msgs {
		if m.rec == nil {
			for _, o := range k.subs {
				k.out = append(k.out, deliver(k.t, o, []msg{m}, false)...)
			}
			continue
		}
		subs, err := own([]arrow.Array{m.rec.Column(0)})
		if err != nil {
			k.t.Fatal(err)
		}
		picks := make([][]int32, len(k.subs))
		for i, s := range subs {
			picks[s] = append(picks[s], int32(i))
		}
		for s, pick := range picks {
			if len(pick) == 0 {
				continue
			}
			rec := pickRows(k.t, k.mem, m.rec, pick)
			k.out = append(k.out, deliver(k.t, k.subs[s], []msg{{rec: rec}}, false)...)
			rec.Release()
		}
	}
}

// rescale snapshots every subtask, closes them, and restores n fresh ones from the states
// Rescale made.
func (k *keyedRun) rescale(fresh func() Operator, n int) {
	states := make([][]byte, len(k.subs))
	for s, o := range k.subs {
		var err error
		if states[s], err = snapshotter(k.t, o).Snapshot(7); err != nil {
			k.t.Fatal(err)
		}
		if err := o.Close(); err != nil {
			k.t.Fatal(err)
		}
	}
	moved, err := fresh().(Rescaler).Rescale(states, n, cardOwner(n))
	if err != nil {
		k.t.Fatal(err)
	}
	if len(moved) != n {
		k.t.Fatalf("Rescale to %d subtasks returned %d states", n, len(moved))
	}
	k.subs = make([]Operator, n)
	for s := range n {
		k.subs[s] = fresh()
		if err := snapshotter(k.t, k.subs[s]).Restore(moved[s]); err != nil {
			k.t.Fatalf("restore subtask %d of %d: %v", s, n, err)
		}
	}
}

func (k *keyedRun) finish() []string {
	for _, o := range k.subs {
		k.out = append(k.out, deliver(k.t, o, nil, true)...)
		if err := o.Close(); err != nil {
			k.t.Fatal(err)
		}
	}
	return rowsOnly(k.out)
}

// rowsOnly sorts output lines and drops the batch ends: across subtasks only the set of rows
// is defined.
func rowsOnly(lines []string) []string {
	rows := slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return l == "--" })
	slices.Sort(rows)
	return rows
}

// TestWindowAggRescales changes the parallelism of a keyed aggregation mid-stream, 2 to 3
// to 1 subtasks, moving groups by key; every window must fire once with the rows a single
// subtask fires.
func TestWindowAggRescales(t *testing.T) {
	specs := []window.Spec{
		{Kind: window.Tumble, Size: time.Minute},
		{Kind: window.Hop, Size: 5 * time.Minute, Every: time.Minute},
		{Kind: window.Session, Gap: 10 * time.Second},
	}
	for _, spec := range specs {
		phases := []Phase{Single, Final}
		if spec.Kind == window.Session {
			phases = phases[:1]
		}
		for _, phase := range phases {
			t.Run(fmt.Sprintf("%s/%s", spec, phase), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
				defer mem.AssertSize(t, 0)
				r := rand.New(rand.NewPCG(uint64(spec.Kind), 11))
				msgs := txStream(r, mem, 40, 150, 23, 3000, 20_000)
				if phase == Final {
					raw := msgs
					msgs = partialStream(t, mem, spec, 1, raw)
					releaseStream(raw)
				}
				defer releaseStream(msgs)
				fresh := func() Operator { return newTxAgg(t, mem, spec, phase, 1) }

				whole := fresh()
				want := rowsOnly(deliver(t, whole, msgs, true))
				if err := whole.Close(); err != nil {
					t.Fatal(err)
				}

				run := &keyedRun{t: t, mem: mem, subs: []Operator{fresh(), fresh()}}
				third := len(msgs) / 3
				run.deliver(msgs[:third])
				run.rescale(fresh, 3)
				run.deliver(msgs[third : 2*third])
				run.rescale(fresh, 1)
				run.deliver(msgs[2*third:])
				compareLines(t, "rescaled 2 → 3 → 1", run.finish(), want)
			})
		}
	}
}

// TestRescaleKeepsAnEmptyState rescales subtasks that hold no groups, and no states at all.
func TestRescaleKeepsAnEmptyState(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	spec := window.Spec{Kind: window.Tumble, Size: time.Minute}
	w := newTxAgg(t, mem, spec, Single, 1)
	empty, err := w.Snapshot(3)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := w.Rescale([][]byte{empty, empty}, 3, cardOwner(3))
	if err != nil {
		t.Fatal(err)
	}
	for s, st := range moved {
		o := newTxAgg(t, mem, spec, Single, 1)
		if err := o.Restore(st); err != nil {
			t.Fatalf("subtask %d: %v", s, err)
		}
		if o.Groups() != 0 {
			t.Fatalf("subtask %d holds %d groups", s, o.Groups())
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if none, err := w.Rescale([][]byte{nil, nil}, 2, cardOwner(2)); err != nil || none[0] != nil || none[1] != nil {
		t.Fatalf("rescaling no state gave %q, %v; want no states", none, err)
	}
	if _, err := w.Rescale([][]byte{[]byte("not a snapshot")}, 2, cardOwner(2)); err == nil {
		t.Fatal("rescaling a damaged state succeeded")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

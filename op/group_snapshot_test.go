package op

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// groupCase is an operator whose state SnapshotGroups and RestoreParts move.
type groupCase struct {
	spec  window.Spec
	phase Phase
	spill bool // the pebble backend, spilling every group
	chain bool // the aggregation inside a chain
}

func (c groupCase) String() string {
	s := fmt.Sprintf("%s/%s", c.spec, c.phase)
	if c.spill {
		s += "/spill"
	}
	if c.chain {
		s += "/chain"
	}
	return s
}

var groupCases = []groupCase{
	{spec: window.Spec{Kind: window.Tumble, Size: time.Minute}, phase: Single},
	{spec: window.Spec{Kind: window.Tumble, Size: time.Minute}, phase: Final},
	{spec: window.Spec{Kind: window.Hop, Size: 5 * time.Minute, Every: time.Minute}, phase: Single},
	{spec: window.Spec{Kind: window.Session, Gap: 10 * time.Second}, phase: Single},
	{spec: window.Spec{Kind: window.Tumble, Size: time.Minute}, phase: Single, spill: true},
	{spec: window.Spec{Kind: window.Hop, Size: 5 * time.Minute, Every: time.Minute}, phase: Final, spill: true},
	{spec: window.Spec{Kind: window.Tumble, Size: time.Minute}, phase: Final, chain: true},
	{spec: window.Spec{Kind: window.Session, Gap: 10 * time.Second}, phase: Single, chain: true},
}

// fresh makes an opened operator of the case.
func (c groupCase) fresh(t *testing.T, mem memory.Allocator, dir string) Operator {
	t.Helper()
	var w *WindowAgg
	if c.spill {
		w = newSpillingAgg(t, mem, c.spec, c.phase, 1, dir, 1)
	} else {
		w = newTxAgg(t, mem, c.spec, c.phase, 1)
	}
	if !c.chain {
		return w
	}
	o := NewChain(w)
	if err := o.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	return o
}

// groups is the number of open groups of o, a case's operator.
func groups(o Operator) int {
	if c, ok := o.(*snapshotChain); ok {
		o = c.ops[0]
	}
	return o.(*WindowAgg).Groups()
}

// restoreFresh restores state into a fresh operator of the case.
func (c groupCase) restoreFresh(t *testing.T, mem memory.Allocator, dir string, state []byte) Operator {
	t.Helper()
	o := c.fresh(t, mem, dir)
	if err := snapshotter(t, o).Restore(state); err != nil {
		t.Fatal(err)
	}
	return o
}

// snapshotOf snapshots o and closes it.
func snapshotOf(t *testing.T, o Operator) []byte {
	t.Helper()
	b, err := snapshotter(t, o).Snapshot(9)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSnapshotGroupsIsRescale stops a keyed aggregation two thirds into its stream and
// snapshots it by owner (5 owners by card), after snapshots by owner halfway through. Each part must hold what Rescale of the whole
// snapshot gives that owner (a fresh operator restored from either snapshots the same
// bytes), nil exactly where that owner gets no group. RestoreParts of all the parts must
// hold what Restore of them rescaled to one holds, and go on to fire the rows of a run
// without a stop.
func TestSnapshotGroupsIsRescale(t *testing.T) {
	for _, c := range groupCases {
		t.Run(c.String(), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			dir := t.TempDir()
			r := rand.New(rand.NewPCG(uint64(c.spec.Kind), 5))
			batches := 40
			if c.spill {
				batches = 12 // every batch spills every group: slow under the race detector
			}
			msgs := txStream(r, mem, batches, 150, 23, 3000, 20_000)
			if c.phase == Final {
				raw := msgs
				msgs = partialStream(t, mem, c.spec, 1, raw)
				releaseStream(raw)
			}
			defer releaseStream(msgs)

			whole := c.fresh(t, mem, dir)
			want := rowsOnly(deliver(t, whole, msgs, true))
			if err := whole.Close(); err != nil {
				t.Fatal(err)
			}

			o := c.fresh(t, mem, dir)
			cut := 2 * len(msgs) / 3
			const n = 5
			// Snapshots halfway, by 3 owners and then by 5, which the operator may remember
			// for keys that are still there at the cut.
			first := deliver(t, o, msgs[:cut/2], false)
			for _, k := range []int{3, n} {
				if _, err := o.(GroupSnapshotter).SnapshotGroups(6, k, cardOwner(k)); err != nil {
					t.Fatal(err)
				}
			}
			first = append(first, deliver(t, o, msgs[cut/2:cut], false)...)
			parts, err := o.(GroupSnapshotter).SnapshotGroups(7, n, cardOwner(n))
			if err != nil {
				t.Fatal(err)
			}
			state, err := snapshotter(t, o).Snapshot(7)
			if err != nil {
				t.Fatal(err)
			}
			if err := o.Close(); err != nil {
				t.Fatal(err)
			}
			moved, err := o.(Rescaler).Rescale([][]byte{state}, n, cardOwner(n))
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != n {
				t.Fatalf("%d parts for %d owners", len(parts), n)
			}
			held := 0
			for i := range n {
				m := c.restoreFresh(t, mem, dir, moved[i])
				if parts[i] == nil {
					if g := groups(m); g != 0 {
						t.Fatalf("owner %d: no part, but Rescale gives it %d groups", i, g)
					}
					snapshotOf(t, m)
					continue
				}
				held++
				p := c.restoreFresh(t, mem, dir, parts[i])
				if got, want := snapshotOf(t, p), snapshotOf(t, m); !bytes.Equal(got, want) {
					t.Fatalf("owner %d: restored from its part, the operator snapshots %d bytes unlike the %d restored from Rescale's", i, len(got), len(want))
				}
			}
			if held < 2 {
				t.Fatalf("%d of %d owners hold state: the test spreads nothing", held, n)
			}

			one, err := o.(Rescaler).Rescale(moved, 1, cardOwner(1))
			if err != nil {
				t.Fatal(err)
			}
			all := c.fresh(t, mem, dir)
			if err := all.(PartsRestorer).RestoreParts(parts); err != nil {
				t.Fatal(err)
			}
			if !c.spill { // spilled windows come back from disk by key group, in another order
				again, err := snapshotter(t, all).Snapshot(9)
				if err != nil {
					t.Fatal(err)
				}
				if want := snapshotOf(t, c.restoreFresh(t, mem, dir, one[0])); !bytes.Equal(again, want) {
					t.Fatalf("restored from the parts, the operator snapshots %d bytes unlike the %d restored from them rescaled to one", len(again), len(want))
				}
			}
			rest := deliver(t, all, msgs[cut:], true)
			if err := all.Close(); err != nil {
				t.Fatal(err)
			}
			compareLines(t, "restored from the parts", rowsOnly(append(first, rest...)), want)
		})
	}
}

// TestRestorePartsRefuses gives RestoreParts parts that cannot be one operator's: a part of
// another operator, a damaged part, two parts that hold the same keys, and an operator that
// already holds groups.
func TestRestorePartsRefuses(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	spec := window.Spec{Kind: window.Tumble, Size: time.Minute}
	r := rand.New(rand.NewPCG(3, 5))
	msgs := txStream(r, mem, 10, 100, 23, 3000, 20_000)
	defer releaseStream(msgs)
	o := newTxAgg(t, mem, spec, Single, 1)
	deliver(t, o, msgs[:len(msgs)-1], false) // every window stays open
	parts, err := o.SnapshotGroups(4, 3, cardOwner(3))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	other := newTxAgg(t, mem, window.Spec{Kind: window.Tumble, Size: 2 * time.Minute}, Single, 1)
	foreign, err := other.Snapshot(4)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(parts[1])
	damaged[len(damaged)/2] ^= 0x40
	for _, tc := range []struct {
		name  string
		parts [][]byte
		want  string
	}{
		{"foreign", [][]byte{parts[0], foreign}, "fingerprint"},
		{"damaged", [][]byte{parts[0], damaged}, "corrupt"},
		{"twice", [][]byte{parts[0], parts[2], parts[0]}, "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newTxAgg(t, mem, spec, Single, 1)
			defer func() {
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}()
			err := w.RestoreParts(tc.parts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("RestoreParts gave %v, want an error saying %q", err, tc.want)
			}
		})
	}
	w := newTxAgg(t, mem, spec, Single, 1)
	if err := w.RestoreParts(parts[:1]); err != nil {
		t.Fatal(err)
	}
	if err := w.RestoreParts(parts[1:]); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Fatalf("a second RestoreParts gave %v, want an error saying the operator holds groups", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

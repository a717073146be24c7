package op

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// TestSpilledStateSnapshotsByChunkGroup stops a spilling run at several points and takes
// its snapshot by key group twice over: reading the spilled chunks' key groups
// (SpillConfig.KeyGroups set) and reading every row's key (unset). The parts must hold the
// same rows, some state must have been on disk, and the parts restored into a memory
// operator must go on to the rows of an uninterrupted run.
func TestSpilledStateSnapshotsByChunkGroup(t *testing.T) {
	spillCases(func(name string, spec window.Spec, phase Phase, keys int) {
		if keys == 0 {
			return // one group per window: no key groups to tell apart
		}
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			msgs := spillStream(t, mem, spec, phase, keys, 5)
			defer releaseStream(msgs)
			whole := newTxAgg(t, mem, spec, phase, keys)
			want := rowsOnly(deliver(t, whole, msgs, true))
			above := whole.StateBytes() / 3
			if err := whole.Close(); err != nil {
				t.Fatal(err)
			}
			const n = 8
			spilled := false
			for _, k := range []int{1, len(msgs) / 3, len(msgs) / 2, len(msgs) - 2} {
				var parts [2][][]byte
				var got []string
				for i, groups := range []int{n, 0} {
					w := newSpillingAgg(t, mem, spec, phase, keys, t.TempDir(), above)
					w.spill.cfg.KeyGroups = groups
					got = deliver(t, w, msgs[:k], false)
					var err error
					if parts[i], err = w.SnapshotGroups(uint64(k), n, cardOwner(n)); err != nil {
						t.Fatalf("snapshot by %d key groups after message %d: %v", groups, k, err)
					}
					spilled = spilled || w.SpilledBytes() > 0
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
				}
				reader := newTxAgg(t, mem, spec, phase, keys)
				for g := range n {
					if !sameStateRows(t, reader, parts[0][g], parts[1][g]) {
						t.Fatalf("after message %d, key group %d: the rows from the chunks' key groups differ from those from the keys", k, g)
					}
				}
				if err := reader.Close(); err != nil {
					t.Fatal(err)
				}
				second := newTxAgg(t, mem, spec, phase, keys)
				if err := second.RestoreParts(parts[0]); err != nil {
					t.Fatalf("restore after message %d: %v", k, err)
				}
				got = append(got, deliver(t, second, msgs[k:], true)...)
				if err := second.Close(); err != nil {
					t.Fatal(err)
				}
				compareLines(t, fmt.Sprintf("snapshot by key group after message %d", k), rowsOnly(got), want)
			}
			if !spilled {
				t.Fatalf("nothing was on disk at any snapshot, spilling above %d bytes", above)
			}
		})
	})
}

// sameStateRows reports whether two snapshots of w's kind, of either version, hold the same
// watermark and state rows; nil holds none.
func sameStateRows(t *testing.T, w *WindowAgg, a, b []byte) bool {
	t.Helper()
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	wa, _, ra, err := w.openRows(a)
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Release()
	wb, _, rb, err := w.openRows(b)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Release()
	return wa == wb && array.RecordEqual(ra, rb)
}

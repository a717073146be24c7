package op

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// newSpillingAgg is newTxAgg with the pebble backend: it spills above `above` bytes of
// state, into a store under dir, by the key groups cardOwner(8) gives.
func newSpillingAgg(t testing.TB, mem memory.Allocator, spec window.Spec, phase Phase, keys int, dir string, above int64) *WindowAgg {
	t.Helper()
	w := newTxAgg(t, mem, spec, phase, keys)
	w.spill = &spiller{cfg: SpillConfig{Dir: dir, Above: above, KeyGroup: cardOwner(8)}}
	return w
}

// spillCases are the windows, phases and key counts the pebble backend serves.
func spillCases(f func(name string, spec window.Spec, phase Phase, keys int)) {
	for _, spec := range []window.Spec{{Kind: window.Tumble, Size: time.Minute}, {Kind: window.Hop, Size: 5 * time.Minute, Every: time.Minute}} {
		for _, phase := range []Phase{Single, Final} {
			for _, keys := range []int{1, 0} {
				f(fmt.Sprintf("%s/%s/keys=%d", spec, phase, keys), spec, phase, keys)
			}
		}
	}
}

// spillStream is the test input: out-of-order rows over 23 cards, as raw rows for Single and
// as partial states for Final.
func spillStream(t *testing.T, mem memory.Allocator, spec window.Spec, phase Phase, keys int, seed uint64) []msg {
	r := rand.New(rand.NewPCG(seed, uint64(phase)))
	msgs := txStream(r, mem, 40, 150, 23, 3000, 20_000)
	if phase == Final {
		raw := msgs
		msgs = partialStream(t, mem, spec, keys, raw)
		releaseStream(raw)
	}
	return msgs
}

// TestSpillingGivesTheMemoryBackendsResults runs the same out-of-order streams through the
// memory backend and the pebble backend, with a threshold so small that every group is
// spilled after every batch and with one that spills part of the windows, and compares the
// rows fired. It checks that state was on disk and that the memory state stayed under the
// threshold after every message.
func TestSpillingGivesTheMemoryBackendsResults(t *testing.T) {
	spillCases(func(name string, spec window.Spec, phase Phase, keys int) {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			msgs := spillStream(t, mem, spec, phase, keys, uint64(spec.Kind)+7)
			defer releaseStream(msgs)
			whole := newTxAgg(t, mem, spec, phase, keys)
			want := rowsOnly(deliver(t, whole, msgs, true))
			peak := whole.StateBytes()
			if err := whole.Close(); err != nil {
				t.Fatal(err)
			}
			for _, above := range []int64{1, peak / 3} {
				w := newSpillingAgg(t, mem, spec, phase, keys, t.TempDir(), above)
				var lines []string
				var spilled int64
				for i, m := range msgs {
					lines = append(lines, deliver(t, w, []msg{m}, false)...)
					spilled = max(spilled, w.SpilledBytes())
					if m.rec != nil && above > 1 && w.StateBytes() > above {
						t.Fatalf("above %d: after message %d the operator holds %d bytes in memory", above, i, w.StateBytes())
					}
				}
				lines = append(lines, deliver(t, w, nil, true)...)
				if spilled == 0 {
					t.Fatalf("above %d: nothing was spilled (memory backend's state reached %d bytes)", above, peak)
				}
				if w.Groups() != 0 || w.SpilledBytes() != 0 {
					t.Fatalf("above %d: after the last watermark %d groups and %d bytes on disk are left", above, w.Groups(), w.SpilledBytes())
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				compareLines(t, fmt.Sprintf("spilling above %d bytes", above), rowsOnly(lines), want)
			}
		})
	})
}

// TestSpilledStateSnapshots stops a spilling run at several points: the snapshot, which
// includes what is on disk, reads the same when taken twice, restores into a spilling
// operator and into a memory one, and either goes on to the rows of an uninterrupted memory
// run.
func TestSpilledStateSnapshots(t *testing.T) {
	spillCases(func(name string, spec window.Spec, phase Phase, keys int) {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			msgs := spillStream(t, mem, spec, phase, keys, 3)
			defer releaseStream(msgs)
			whole := newTxAgg(t, mem, spec, phase, keys)
			want := rowsOnly(deliver(t, whole, msgs, true))
			above := whole.StateBytes() / 3
			if err := whole.Close(); err != nil {
				t.Fatal(err)
			}
			spilled := false
			for _, k := range []int{1, len(msgs) / 3, len(msgs) / 2, len(msgs) - 2} {
				for _, into := range []string{"pebble", "memory"} {
					dir := t.TempDir()
					first := newSpillingAgg(t, mem, spec, phase, keys, dir, above)
					got := deliver(t, first, msgs[:k], false)
					state, err := first.Snapshot(uint64(k))
					if err != nil {
						t.Fatalf("snapshot after message %d: %v", k, err)
					}
					spilled = spilled || first.SpilledBytes() > 0
					// The first snapshot merged what was spilled more than once and wrote it back
					// merged; the second takes it as it is on disk and must read the same.
					again, err := first.Snapshot(uint64(k))
					if err != nil {
						t.Fatalf("second snapshot after message %d: %v", k, err)
					}
					if !bytes.Equal(again, state) {
						t.Fatalf("after message %d a second snapshot differs from the first (%d and %d bytes)", k, len(again), len(state))
					}
					if err := first.Close(); err != nil {
						t.Fatal(err)
					}
					second := newTxAgg(t, mem, spec, phase, keys)
					if into == "pebble" {
						second = newSpillingAgg(t, mem, spec, phase, keys, dir, above)
					}
					if err := second.Restore(state); err != nil {
						t.Fatalf("restore into the %s backend after message %d: %v", into, k, err)
					}
					got = append(got, deliver(t, second, msgs[k:], true)...)
					if err := second.Close(); err != nil {
						t.Fatal(err)
					}
					compareLines(t, fmt.Sprintf("stopped after message %d, restored into the %s backend", k, into), rowsOnly(got), want)
				}
			}
			if !spilled {
				t.Fatalf("nothing was on disk at any snapshot, spilling above %d bytes", above)
			}
		})
	})
}

// TestSpilledStateRescales moves spilled groups by key from 2 subtasks to 3 and then to 1.
func TestSpilledStateRescales(t *testing.T) {
	spillCases(func(name string, spec window.Spec, phase Phase, keys int) {
		if keys == 0 {
			return // one group per window: nothing to spread
		}
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			msgs := spillStream(t, mem, spec, phase, keys, 11)
			defer releaseStream(msgs)
			whole := newTxAgg(t, mem, spec, phase, keys)
			want := rowsOnly(deliver(t, whole, msgs, true))
			if err := whole.Close(); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			fresh := func() Operator { return newSpillingAgg(t, mem, spec, phase, keys, dir, 1) }
			run := &keyedRun{t: t, mem: mem, subs: []Operator{fresh(), fresh()}}
			third := len(msgs) / 3
			run.deliver(msgs[:third])
			run.rescale(fresh, 3)
			run.deliver(msgs[third : 2*third])
			run.rescale(fresh, 1)
			run.deliver(msgs[2*third:])
			compareLines(t, "spilled, rescaled 2 → 3 → 1", run.finish(), want)
		})
	})
}

// TestSpillDirectoryIsRemovedOnClose checks where a store lives and that Close removes it.
func TestSpillDirectoryIsRemovedOnClose(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	spec := window.Spec{Kind: window.Tumble, Size: time.Minute}
	msgs := spillStream(t, mem, spec, Single, 1, 5)
	defer releaseStream(msgs)
	dir := t.TempDir()
	w := newSpillingAgg(t, mem, spec, Single, 1, dir, 1)
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("before any spill %s holds %d entries (%v)", dir, len(entries), err)
	}
	c := NewChain(w) // a chain, as a plan makes, opened with a node name holding a separator
	if err := c.Open(Context{Node: "views/velocity", Subtask: 3, Mem: mem}); err != nil {
		t.Fatal(err)
	}
	deliver(t, c, msgs[:len(msgs)/2], false)
	if c.(Spiller).SpilledBytes() != w.SpilledBytes() || w.SpilledBytes() == 0 {
		t.Fatalf("the chain reports %d bytes on disk, its window aggregate %d", c.(Spiller).SpilledBytes(), w.SpilledBytes())
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("after spilling %s holds %d entries, want the store's directory (%v)", dir, len(entries), err)
	}
	files, err := os.ReadDir(dir + "/" + entries[0].Name())
	if err != nil || len(files) == 0 {
		t.Fatalf("the store's directory %s is empty (%v)", entries[0].Name(), err)
	}
	if !strings.HasPrefix(entries[0].Name(), "views_velocity-3-") {
		t.Fatalf("the store's directory is %s, want it named after the node and subtask", entries[0].Name())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("after Close %s still holds %d entries (%v)", dir, len(entries), err)
	}
}

package op

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// chunkSegments reads the spilled chunks a version 2 part carries; a version 1 part carries
// none.
func chunkSegments(t *testing.T, w *WindowAgg, part []byte) []segment {
	t.Helper()
	if part == nil {
		return nil
	}
	r, err := w.openState(part)
	if err != nil {
		t.Fatal(err)
	}
	if r.version != windowAggSegmentsVersion {
		return nil
	}
	if _, err := r.varint("watermark"); err != nil {
		t.Fatal(err)
	}
	segs, err := readSegments(r)
	if err != nil {
		t.Fatal(err)
	}
	var out []segment
	for _, s := range segs {
		if s.chunk {
			out = append(out, s)
		}
	}
	return out
}

// TestSnapshotByKeyGroupCarriesSpilledChunksAsTheyAre snapshots a spilling run by key group
// twice with nothing in between, restores the parts into a fresh pebble-backed operator
// and snapshots that: the two snapshots carry the same spilled chunks, byte for byte (what
// a store keeping snapshots in pieces by content writes once), the restored operator wrote
// those of the windows it did not open to its store as they were, so that its snapshot
// carries them again, and it goes on to the rows of an uninterrupted
// run, as one with the memory backend restored from the same parts does.
func TestSnapshotByKeyGroupCarriesSpilledChunksAsTheyAre(t *testing.T) {
	keptChunks := 0
	defer func() {
		if keptChunks == 0 {
			t.Error("no restored operator kept a chunk of snapshot 1 as it was")
		}
	}()
	spillCases(func(name string, spec window.Spec, phase Phase, keys int) {
		if keys == 0 {
			return
		}
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			msgs := spillStream(t, mem, spec, phase, keys, 11)
			defer releaseStream(msgs)
			whole := newTxAgg(t, mem, spec, phase, keys)
			want := rowsOnly(deliver(t, whole, msgs, true))
			above := whole.StateBytes() / 3
			if err := whole.Close(); err != nil {
				t.Fatal(err)
			}
			const n = 8
			k := len(msgs) / 2
			first := newSpillingAgg(t, mem, spec, phase, keys, t.TempDir(), above)
			first.spill.cfg.KeyGroups = n
			got := deliver(t, first, msgs[:k], false)
			snap := func(w *WindowAgg, id uint64) ([][]byte, [][]segment) {
				parts, err := w.SnapshotGroups(id, n, cardOwner(n))
				if err != nil {
					t.Fatalf("snapshot %d: %v", id, err)
				}
				chunks := make([][]segment, n)
				for g, p := range parts {
					chunks[g] = chunkSegments(t, w, p)
					for _, c := range chunks[g] {
						if c.keyGroup != g {
							t.Fatalf("snapshot %d: part %d carries a chunk of key group %d", id, g, c.keyGroup)
						}
					}
				}
				return parts, chunks
			}
			parts, chunks := snap(first, 1)
			_, again := snap(first, 2)
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			restored := newSpillingAgg(t, mem, spec, phase, keys, t.TempDir(), above)
			restored.spill.cfg.KeyGroups = n
			if err := restored.RestoreParts(parts); err != nil {
				t.Fatal(err)
			}
			_, third := snap(restored, 3)
			total, kept := 0, 0
			for g := range n {
				total += len(chunks[g])
				if !sameChunks(chunks[g], again[g]) {
					t.Fatalf("key group %d: snapshot 2 carries other chunks than snapshot 1 (%d and %d)", g, len(again[g]), len(chunks[g]))
				}
				// The restored operator opens the windows that fire first, as a restore does:
				// the chunks it keeps on disk are snapshot 1's.
				for _, c := range third[g] {
					if !slices.ContainsFunc(chunks[g], func(d segment) bool { return d.end == c.end }) {
						continue // a window snapshot 1 held in memory, spilled by the restore
					}
					if !slices.ContainsFunc(chunks[g], func(d segment) bool { return sameChunks([]segment{c}, []segment{d}) }) {
						t.Fatalf("key group %d: snapshot 3 carries a chunk of the window ending %d that snapshot 1 does not", g, c.end)
					}
					kept++
				}
			}
			if total == 0 {
				t.Fatalf("no chunk in snapshot 1, spilling above %d bytes", above)
			}
			keptChunks += kept
			inMemory := newTxAgg(t, mem, spec, phase, keys)
			if err := inMemory.RestoreParts(parts); err != nil {
				t.Fatal(err)
			}
			for i, w := range []*WindowAgg{restored, inMemory} {
				rest := deliver(t, w, msgs[k:], true)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				compareLines(t, fmt.Sprintf("restored (backend %d of 2) after message %d", i+1, k), rowsOnly(append(append([]string(nil), got...), rest...)), want)
			}
		})
	})
}

// sameChunks reports whether two lists of chunks hold the same windows, key groups and
// bytes, in the same order.
func sameChunks(a, b []segment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].end != b[i].end || a[i].keyGroup != b[i].keyGroup || !bytes.Equal(a[i].data, b[i].data) {
			return false
		}
	}
	return true
}

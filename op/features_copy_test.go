package op

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fullSnapshot writes the snapshot of f the way a capture without a kept copy does: every
// key's figures written afresh.
func fullSnapshot(t *testing.T, f *Features, id uint64) []byte {
	t.Helper()
	p := &featPart{}
	for s := range f.keys {
		if f.keys[s].live {
			p.keys = append(p.keys, f.keys[s].key)
			p.states = append(p.states, f.appendKey(nil, uint32(s)))
		}
	}
	rows, err := f.heldRows(f.holdRows())
	if err != nil {
		t.Fatal(err)
	}
	p.rows = rows
	defer p.release()
	st, err := f.encode(p, id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestFeaturesCopyIsTheFullSnapshot runs random sequences of batches, watermarks (which
// emit rows, drop rows out of range and forget keys past the ttl), snapshots, restores
// and rescales, and checks that every snapshot, taken through the kept copy, is byte for
// byte the one a full copy of the state at its capture writes, though batches and
// watermarks change keys, drop and make them between the encoding's turns of copying
// and while the rest of it runs on a goroutine of its own.
func TestFeaturesCopyIsTheFullSnapshot(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	kinds := map[string]func() *Features{
		"range": func() *Features { return newTestFeatures(t, mem, 5*time.Second, 20*time.Second) },
		"rows":  func() *Features { return newRowsFeatures(t, mem, 3, 20*time.Second) },
	}
	sequences := 40
	if testing.Short() {
		sequences = 10
	}
	for name, fresh := range kinds {
		for seq := range sequences {
			t.Run(fmt.Sprintf("%s/%d", name, seq), func(t *testing.T) {
				checkCopySequence(t, mem, fresh, rand.New(rand.NewPCG(uint64(seq), 77)))
			})
		}
	}
}

// checkCopySequence runs one random sequence of 80 steps; see
// TestFeaturesCopyIsTheFullSnapshot.
func checkCopySequence(t *testing.T, mem memory.Allocator, fresh func() *Features, rnd *rand.Rand) {
	f := fresh()
	defer func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}()
	var out collect
	defer func() { featLines(out.recs) }()
	now, wm := int64(1_000_000), int64(0)
	keys := 5 + rnd.IntN(40)
	feed := func() {
		var rows []string
		for range 1 + rnd.IntN(12) {
			now += rnd.Int64N(300)
			ts := max(now-rnd.Int64N(3000), wm)
			x, m := fmt.Sprint(rnd.IntN(100)), fmt.Sprintf("m%d", rnd.IntN(6))
			if rnd.IntN(8) == 0 {
				x = "NULL"
			}
			rows = append(rows, fmt.Sprintf("c%d %d %s %s %.2f %.2f", rnd.IntN(keys), ts, x, m, rnd.Float64()*90, rnd.Float64()*180))
		}
		if err := f.Process(0, featRows(t, mem, rows...), &out); err != nil {
			t.Fatal(err)
		}
	}
	advance := func() {
		if rnd.IntN(6) == 0 {
			now += 10_000 + rnd.Int64N(40_000) // a quiet spell: ranges empty, keys pass their ttl
		}
		wm = max(wm, now-rnd.Int64N(3000))
		if err := f.OnWatermark(wm, &out); err != nil {
			t.Fatal(err)
		}
	}
	id := uint64(0)
	for step := range 80 {
		id++
		switch r := rnd.IntN(10); {
		case r < 4:
			feed()
		case r < 7:
			advance()
		case r < 9:
			want := fullSnapshot(t, f, id)
			encode, err := f.CaptureSnapshot(id)
			if err != nil {
				t.Fatal(err)
			}
			// Batches and watermarks come while the encoding has copied only some of the
			// keys frozen: the operator copies first those it changes.
			for rnd.IntN(3) != 0 {
				f.copyPending(rnd.IntN(4))
				if rnd.IntN(2) == 0 {
					feed()
				} else {
					advance()
				}
			}
			type encoded struct {
				st  []byte
				err error
			}
			done := make(chan encoded, 1)
			go func() { // as the engine runs it: beside the operator, which goes on
				st, err := encode()
				done <- encoded{st, err}
			}()
			if rnd.IntN(2) == 0 {
				feed()
				advance()
			}
			e := <-done
			got, err := e.st, e.err
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("step %d: the snapshot through the kept copy (%d bytes) is not the full one (%d bytes)", step, len(got), len(want))
			}
			held := int64(0)
			for _, st := range f.kept.states {
				held += int64(len(st))
			}
			if f.kept.stateBytes() < held || f.StateBytes() < f.kept.stateBytes() {
				t.Fatalf("step %d: the copy holds %d bytes of figures, counts %d, state bytes %d", step, held, f.kept.stateBytes(), f.StateBytes())
			}
		case rnd.IntN(2) == 0: // a restart from a snapshot
			st, err := f.Snapshot(id)
			if err != nil {
				t.Fatal(err)
			}
			g := fresh()
			if err := g.Restore(st); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			f = g
		default: // a rescale: the keys move by owner, then come back to one subtask
			parts, err := f.SnapshotGroups(id, 3, cardOwner(3))
			if err != nil {
				t.Fatal(err)
			}
			g := fresh()
			if rnd.IntN(2) == 0 { // a subtask that took a checkpoint before it had keys
				if _, err := g.Snapshot(id); err != nil {
					t.Fatal(err)
				}
			}
			if err := g.RestoreParts(parts); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			f = g
		}
	}
}

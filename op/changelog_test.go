package op

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// changelogIn is the input of the changelog tests: a card, a value and whether the row
// belongs in the table.
var changelogIn = arrow.NewSchema([]arrow.Field{
	{Name: "card", Type: arrow.BinaryTypes.String},
	{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "keep", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

func newTestChangelog(t testing.TB, onWatermark bool) *Changelog {
	t.Helper()
	c, err := NewChangelog(ChangelogConfig{In: changelogIn, Keys: 1, Keep: 2, OnWatermark: onWatermark})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(Context{}); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestChangelogByHand checks each kind of change: a first row inserts, a different one
// updates with the old row before the new, an equal one and a row that does not belong for a
// key without one change nothing, a row that stops belonging deletes with the old row, and a
// deleted key inserts again. Null values are values; a null keep does not belong.
func TestChangelogByHand(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	c := newTestChangelog(t, false)
	step := func(cards, vals, keep []string) []string {
		rec := batch(t, mem, changelogIn, cards, vals, keep)
		defer rec.Release()
		return deliver(t, c, []msg{{rec: rec}}, false)
	}
	row := func(op, card, v string) string {
		return fmt.Sprintf(`{"_op":%q,"card":%q,"v":%q}`, op, card, v)
	}
	got := step([]string{"a", "b", "a", "c"}, []string{"1", "2", "1", "5"}, []string{"true", "true", "true", "false"})
	want := []string{row("+I", "a", "1"), row("+I", "b", "2"), "--"}
	if !slices.Equal(got, want) {
		t.Fatalf("first batch:\n%v\nwant\n%v", got, want)
	}
	got = step([]string{"a", "b", "b", "a"}, []string{"3", "NULL", "NULL", "3"}, []string{"true", "true", "true", "NULL"})
	want = []string{row("-U", "a", "1"), row("+U", "a", "3"), row("-U", "b", "2"), row("+U", "b", "(null)"), row("-D", "a", "3"), "--"}
	if !slices.Equal(got, want) {
		t.Fatalf("second batch:\n%v\nwant\n%v", got, want)
	}
	got = step([]string{"a", "b"}, []string{"4", "NULL"}, []string{"true", "true"})
	want = []string{row("+I", "a", "4"), "--"}
	if !slices.Equal(got, want) {
		t.Fatalf("third batch:\n%v\nwant\n%v", got, want)
	}
	if c.Keys() != 2 {
		t.Fatalf("holds %d keys, want a and b", c.Keys())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// Waiting for the watermark, a key's rows since the last one make one change.
	w := newTestChangelog(t, true)
	c = w
	if got := step([]string{"a", "a", "b", "b"}, []string{"1", "2", "7", "8"}, []string{"true", "true", "true", "false"}); len(got) != 0 {
		t.Fatalf("emitted before the watermark: %v", got)
	}
	got = deliver(t, w, []msg{{wm: 10}}, false)
	want = []string{row("+I", "a", "2"), "--"}
	if !slices.Equal(got, want) {
		t.Fatalf("at the watermark:\n%v\nwant\n%v", got, want)
	}
	step([]string{"a", "a"}, []string{"5", "2"}, []string{"true", "true"})
	if got := deliver(t, w, []msg{{wm: 10}, {wm: 20}}, true); len(got) != 0 {
		t.Fatalf("a row back to its old value changed the table: %v", got)
	}
	step([]string{"a"}, []string{"6"}, []string{"true"})
	got = deliver(t, w, nil, true)
	want = []string{row("-U", "a", "2"), row("+U", "a", "6"), "--"}
	if !slices.Equal(got, want) {
		t.Fatalf("at the end of the input:\n%v\nwant\n%v", got, want)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// applyChangelog applies changelog lines (as deliver renders them, batch ends included) to
// table, card to value, and fails on a change that does not fit the table: an insert of a
// key present, an update or delete of a key absent or with another row, an update before
// not followed by the key's update after.
func applyChangelog(t *testing.T, table map[string]string, lines []string) {
	t.Helper()
	var before map[string]string
	for _, l := range lines {
		if l == "--" {
			continue
		}
		var r map[string]string
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		old, has := table[r["card"]]
		if before != nil && (r["_op"] != OpUpdateAfter || r["card"] != before["card"]) {
			t.Fatalf("%s follows %v", l, before)
		}
		before = nil
		switch r["_op"] {
		case OpInsert:
			if has {
				t.Fatalf("%s: the key has %s", l, old)
			}
			table[r["card"]] = r["v"]
		case OpUpdateBefore, OpDelete:
			if !has || old != r["v"] {
				t.Fatalf("%s: the key has %q (present %v)", l, old, has)
			}
			delete(table, r["card"])
			if r["_op"] == OpUpdateBefore {
				before = r
			}
		case OpUpdateAfter:
			table[r["card"]] = r["v"]
		default:
			t.Fatalf("%s: unknown _op", l)
		}
	}
	if before != nil {
		t.Fatalf("%v is not followed by its update after", before)
	}
}

// TestChangelogAppliedIsTheTable sends random rows of 50 cards through keyed subtasks, with
// watermarks between batches, emitting per batch and on the watermark, rescaled from 2 to 3
// to 1 subtasks midway through snapshots: applying the changelog in order gives the table
// of each card's latest row that belongs, and every change fits the table it applies to.
func TestChangelogAppliedIsTheTable(t *testing.T) {
	for _, onWatermark := range []bool{false, true} {
		t.Run(fmt.Sprintf("on watermark %v", onWatermark), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			rng := rand.New(rand.NewPCG(3, 4))
			want := map[string]string{}
			var msgs []msg
			for b := range 60 {
				var cards, vals, keep []string
				for range 40 {
					card := "card" + strconv.Itoa(rng.IntN(50))
					v := strconv.Itoa(rng.IntN(4))
					k := rng.IntN(5) > 0
					cards, vals, keep = append(cards, card), append(vals, v), append(keep, strconv.FormatBool(k))
					if k {
						want[card] = v
					} else {
						delete(want, card)
					}
				}
				msgs = append(msgs, msg{rec: batch(t, mem, changelogIn, cards, vals, keep)}, msg{wm: int64(b)})
			}
			defer releaseStream(msgs)
			fresh := func() Operator { return newTestChangelog(t, onWatermark) }
			run := &keyedRun{t: t, mem: mem, subs: []Operator{fresh(), fresh()}}
			run.deliver(msgs[:41])
			run.rescale(fresh, 3)
			run.deliver(msgs[41:80])
			run.rescale(fresh, 1)
			run.deliver(msgs[80:])
			for _, o := range run.subs {
				run.out = append(run.out, deliver(t, o, nil, true)...)
				if err := o.Close(); err != nil {
					t.Fatal(err)
				}
			}
			got := map[string]string{}
			applyChangelog(t, got, run.out)
			if !maps.Equal(got, want) || len(want) < 20 {
				t.Fatalf("applied changelog:\n%v\nwant\n%v", got, want)
			}
		})
	}
}

// TestChangelogSnapshotsByKeyGroup splits a changelog's state by owner and restores the parts
// into one operator, which then carries on as the whole would.
func TestChangelogSnapshotsByKeyGroup(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	c := newTestChangelog(t, true)
	rec := batch(t, mem, changelogIn, []string{"a", "b", "c", "d"}, []string{"1", "2", "3", "4"}, []string{"true", "true", "true", "true"})
	deliver(t, c, []msg{{rec: rec}, {wm: 5}}, false)
	rec.Release()
	rec = batch(t, mem, changelogIn, []string{"a", "c"}, []string{"9", "3"}, []string{"true", "false"})
	deliver(t, c, []msg{{rec: rec}}, false)
	rec.Release()
	parts, err := c.SnapshotGroups(3, 4, cardOwner(4))
	if err != nil {
		t.Fatal(err)
	}
	r := newTestChangelog(t, true)
	if err := r.RestoreParts(parts); err != nil {
		t.Fatal(err)
	}
	got := deliver(t, r, []msg{{wm: 6}}, false)
	want := []string{`{"_op":"-U","card":"a","v":"1"}`, `{"_op":"+U","card":"a","v":"9"}`, `{"_op":"-D","card":"c","v":"3"}`, "--"}
	slices.Sort(got[:3])
	slices.Sort(want[:3])
	if !slices.Equal(got, want) {
		t.Fatalf("after restoring the parts:\n%v\nwant\n%v", got, want)
	}
	if r.Keys() != 3 {
		t.Fatalf("holds %d keys, want a, b and d", r.Keys())
	}
	if err := r.RestoreParts(parts); err == nil {
		t.Fatal("restored into an operator that holds keys")
	}
	for _, o := range []*Changelog{c, r} {
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

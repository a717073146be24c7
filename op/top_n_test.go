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

// topNIn is the input of the top tests: a card (the partition), a price and a row id.
var topNIn = arrow.NewSchema([]arrow.Field{
	{Name: "card", Type: arrow.BinaryTypes.String},
	{Name: "price", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// openTopN makes and opens a TopN of cfg.
func openTopN(t testing.TB, cfg TopNConfig) *TopN {
	t.Helper()
	top, err := NewTopN(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := top.Open(Context{}); err != nil {
		t.Fatal(err)
	}
	return top
}

func newTestTop(t testing.TB, n int) *TopN {
	return openTopN(t, TopNConfig{In: topNIn, Keys: []int{0}, By: 1, Desc: true, N: n})
}

// TestTopNByHand keeps the two largest prices per card: a row that enters deletes the row it
// pushes out, a row that ties with the last kept one does not enter, nulls rank last.
func TestTopNByHand(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	top := newTestTop(t, 2)
	defer func() { _ = top.Close() }()
	row := func(op, card, price, id string) string {
		return fmt.Sprintf(`{"_op":%q,"card":%q,"price":%q,"id":%q}`, op, card, price, id)
	}
	rec := batch(t, mem, topNIn, []string{"a", "a", "b", "a", "a", "a"}, []string{"5", "NULL", "1", "7", "5", "6"}, []string{"1", "2", "3", "4", "5", "6"})
	got := deliver(t, top, []msg{{rec: rec}}, false)
	rec.Release()
	want := []string{
		row("+I", "a", "5", "1"), row("+I", "a", "(null)", "2"), row("+I", "b", "1", "3"),
		row("-D", "a", "(null)", "2"), row("+I", "a", "7", "4"),
		row("-D", "a", "5", "1"), row("+I", "a", "6", "6"), "--",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%v\nwant\n%v", got, want)
	}
}

// TestTopNKeepsNoStringOfItsInput ranks by a string, first as By and then as a Then column
// behind equal ids, and overwrites a batch's text once the top has seen it: the values it
// keeps must be its own copies.
func TestTopNKeepsNoStringOfItsInput(t *testing.T) {
	for name, cfg := range map[string]TopNConfig{
		"by":   {In: topNIn, Keys: []int{1}, By: 0, Desc: true, N: 1},
		"then": {In: topNIn, Keys: []int{1}, By: 2, Then: []TopOrder{{Col: 0, Desc: true}}, N: 1},
	} {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			top := openTopN(t, cfg)
			defer func() { _ = top.Close() }()
			first := batch(t, mem, topNIn, []string{"m"}, []string{"1"}, []string{"1"})
			deliver(t, top, []msg{{rec: first}}, false)
			scribble(first) // "m" now reads "z", which "n" would not displace
			first.Release()
			second := batch(t, mem, topNIn, []string{"n"}, []string{"1"}, []string{"1"})
			defer second.Release()
			got := deliver(t, top, []msg{{rec: second}}, false)
			want := []string{`{"_op":"-D","card":"m","price":"1","id":"1"}`, `{"_op":"+I","card":"n","price":"1","id":"1"}`, "--"}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

// applyTop applies top changelog lines to table, partition (the column named key) to the
// ids of the rows it keeps and their values of the column named value, and fails on a
// delete of a row not kept or an insert of a row kept.
func applyTop(t *testing.T, table map[string]map[string]string, lines []string, key, value string) {
	t.Helper()
	for _, l := range lines {
		if l == "--" {
			continue
		}
		var r map[string]string
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		rows := table[r[key]]
		if rows == nil {
			rows = map[string]string{}
			table[r[key]] = rows
		}
		_, has := rows[r["id"]]
		switch {
		case r["_op"] == OpInsert && !has:
			rows[r["id"]] = r[value]
		case r["_op"] == OpDelete && has:
			delete(rows, r["id"])
		default:
			t.Fatalf("%s does not fit the table %v", l, rows)
		}
	}
}

// TestTopNAppliedIsTheTop sends random prices of 30 cards through keyed subtasks, rescaled
// from 2 to 3 to 1 midway through snapshots, and through one subtask without a stop: both
// changelogs, applied, keep per card the same rows, whose prices are the card's 3 largest.
func TestTopNAppliedIsTheTop(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(7, 8))
	prices := map[string][]int{}
	var msgs []msg
	id := 0
	for b := range 40 {
		var cards, ps, ids []string
		for range 25 {
			card, p := "card"+strconv.Itoa(rng.IntN(30)), rng.IntN(50)
			id++
			cards, ps, ids = append(cards, card), append(ps, strconv.Itoa(p)), append(ids, strconv.Itoa(id))
			prices[card] = append(prices[card], p)
		}
		msgs = append(msgs, msg{rec: batch(t, mem, topNIn, cards, ps, ids)}, msg{wm: int64(b)})
	}
	defer releaseStream(msgs)

	fresh := func() Operator { return newTestTop(t, 3) }
	run := &keyedRun{t: t, mem: mem, subs: []Operator{fresh(), fresh()}}
	run.deliver(msgs[:31])
	run.rescale(fresh, 3)
	run.deliver(msgs[31:60])
	run.rescale(fresh, 1)
	run.deliver(msgs[60:])
	run.finish()
	rescaled := map[string]map[string]string{}
	applyTop(t, rescaled, run.out, "card", "price")

	one := fresh()
	whole := map[string]map[string]string{}
	applyTop(t, whole, deliver(t, one, msgs, true), "card", "price")
	if err := one.Close(); err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(rescaled, whole, maps.Equal) {
		t.Fatalf("rescaled:\n%v\nin one subtask:\n%v", rescaled, whole)
	}
	for card, ps := range prices {
		slices.Sort(ps)
		slices.Reverse(ps)
		var kept []int
		for _, p := range whole[card] {
			v, _ := strconv.Atoi(p)
			kept = append(kept, v)
		}
		slices.Sort(kept)
		slices.Reverse(kept)
		if !slices.Equal(kept, ps[:min(3, len(ps))]) {
			t.Fatalf("card %s keeps prices %v, its largest are %v", card, kept, ps)
		}
	}
}

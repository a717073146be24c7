package op

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestTopNThenBreaksTies ranks random prices of 20 cards, most of them tied, by price
// (largest first) and then by id, ascending and descending, keeping 1 and 2 rows a card,
// through keyed subtasks rescaled from 2 to 3 to 1 midway and through one subtask: both
// changelogs, applied, keep per card exactly the rows first in that order. Ids run past 256,
// so the order of their encoded bytes, which breaks ties otherwise, is not theirs.
func TestTopNThenBreaksTies(t *testing.T) {
	for _, n := range []int{1, 2} {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("n %d, id desc %v", n, desc), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
				defer mem.AssertSize(t, 0)
				rng := rand.New(rand.NewPCG(3, uint64(n)))
				type bid struct{ price, id int }
				bids := map[string][]bid{}
				var msgs []msg
				id := 0
				for b := range 40 {
					var cards, ps, ids []string
					for range 25 {
						card, p := "card"+strconv.Itoa(rng.IntN(20)), 10*rng.IntN(3)
						id += 1 + rng.IntN(20)
						cards, ps, ids = append(cards, card), append(ps, strconv.Itoa(p)), append(ids, strconv.Itoa(id))
						bids[card] = append(bids[card], bid{p, id})
					}
					msgs = append(msgs, msg{rec: batch(t, mem, topNIn, cards, ps, ids)}, msg{wm: int64(b)})
				}
				defer releaseStream(msgs)

				fresh := func() Operator {
					return openTopN(t, TopNConfig{In: topNIn, Keys: []int{0}, By: 1, Desc: true, Then: []TopOrder{{Col: 2, Desc: desc}}, N: n})
				}
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
				for card, bs := range bids {
					slices.SortFunc(bs, func(a, b bid) int {
						if a.price != b.price {
							return b.price - a.price
						}
						if desc {
							return b.id - a.id
						}
						return a.id - b.id
					})
					want := map[string]string{}
					for _, b := range bs[:min(n, len(bs))] {
						want[strconv.Itoa(b.id)] = strconv.Itoa(b.price)
					}
					if !maps.Equal(whole[card], want) {
						t.Fatalf("card %s keeps %v, want %v", card, whole[card], want)
					}
				}
			})
		}
	}
}

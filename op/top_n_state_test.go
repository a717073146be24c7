package op

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestTopNCompactsItsState ranks 100,000 rows of 3,000 partitions, by an integer and by a
// string, so that rows pushed out and runs left behind fill most of the state: the
// changelog applied must keep per partition the rows ranked first, and after each batch
// the state must have been compacted.
func TestTopNCompactsItsState(t *testing.T) {
	const rows, parts, n = 100_000, 3_000, 5
	for _, byString := range []bool{false, true} {
		t.Run(fmt.Sprintf("by string %v", byString), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			rng := rand.New(rand.NewPCG(9, 10))
			order := rng.Perm(rows) // unique ranking values: no ties to break
			cfg := TopNConfig{In: topNIn, Keys: []int{0}, By: 1, Desc: true, N: n}
			key, rank := 0, 1
			if byString {
				cfg = TopNConfig{In: topNIn, Keys: []int{1}, By: 0, N: n}
				key, rank = 1, 0
			}
			top := openTopN(t, cfg)
			defer func() { _ = top.Close() }()
			type row struct{ key, rank, id string }
			byKey := map[string][]row{}
			kept := map[string]map[string]string{}
			for b := 0; b < rows; b += 1000 {
				cols := [3][]string{}
				for i := b; i < b+1000; i++ {
					r := [3]string{}
					r[key] = strconv.Itoa(rng.IntN(parts))
					r[rank] = strconv.Itoa(order[i])
					if byString {
						r[rank] = fmt.Sprintf("name-%08d", order[i])
					}
					r[2] = strconv.Itoa(i)
					for c := range cols {
						cols[c] = append(cols[c], r[c])
					}
					byKey[r[key]] = append(byKey[r[key]], row{r[key], r[rank], r[2]})
				}
				rec := batch(t, mem, topNIn, cols[0], cols[1], cols[2])
				lines := deliver(t, top, []msg{{rec: rec}}, false)
				rec.Release()
				applyTop(t, kept, lines, topNIn.Field(key).Name, topNIn.Field(rank).Name)
				if top.rows.wasteful() || top.strs.wasteful() || top.holes > 1024 && 2*top.holes > top.slots.len() {
					t.Fatalf("after row %d: not compacted: rows %d of %d dead, strings %d of %d, %d of %d slots left behind",
						b, top.rows.dead, top.rows.used, top.strs.dead, top.strs.used, top.holes, top.slots.len())
				}
			}
			want := map[string]map[string]string{}
			for k, rs := range byKey {
				slices.SortFunc(rs, func(a, b row) int {
					if byString {
						return cmp.Compare(a.rank, b.rank)
					}
					x, _ := strconv.Atoi(a.rank)
					y, _ := strconv.Atoi(b.rank)
					return cmp.Compare(y, x)
				})
				want[k] = map[string]string{}
				for _, r := range rs[:min(n, len(rs))] {
					want[k][r.id] = r.rank
				}
			}
			if !maps.EqualFunc(kept, want, maps.Equal) {
				t.Fatal("the changelog applied keeps other rows than the top ones")
			}
		})
	}
}

package op

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestDedupKeepsItsStateInArenas keeps the last of 200,000 rows of 2 × dedupBatchRows keys,
// half of them rows of a hundred hot keys, in order of time and of two lengths, so that
// their kept rows are replaced in place and moved over and over; it closes some intervals
// key by key and then the rest at once, and does it all again on the same operator. The
// rows kept must be the reference's, in batches of at most dedupBatchRows rows, with no
// state left behind and the arena of rows compacted.
func TestDedupKeepsItsStateInArenas(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	d, err := NewDedup(DedupConfig{Key: []int{0}, Time: 2, Within: 1_000, KeepLast: true, Schema: dedupSchema})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	rng := rand.New(rand.NewPCG(12, 13))
	keys := 2 * dedupBatchRows
	for round := range 2 {
		var events []dedupEvent
		ids, texts, times := []string{}, []string{}, []string{}
		t0 := int64(round) * 10_000
		for i := range 200_000 {
			// The key column is id (column 0): the text (column 1) is the row's payload.
			e := dedupEvent{key: strconv.Itoa(i), t: t0 + rng.Int64N(2_000), id: int64(rng.IntN(keys))}
			if i%2 == 0 { // a hot key, in order of time, whose kept row is replaced by every row
				e.id, e.t = e.id%100, t0+int64(i)/100
				e.key = fmt.Sprintf("%d%s", i, strings.Repeat("x", 40*(i/2%2)))
			}
			events = append(events, dedupEvent{key: strconv.FormatInt(e.id, 10), t: e.t, id: int64(i)})
			ids, texts, times = append(ids, strconv.FormatInt(e.id, 10)), append(texts, e.key), append(times, strconv.FormatInt(e.t, 10))
		}
		var out collect
		for b := 0; b < len(ids); b += 20_000 {
			rec := batch(t, mem, dedupSchema, ids[b:b+20_000], texts[b:b+20_000], times[b:b+20_000])
			if err := d.Process(0, rec, &out); err != nil {
				t.Fatal(err)
			}
		}
		if d.rows.wasteful() {
			t.Fatalf("round %d: %d of %d bytes of kept rows dead", round, d.rows.dead, d.rows.used)
		}
		if err := d.OnWatermark(t0+2_000, &out); err != nil { // intervals started before t0+1000 close
			t.Fatal(err)
		}
		if d.open == 0 || d.keys.len() == 0 {
			t.Fatalf("round %d: the first watermark closed every interval", round)
		}
		if err := d.OnWatermark(t0+5_000, &out); err != nil {
			t.Fatal(err)
		}
		if d.open != 0 || d.keys.len() != 0 || len(d.due) != 0 {
			t.Fatalf("round %d: %d intervals, %d keys and %d timers left", round, d.open, d.keys.len(), len(d.due))
		}
		var got []string
		for _, r := range out.recs {
			if r.NumRows() > dedupBatchRows {
				t.Fatalf("round %d: a batch of %d rows", round, r.NumRows())
			}
			for i := range int(r.NumRows()) {
				got = append(got, fmt.Sprintf("%s|%d", r.Column(1).ValueStr(i), r.Column(2).(*array.Timestamp).Value(i)))
			}
			r.Release()
		}
		slices.Sort(got)
		want, _ := referenceDedup(events, 1_000, true)
		for i, w := range want { // key|id|time: the id is the row number, which names its text
			var key, id, at int64
			if _, err := fmt.Sscanf(w, "%d|%d|%d", &key, &id, &at); err != nil {
				t.Fatal(err)
			}
			want[i] = fmt.Sprintf("%s|%s", texts[id], times[id])
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: %d rows kept, the reference keeps %d", round, len(got), len(want))
		}
	}
}

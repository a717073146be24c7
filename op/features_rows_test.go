package op

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// newRowsFeatures makes a Features over featInput whose range features cover each card's
// last n rows: count(*), sum(x) and count_distinct(m).
func newRowsFeatures(t testing.TB, mem memory.Allocator, n int, ttl time.Duration) *Features {
	t.Helper()
	calls := []FeatureCall{
		{Name: "n", Func: "count", Star: true, Text: "count(*)"},
		{Name: "s", Func: "sum", Args: []Evaluator{column(2)}, ArgTypes: []arrow.DataType{arrow.PrimitiveTypes.Int64}, Text: "sum(x)"},
		{Name: "d", Func: "count_distinct", Args: []Evaluator{column(3)}, ArgTypes: []arrow.DataType{arrow.BinaryTypes.String}, Text: "count_distinct(m)"},
	}
	f, err := NewFeatures(FeaturesConfig{In: featInput, Keys: []int{0}, Time: 1, Rows: n, TTL: ttl, Calls: calls})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	return f
}

// rowsRow is a row of the rows-frame tests as the reference sees it.
type rowsRow struct {
	card   string
	ts     int64
	x      int64
	hasX   bool
	m      string
	prefix string // the row rendered as jsonLines does, without its closing brace
}

// rowsStream makes batches of 12 cards' rows, out of order by up to 3 s with many peers
// (rows of a card at one millisecond), a watermark 3 s behind the latest after each batch;
// it returns them with every row as the reference reads it.
func rowsStream(t *testing.T, mem memory.Allocator, batches int) ([]msg, []rowsRow) {
	rnd := rand.New(rand.NewPCG(8, 1))
	var msgs []msg
	var all []rowsRow
	now := int64(1_000_000)
	for range batches {
		var rows []string
		var these []rowsRow
		for range 30 {
			now += rnd.Int64N(300)
			ts := now - rnd.Int64N(3000)
			if rnd.IntN(4) == 0 {
				ts = now - now%1000
			}
			r := rowsRow{card: fmt.Sprintf("c%d", rnd.IntN(12)), ts: ts, x: rnd.Int64N(50), hasX: rnd.IntN(8) > 0, m: fmt.Sprintf("m%d", rnd.IntN(5))}
			x := strconv.FormatInt(r.x, 10)
			if !r.hasX {
				x = "NULL"
			}
			rows = append(rows, fmt.Sprintf("%s %d %s %s 1.0 2.0", r.card, r.ts, x, r.m))
			these = append(these, r)
		}
		rec := featRows(t, mem, rows...)
		rec.Retain()
		for i, l := range jsonLines([]arrow.RecordBatch{rec}) {
			if l != "--" {
				these[i].prefix = strings.TrimSuffix(l, "}")
			}
		}
		all = append(all, these...)
		msgs = append(msgs, msg{rec: rec}, msg{wm: now - 3000})
	}
	return msgs, all
}

// rowsReference computes what a frame of each card's last n rows gives every row: a card's
// rows in event-time order, rows at one time by x (null first), then m.
func rowsReference(all []rowsRow, n int) []string {
	byCard := map[string][]rowsRow{}
	for _, r := range all {
		byCard[r.card] = append(byCard[r.card], r)
	}
	var out []string
	for _, rows := range byCard {
		slices.SortStableFunc(rows, func(a, b rowsRow) int {
			if c := cmp.Compare(a.ts, b.ts); c != 0 {
				return c
			}
			if a.hasX != b.hasX {
				return cmp.Compare(btoi(a.hasX), btoi(b.hasX))
			}
			if c := cmp.Compare(a.x, b.x); c != 0 {
				return c
			}
			return cmp.Compare(a.m, b.m)
		})
		for i, r := range rows {
			frame := rows[max(0, i-n+1) : i+1]
			sum, summed, distinct := int64(0), false, map[string]bool{}
			for _, f := range frame {
				if f.hasX {
					sum, summed = sum+f.x, true
				}
				distinct[f.m] = true
			}
			s := "(null)"
			if summed {
				s = strconv.FormatInt(sum, 10)
			}
			out = append(out, fmt.Sprintf(`%s,"n":"%d","s":%q,"d":"%d"}`, r.prefix, len(frame), s, len(distinct)))
		}
	}
	slices.Sort(out)
	return out
}

// TestFeaturesRowsFrame checks a frame of each key's last 4 rows against the reference:
// rows out of order and peers taken one by one, each seeing the 3 before it; then the same
// run stopped and resumed from snapshots, and spread over 2, 3 and 1 subtasks by key.
func TestFeaturesRowsFrame(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	msgs, all := rowsStream(t, mem, 30)
	defer releaseStream(msgs)
	want := rowsReference(all, 4)
	fresh := func() Operator { return newRowsFeatures(t, mem, 4, 0) }
	got := rowsOnly(deliver(t, fresh(), msgs, true))
	if len(got) != len(all) {
		t.Fatalf("%d rows out of %d", len(got), len(all))
	}
	compareLines(t, "rows: 4", got, want)
	checkResumes(t, fresh, msgs, []int{1, 2, 11, 31, 58})
	k := &keyedRun{t: t, mem: mem, subs: []Operator{fresh(), fresh()}}
	k.deliver(msgs[:20])
	k.rescale(fresh, 3)
	k.deliver(msgs[20:40])
	k.rescale(fresh, 1)
	k.deliver(msgs[40:])
	compareLines(t, "rescaled 2 to 3 to 1", rowsOnly(k.finish()), want)
}

// TestFeaturesRowsFrameTTL checks that with a ttl a key's frame goes once the ttl passes
// after its last row: the watermark forgets the key, and a row after a long gap sees only
// itself; without a ttl the frame stays.
func TestFeaturesRowsFrameTTL(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	for _, c := range []struct {
		ttl  time.Duration
		want string
		keys int
	}{{10 * time.Second, `"n":"1","s":"7","d":"1"}`, 0}, {0, `"n":"3","s":"13","d":"2"}`, 1}} {
		f := newRowsFeatures(t, mem, 3, c.ttl)
		first := featRows(t, mem, "a 1000 1 m1 0 0", "a 2000 5 m2 0 0")
		deliver(t, f, []msg{{rec: first}, {wm: 3000}, {wm: 20_000}}, false)
		first.Release()
		if len(f.slots) != c.keys {
			t.Errorf("ttl %s: %d keys held at watermark 20 s, want %d", c.ttl, len(f.slots), c.keys)
		}
		later := featRows(t, mem, "a 30000 7 m1 0 0")
		lines := rowsOnly(deliver(t, f, []msg{{rec: later}}, true))
		later.Release()
		if len(lines) != 1 || !strings.HasSuffix(lines[0], c.want) {
			t.Errorf("ttl %s: %v, want a row ending %s", c.ttl, lines, c.want)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewFeatures(FeaturesConfig{In: featInput, Keys: []int{0}, Time: 1, Rows: 3, Range: time.Second}); err == nil {
		t.Error("a frame of both rows and range was accepted")
	}
}

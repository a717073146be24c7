package op

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// sessionEvent is one input row of the session tests; amount 0 with null set is a null.
type sessionEvent struct {
	card   string
	ts     int64
	amount int64
	null   bool
}

// newSessionAgg builds a Single session aggregation of count(*) and sum(amount) over rawIn,
// grouped by card (keys 1) or over all rows (keys 0).
func newSessionAgg(t testing.TB, mem memory.Allocator, gap time.Duration, keys int) *WindowAgg {
	t.Helper()
	calls := []AggCall{{Name: "count"}, {Name: "sum", Args: []int{2}, ArgTypes: []arrow.DataType{amtType}}}
	w, err := NewWindowAgg(WindowAggConfig{Window: window.Spec{Kind: window.Session, Gap: gap}, Keys: keys, Time: 1, Calls: calls, Phase: Single})
	if err != nil {
		t.Fatal(err)
	}
	var f []arrow.Field
	if keys == 1 {
		f = append(f, arrow.Field{Name: "card", Type: arrow.BinaryTypes.String})
	}
	f = append(f, arrow.Field{Name: "window_start", Type: tsType}, arrow.Field{Name: "window_end", Type: tsType})
	for i, rt := range w.ResultTypes() {
		f = append(f, arrow.Field{Name: fmt.Sprintf("r%d", i), Type: rt, Nullable: true})
	}
	w.cfg.Out = arrow.NewSchema(f, nil)
	if err := w.Open(Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	return w
}

func sessionBatch(mem memory.Allocator, events []sessionEvent) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, rawIn)
	defer b.Release()
	for _, e := range events {
		b.Field(0).(*array.StringBuilder).Append(e.card)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(e.ts))
		if e.null {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(e.amount))
		}
	}
	return b.NewRecordBatch()
}

// firedSession is one output row: "card@start" and "end count sum".
type firedSession struct {
	id, val string
	end     int64
}

// sessionRows renders the rows of fired batches in emission order and releases the batches.
func sessionRows(t *testing.T, recs []arrow.RecordBatch, keys int) []firedSession {
	t.Helper()
	var out []firedSession
	for _, r := range recs {
		card := func(int) string { return "*" }
		if keys == 1 {
			card = r.Column(0).(*array.String).Value
		}
		start := r.Column(keys).(*array.Timestamp)
		end := r.Column(keys + 1).(*array.Timestamp)
		count := r.Column(keys + 2).(*array.Int64)
		sum := r.Column(keys + 3).(*array.Decimal128)
		for i := range int(r.NumRows()) {
			s := "NULL"
			if sum.IsValid(i) {
				s = sum.Value(i).ToString(2)
			}
			out = append(out, firedSession{
				id:  fmt.Sprintf("%s@%d", card(i), start.Value(i)),
				val: fmt.Sprintf("%d %d %s", end.Value(i), count.Value(i), s),
				end: int64(end.Value(i)),
			})
		}
		r.Release()
	}
	return out
}

// referenceSessions computes the sessions row by row, from the definition: sort each key's
// events by time and cut where the next event is gap or more after the previous one.
func referenceSessions(events []sessionEvent, gap int64, keys int) []firedSession {
	byCard := map[string][]sessionEvent{}
	for _, e := range events {
		c := "*"
		if keys == 1 {
			c = e.card
		}
		byCard[c] = append(byCard[c], e)
	}
	var out []firedSession
	for c, evs := range byCard {
		slices.SortStableFunc(evs, func(a, b sessionEvent) int { return cmp.Compare(a.ts, b.ts) })
		for i := 0; i < len(evs); {
			j, n := i, int64(0)
			var sum decimal128.Num
			sums := false
			for ; j < len(evs) && (j == i || evs[j].ts-evs[j-1].ts < gap); j++ {
				n++
				if !evs[j].null {
					sum, sums = sum.Add(decimal128.FromI64(evs[j].amount)), true
				}
			}
			s := "NULL"
			if sums {
				s = sum.ToString(2)
			}
			end := evs[j-1].ts + gap
			out = append(out, firedSession{id: fmt.Sprintf("%s@%d", c, evs[i].ts), val: fmt.Sprintf("%d %d %s", end, n, s), end: end})
			i = j
		}
	}
	return out
}

// randomSessionEvents makes n events over a few cards on a 1s grid, so that events exactly a
// gap apart are common, and shuffles each one back by up to bound: the arrival order is the
// order of the undisturbed times, as a source with that out-of-order allowance delivers them.
func randomSessionEvents(r *rand.Rand, n int, bound int64) []sessionEvent {
	base := int64(1_700_000_000_000)
	out := make([]sessionEvent, n)
	for i := range out {
		switch r.IntN(10) {
		case 0:
			base += 15_000 + r.Int64N(30)*1000 // a pause: most keys' sessions end
		default:
			base += r.Int64N(4) * 1000
		}
		out[i] = sessionEvent{
			card:   fmt.Sprintf("c%d", r.IntN(6)),
			ts:     base - r.Int64N(bound/1000+1)*1000,
			amount: r.Int64N(100000) - 500,
			null:   r.IntN(20) == 0,
		}
	}
	return out
}

// TestWindowAggSessionsMatchReference feeds out-of-order rows in random batches with the
// watermark a bound behind the latest event time, and checks after every watermark that
// exactly the sessions of the reference that end at or before it have fired, with equal
// counts and sums, in order of their ends.
func TestWindowAggSessionsMatchReference(t *testing.T) {
	const gap, bound = 10_000, 20_000
	bridges := 0
	for _, keys := range []int{1, 0} {
		for seed := range uint64(8) {
			r := rand.New(rand.NewPCG(seed, 31))
			events := randomSessionEvents(r, 600+r.IntN(600), bound)
			want := map[string]firedSession{}
			for _, s := range referenceSessions(events, gap, keys) {
				want[s.id] = s
			}
			bridges += countBridges(events, gap, keys)

			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			w := newSessionAgg(t, mem, gap*time.Millisecond, keys)
			got := map[string]string{}
			lastEnd, maxSeen := int64(0), int64(0)
			wm := int64(MinWatermark)
			advance := func(to int64) {
				t.Helper()
				var out collect
				if err := w.OnWatermark(to, &out); err != nil {
					t.Fatal(err)
				}
				for _, s := range sessionRows(t, out.recs, keys) {
					if _, dup := got[s.id]; dup {
						t.Fatalf("keys %d seed %d: session %s fired twice", keys, seed, s.id)
					}
					if s.end < lastEnd || !window.Fires(s.end, to) {
						t.Fatalf("keys %d seed %d: session %s ending %d fired after one ending %d, at watermark %d", keys, seed, s.id, s.end, lastEnd, to)
					}
					got[s.id], lastEnd = s.val, s.end
				}
				for id, s := range want {
					if window.Fires(s.end, to) && got[id] != s.val {
						t.Fatalf("keys %d seed %d: at watermark %d session %s = %q, want %q", keys, seed, to, id, got[id], s.val)
					}
				}
			}
			for rest := events; len(rest) > 0; {
				n := min(len(rest), 1+r.IntN(80))
				for _, e := range rest[:n] {
					if e.ts < wm {
						t.Fatalf("test data: event at %d behind watermark %d", e.ts, wm)
					}
					maxSeen = max(maxSeen, e.ts)
				}
				if err := w.Process(0, sessionBatch(mem, rest[:n]), &collect{}); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
				wm = max(wm, maxSeen-bound)
				advance(wm)
			}
			advance(MaxWatermark)
			if len(got) != len(want) {
				t.Fatalf("keys %d seed %d: %d sessions fired, want %d", keys, seed, len(got), len(want))
			}
			if w.Groups() != 0 || len(w.sess.slots) != 0 || len(w.sess.heap) != 0 {
				t.Fatalf("keys %d seed %d: state left after the final watermark: %d groups, %d keys, %d timers", keys, seed, w.Groups(), len(w.sess.slots), len(w.sess.heap))
			}
			mem.AssertSize(t, 0)
		}
	}
	if bridges == 0 {
		t.Fatal("test data has no event that bridges two sessions")
	}
}

// countBridges counts the events that, in arrival order, merge two open sessions.
func countBridges(events []sessionEvent, gap int64, keys int) int {
	byCard := map[string]*window.Sessions{}
	n := 0
	for _, e := range events {
		c := "*"
		if keys == 1 {
			c = e.card
		}
		if byCard[c] == nil {
			s := window.NewSessions(time.Duration(gap) * time.Millisecond)
			byCard[c] = &s
		}
		if byCard[c].Insert(e.ts, 0).Merged {
			n++
		}
	}
	return n
}

func TestWindowAggSessionBridge(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	w := newSessionAgg(t, mem, 10*time.Millisecond, 1)
	steps := []struct {
		ts       int64
		sessions int
	}{
		{100, 1}, // [100, 110)
		{125, 2}, // [125, 135)
		{115, 3}, // [115, 125): touches [125, 135) without overlapping it
		{108, 2}, // bridges [100, 110) and [115, 125): [100, 125)
		{120, 1}, // bridges [100, 125) and [125, 135): [100, 135)
	}
	for i, s := range steps {
		rec := sessionBatch(mem, []sessionEvent{{card: "a", ts: s.ts, amount: int64(i + 1)}})
		if err := w.Process(0, rec, &collect{}); err != nil {
			t.Fatal(err)
		}
		if w.Groups() != s.sessions {
			t.Fatalf("after the event at %d: %d sessions, want %d", s.ts, w.Groups(), s.sessions)
		}
		var out collect
		if err := w.OnWatermark(95, &out); err != nil || len(out.recs) != 0 {
			t.Fatalf("watermark 95 fired %d batches (%v)", len(out.recs), err)
		}
	}
	var out collect
	if err := w.OnWatermark(134, &out); err != nil || len(out.recs) != 0 {
		t.Fatalf("fired before the merged session's end: %v %d", err, len(out.recs))
	}
	if err := w.OnWatermark(135, &out); err != nil {
		t.Fatal(err)
	}
	got := sessionRows(t, out.recs, 1)
	if want := []firedSession{{id: "a@100", val: "135 5 0.15", end: 135}}; !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if w.Groups() != 0 || len(w.free) != 3 {
		t.Fatalf("after firing: %d sessions, %d free groups, want 0 and 3", w.Groups(), len(w.free))
	}
}

// TestWindowAggSessionsFireInEndOrder checks that sessions fire at their end, not at a timer
// set before they grew, and across keys in order of their ends.
func TestWindowAggSessionsFireInEndOrder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	w := newSessionAgg(t, mem, 10*time.Millisecond, 1)
	feed := func(evs ...sessionEvent) {
		t.Helper()
		if err := w.Process(0, sessionBatch(mem, evs), &collect{}); err != nil {
			t.Fatal(err)
		}
	}
	fire := func(wm int64) []string {
		t.Helper()
		var out collect
		if err := w.OnWatermark(wm, &out); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range sessionRows(t, out.recs, 1) {
			ids = append(ids, s.id+"-"+strings.Fields(s.val)[0])
		}
		return ids
	}
	feed(sessionEvent{card: "a", ts: 100}, sessionEvent{card: "b", ts: 102}, sessionEvent{card: "c", ts: 130})
	// a grows to [100, 118) after its first timer (110) was set; b stays [102, 112).
	feed(sessionEvent{card: "a", ts: 108})
	// c opens a session before its first, out of order: [95, 105) fires before [130, 140).
	feed(sessionEvent{card: "c", ts: 95})
	if got := fire(104); len(got) != 0 {
		t.Fatalf("fired %v at 104", got)
	}
	if got, want := fire(112), []string{"c@95-105", "b@102-112"}; !slices.Equal(got, want) {
		t.Fatalf("fired %v at 112, want %v", got, want)
	}
	feed(sessionEvent{card: "b", ts: 112}) // a new session of b, [112, 122)
	if got, want := fire(200), []string{"a@100-118", "b@112-122", "c@130-140"}; !slices.Equal(got, want) {
		t.Fatalf("fired %v at 200, want %v", got, want)
	}
	if w.Groups() != 0 || len(w.sess.slots) != 0 {
		t.Fatalf("state left: %d sessions, %d keys", w.Groups(), len(w.sess.slots))
	}
}

func TestWindowAggSessionsSinglePhaseOnly(t *testing.T) {
	for _, phase := range []Phase{Partial, Final} {
		_, err := NewWindowAgg(WindowAggConfig{Window: window.Spec{Kind: window.Session, Gap: time.Minute}, Keys: 1, Time: 1, Calls: []AggCall{{Name: "count"}}, Phase: phase})
		if err == nil || !strings.Contains(err.Error(), "one phase") {
			t.Fatalf("phase %d: err = %v, want a refusal", phase, err)
		}
	}
}

func BenchmarkWindowAggSessions(b *testing.B) {
	const keys, rows = 1000, 4096
	r := rand.New(rand.NewPCG(5, 6))
	w := newSessionAgg(b, memory.DefaultAllocator, 30*time.Second, 1)
	cards := make([]string, keys)
	for i := range cards {
		cards[i] = fmt.Sprintf("card-%04d", i)
	}
	events := make([]sessionEvent, rows)
	base := int64(0)
	for b.Loop() {
		b.StopTimer()
		for i := range events {
			base += 20 // a key's events come ~20s apart, within the gap
			events[i] = sessionEvent{card: cards[r.IntN(keys)], ts: base - r.Int64N(5000), amount: r.Int64N(10000)}
		}
		rec := sessionBatch(memory.DefaultAllocator, events)
		b.StartTimer()
		if err := w.Process(0, rec, &collect{}); err != nil {
			b.Fatal(err)
		}
		var out collect
		if err := w.OnWatermark(base-5000, &out); err != nil {
			b.Fatal(err)
		}
		for _, o := range out.recs {
			o.Release()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}

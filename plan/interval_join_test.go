package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"millrace/engine"
	"millrace/engine/enginetest"
	"millrace/spec"
)

// streamRow is a row of the auths or settlements file of the join tests.
type streamRow struct {
	id string
	ts int64 // ms
	n  int   // a value carried along
}

const joinDisorder = 30_000 // the sources' watermark: 30s

// writeJoinInputs writes auths and settlements as JSONL files in dir, each roughly in time
// order with disorder within the watermark, some rows late (further behind), equal
// timestamps, settlements at both bounds of [0s, 72h] and just outside, and settlements of
// no authorisation. It returns the paths and the rows of each, in file order.
func writeJoinInputs(t testing.TB, dir string, seed uint64, n int) (paths [2]string, rows [2][]streamRow) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	const hour = int64(time.Hour / time.Millisecond)
	for i := range n {
		a := streamRow{id: fmt.Sprintf("t%05d", rng.IntN(n*9/10)), ts: base + int64(i)*20_000 + int64(rng.IntN(20_000)), n: i}
		rows[0] = append(rows[0], a)
		if rng.IntN(10) < 8 {
			var delay int64
			switch rng.IntN(8) {
			case 0:
				delay = 0 // equal times
			case 1:
				delay = 72 * hour // the upper bound
			case 2:
				delay = 72*hour + 1 // just outside
			case 3:
				delay = -1 // just before
			default:
				delay = int64(rng.IntN(int(80 * hour)))
			}
			rows[1] = append(rows[1], streamRow{id: a.id, ts: a.ts + delay, n: 100_000 + i})
		}
		if rng.IntN(20) == 0 {
			rows[1] = append(rows[1], streamRow{id: fmt.Sprintf("x%05d", i), ts: a.ts + int64(rng.IntN(int(hour))), n: 200_000 + i})
		}
	}
	for side := range 2 {
		r := rows[side]
		slices.SortStableFunc(r, func(a, b streamRow) int { return int(a.ts - b.ts) })
		for i := range r { // disorder within the watermark
			if k := i + 1 + rng.IntN(4); k < len(r) && r[k].ts-r[i].ts < joinDisorder && rng.IntN(3) == 0 {
				r[i], r[k] = r[k], r[i]
			}
		}
		for i := 50; i < len(r); i += 97 { // late: ten minutes behind
			r[i].ts -= 10 * 60_000
		}
		var b strings.Builder
		for _, row := range r {
			fmt.Fprintf(&b, `{"tx_id":%q,"ts":%d,"n":%d}`+"\n", row.id, row.ts, row.n)
		}
		paths[side] = filepath.Join(dir, [2]string{"auths.jsonl", "settlements.jsonl"}[side])
		if err := os.WriteFile(paths[side], []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return paths, rows
}

// onTime splits rows, in file order, into those on time and the late ones, as a source
// with a watermark of joinDisorder decides.
func onTime(rows []streamRow) (kept []streamRow, late int) {
	maxSeen := int64(-1 << 62)
	for _, r := range rows {
		if r.ts < maxSeen-joinDisorder {
			late++
			continue
		}
		kept = append(kept, r)
		maxSeen = max(maxSeen, r.ts)
	}
	return kept, late
}

// referenceStreamJoin joins the on-time rows pair by pair (each authorisation with every
// settlement of its id) and renders each output row as
// the test's sink writes it: id|auth n|settlement n|event time ms, "-" for null; and counts
// the output rows per hour of event time.
func referenceStreamJoin(rows [2][]streamRow, lo, hi int64, ty spec.JoinType) ([]string, map[int64]int) {
	var l, r []streamRow
	l, _ = onTime(rows[0])
	r, _ = onTime(rows[1])
	var out []string
	hours := map[int64]int{}
	add := func(id, ln, rn string, at int64) {
		out = append(out, fmt.Sprintf("%s|%s|%s|%d", id, ln, rn, at))
		hours[at-at%3_600_000]++
	}
	lm, rm := make([]bool, len(l)), make([]bool, len(r))
	byID := map[string][]int{} // the settlements of each id, so the loop visits only those
	for k, s := range r {
		byID[s.id] = append(byID[s.id], k)
	}
	for i, a := range l {
		for _, k := range byID[a.id] {
			if s := r[k]; s.ts-a.ts >= lo && s.ts-a.ts <= hi {
				lm[i], rm[k] = true, true
				add(a.id, fmt.Sprint(a.n), fmt.Sprint(s.n), max(a.ts, s.ts))
			}
		}
	}
	if ty == spec.LeftJoin || ty == spec.FullJoin {
		for i, a := range l {
			if !lm[i] {
				add(a.id, fmt.Sprint(a.n), "-", a.ts)
			}
		}
	}
	if ty == spec.RightJoin || ty == spec.FullJoin {
		for k, s := range r {
			if !rm[k] {
				add(s.id, "-", fmt.Sprint(s.n), s.ts)
			}
		}
	}
	slices.Sort(out)
	return out, hours
}

const joinSpec = `
name: settle
sources:
  auths: {kind: file, path: %s, columns: {tx_id: string, ts: timestamp, "n": int64}, event_time: ts, watermark: 30s}
  settlements: {kind: file, path: %s, columns: {tx_id: string, ts: timestamp, "n": int64}, event_time: ts, watermark: 30s}
views:
  settled:
    from: auths
    join: {stream: settlements, on: tx_id, within: [0s, 72h], type: %s}
    select:
      tx_id: tx_id
      auth_n: '"n"'
      settle_n: settlements_n
      at_ms: epoch_ms(event_time)
      auth_ts: ts
      event_time: event_time
  hourly:
    from: settled
    window: {tumble: 1h}
    select: {rows: count(*)}
sinks:
  settled: {from: settled, kind: jsonl, path: %s}
  hourly: {from: hourly, kind: jsonl, path: %s}
  late: {from: settlements.late, kind: jsonl, path: %s}
`

// joinRun plans the join spec of type ty over paths, writing into out.
func joinRun(t *testing.T, paths [2]string, ty spec.JoinType, out string, p int) *Plan {
	t.Helper()
	text := fmt.Sprintf(joinSpec, paths[0], paths[1], ty, filepath.Join(out, "settled"), filepath.Join(out, "hourly"), filepath.Join(out, "late"))
	s, err := spec.Parse([]byte(text), "settle.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: p, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// sinkLines reads every JSON line of the files of a sink directory.
func sinkLines(t *testing.T, dir string) []map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
			if line == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, m)
		}
	}
	return out
}

// settledRows renders the settled sink's rows as referenceStreamJoin does.
func settledRows(t *testing.T, out string) []string {
	t.Helper()
	val := func(v any) string {
		switch v := v.(type) {
		case nil:
			return "-"
		case float64:
			return fmt.Sprint(int64(v))
		}
		return fmt.Sprint(v)
	}
	var rows []string
	for _, m := range sinkLines(t, filepath.Join(out, "settled")) {
		rows = append(rows, fmt.Sprintf("%s|%s|%s|%s", val(m["tx_id"]), val(m["auth_n"]), val(m["settle_n"]), val(m["at_ms"])))
	}
	slices.Sort(rows)
	return rows
}

// hourlyRows reads the hourly sink's counts by window start, in ms.
func hourlyRows(t *testing.T, out string) map[int64]int {
	t.Helper()
	got := map[int64]int{}
	for _, m := range sinkLines(t, filepath.Join(out, "hourly")) {
		start, err := time.Parse(time.RFC3339Nano, m["window_start"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := got[start.UnixMilli()]; dup {
			t.Fatalf("window %s came out twice", start)
		}
		got[start.UnixMilli()] = int(m["rows"].(float64))
	}
	return got
}

// TestIntervalJoinMatchesAReference runs a join of authorisations with their settlements
// within [0s, 72h], of every type, at parallelism 1 to 8, and compares the joined rows with
// a nested loop over the on-time rows: equal times and both bounds join, a millisecond
// outside does not, late rows of either side go to the late stream, counted, and join
// nothing, and each unmatched row of an outer side comes out exactly once. A tumbling
// window over the join's event time counts the joined rows per hour: the outer rows, which
// come out long after the watermark passed them, still land in their windows, each window
// firing once.
func TestIntervalJoinMatchesAReference(t *testing.T) {
	dir := t.TempDir()
	paths, rows := writeJoinInputs(t, dir, 1, 1500)
	_, lateAuths := onTime(rows[0])
	_, lateSettlements := onTime(rows[1])
	parallelisms := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		parallelisms = []int{1, 3, 8}
	}
	for _, ty := range []spec.JoinType{spec.InnerJoin, spec.LeftJoin, spec.RightJoin, spec.FullJoin} {
		want, wantHours := referenceStreamJoin(rows, 0, 72*3_600_000, ty)
		for _, p := range parallelisms {
			out := filepath.Join(dir, fmt.Sprintf("%s-%d", ty, p))
			pl := joinRun(t, paths, ty, out, p)
			stats, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions())
			if err != nil {
				t.Fatalf("%s join at %d: %v", ty, p, err)
			}
			if got := settledRows(t, out); !slices.Equal(got, want) {
				t.Fatalf("%s join at %d: %d rows, want %d; %s", ty, p, len(got), len(want), firstDifference(got, want))
			}
			if got := hourlyRows(t, out); !mapsEqual(got, wantHours) {
				t.Fatalf("%s join at %d: %d hourly windows, want %d, or their counts differ", ty, p, len(got), len(wantHours))
			}
			l := pl.Ledger(stats)
			if !l.Balanced() || l.Sources[0].Late != int64(lateAuths) || l.Sources[1].Late != int64(lateSettlements) || lateAuths == 0 {
				t.Fatalf("%s join at %d: ledger, want %d and %d late:\n%s", ty, p, lateAuths, lateSettlements, l)
			}
			if v := l.Views[0]; v.In != l.Sources[0].Accepted+l.Sources[1].Accepted || v.Out != int64(len(want)) {
				t.Fatalf("%s join at %d: view ledger %+v", ty, p, v)
			}
			if late := sinkLines(t, filepath.Join(out, "late")); len(late) != lateSettlements {
				t.Fatalf("%s join at %d: %d late settlements written, %d counted", ty, p, len(late), lateSettlements)
			}
		}
	}
}

// TestIntervalJoinResumesFromACheckpoint stops a full join at a checkpoint taken by key
// group, resumes it at another parallelism, stops it again and finishes it at a third:
// the joined rows and the hourly windows after the join equal the reference, nothing lost
// and nothing twice.
func TestIntervalJoinResumesFromACheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("joins 120,000 authorisations with their settlements in three runs")
	}
	dir := t.TempDir()
	paths, rows := writeJoinInputs(t, dir, 2, 120_000)
	want, wantHours := referenceStreamJoin(rows, 0, 72*3_600_000, spec.FullJoin)
	out := filepath.Join(dir, "out")
	runResumed(t, []enginetest.Stage{{P: 3, ByGroup: true}, {P: 5, ByGroup: false}, {P: 1, ByGroup: false}}, func(p int) *Plan {
		return joinRun(t, paths, spec.FullJoin, out, p)
	})
	if got := settledRows(t, out); !slices.Equal(got, want) {
		t.Fatalf("%d rows, want %d; %s", len(got), len(want), firstDifference(got, want))
	}
	if got := hourlyRows(t, out); !mapsEqual(got, wantHours) {
		t.Fatalf("%d hourly windows, want %d, or their counts differ", len(got), len(wantHours))
	}
}

func mapsEqual(a, b map[int64]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func firstDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at %d: %s, want %s", i, got[i], want[i])
		}
	}
	return "one is a prefix of the other"
}

// TestIntervalJoinPlanErrors checks what a join with a stream refuses, each error naming
// the key path.
func TestIntervalJoinPlanErrors(t *testing.T) {
	dir := t.TempDir()
	paths, _ := writeJoinInputs(t, dir, 3, 10)
	cases := map[string]string{
		"join: {stream: settlements, on: tx_id, within: [0s, 1h]}\n    group_by: [tx_id]\n    select: {n: count(*)}": "views.v.group_by: cannot be combined with a join with a stream in one view; put it in a view that reads v",
		"join: {stream: settlements, on: card_id, within: [0s, 1h]}":                                                 `views.v.join.on: column "card_id" must be in both the input (tx_id utf8, ts timestamp[ms, tz=UTC], n int64) and stream settlements`,
		"join: {stream: settlements, on: tx_id, within: [0s, 1h]}\n    select: {x: settlements_ts, y: nope}":         `views.v.select.y: unknown column "nope"`,
		"join: {stream: settlements, on: tx_id, within: [0s, 1h]}\n    dedup: {key: tx_id, within: 1h}":              "views.v.dedup: cannot be combined with a join with a stream in one view; put it in a view that reads v",
		"join: {stream: renamed, on: tx_id, within: [0s, 1h]}":                                                       `views.v.join: the join adds the column event_time, the joined row's event time, but an input has one: rename it in a view`,
	}
	for clauses, want := range cases {
		text := fmt.Sprintf(`
name: test
sources:
  auths: {kind: file, path: %s, columns: {tx_id: string, ts: timestamp, "n": int64}, event_time: ts}
  settlements: {kind: file, path: %s, columns: {tx_id: string, ts: timestamp, "n": int64}, event_time: ts}
views:
  renamed: {from: settlements, select: {tx_id: tx_id, ts: ts, event_time: ts}}
  v:
    from: auths
    %s
sinks:
  out: {from: v, kind: jsonl, path: %s}
`, paths[0], paths[1], clauses, filepath.Join(dir, "o.jsonl"))
		s, err := spec.Parse([]byte(text), "test.yaml", nil)
		if err != nil {
			t.Fatalf("%s: %v", clauses, err)
		}
		_, err = Build(s, Options{Parallelism: 2})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %s", clauses, err, want)
		}
	}
}

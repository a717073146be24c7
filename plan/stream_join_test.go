package plan

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"millrace/engine"
	"millrace/engine/enginetest"
	"millrace/spec"
)

// kindsSpec joins authorisations with settlements three ways: as of each authorisation's
// time (the settlements being versions by tx_id), in hopping windows of 2 hours every hour,
// and regularly with a TTL of 24 hours.
const kindsSpec = `
name: kinds
sources:
  auths: {kind: file, path: %[1]s, columns: {tx_id: string, ts: timestamp, "n": int64}, event_time: ts, watermark: 30s}
  settlements: {kind: file, path: %[2]s, columns: {tx_id: string, ts: timestamp, "n": int64}, event_time: ts, watermark: 30s}
views:
  asof:
    from: auths
    join: {stream: settlements, on: tx_id, as_of: true, type: %[3]s}
    select: {tx_id: tx_id, a: '"n"', b: settlements_n, ms: epoch_ms(ts)}
  windowed:
    from: auths
    join: {stream: settlements, on: tx_id, window: {hop: 2h, every: 1h}, type: %[3]s}
    select: {tx_id: tx_id, a: '"n"', b: settlements_n, ms: epoch_ms(window_start)}
  regular:
    from: auths
    join: {stream: settlements, on: tx_id, ttl: 24h}
    select: {tx_id: tx_id, a: '"n"', b: settlements_n, ms: epoch_ms(event_time)}
sinks:
  asof: {from: asof, kind: jsonl, path: %[4]s/asof}
  windowed: {from: windowed, kind: jsonl, path: %[4]s/windowed}
  regular: {from: regular, kind: jsonl, path: %[4]s/regular}
`

// kindsRows reads a sink of kindsSpec as id|a|b|ms, "-" for null, sorted.
func kindsRows(t *testing.T, dir string) []string {
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
	for _, m := range sinkLines(t, dir) {
		rows = append(rows, fmt.Sprintf("%s|%s|%s|%s", val(m["tx_id"]), val(m["a"]), val(m["b"]), val(m["ms"])))
	}
	slices.Sort(rows)
	return rows
}

// referenceKinds computes what each view of kindsSpec emits from the on-time rows, pair by
// pair.
func referenceKinds(rows [2][]streamRow, ty spec.JoinType) (asof, windowed, regular []string) {
	l, _ := onTime(rows[0])
	r, _ := onTime(rows[1])
	const hour, day = int64(3_600_000), int64(24 * 3_600_000)
	byID := map[string][]streamRow{}
	for _, s := range r {
		byID[s.id] = append(byID[s.id], s)
	}
	for _, a := range l {
		var best *streamRow
		for i, s := range byID[a.id] {
			if s.ts <= a.ts && (best == nil || s.ts >= best.ts) {
				best = &byID[a.id][i]
			}
			if d := s.ts - a.ts; d >= -day && d <= day {
				regular = append(regular, fmt.Sprintf("%s|%d|%d|%d", a.id, a.n, s.n, max(a.ts, s.ts)))
			}
		}
		switch {
		case best != nil:
			asof = append(asof, fmt.Sprintf("%s|%d|%d|%d", a.id, a.n, best.n, a.ts))
		case ty == spec.LeftJoin:
			asof = append(asof, fmt.Sprintf("%s|%d|-|%d", a.id, a.n, a.ts))
		}
		for start := a.ts - a.ts%hour - hour; start <= a.ts; start += hour {
			matched := false
			for _, s := range byID[a.id] {
				if s.ts >= start && s.ts < start+2*hour {
					matched = true
					windowed = append(windowed, fmt.Sprintf("%s|%d|%d|%d", a.id, a.n, s.n, start))
				}
			}
			if !matched && ty == spec.LeftJoin {
				windowed = append(windowed, fmt.Sprintf("%s|%d|-|%d", a.id, a.n, start))
			}
		}
	}
	slices.Sort(asof)
	slices.Sort(windowed)
	slices.Sort(regular)
	return asof, windowed, regular
}

func kindsRun(t *testing.T, paths [2]string, ty spec.JoinType, out string, p int) *Plan {
	t.Helper()
	s, err := spec.Parse([]byte(fmt.Sprintf(kindsSpec, paths[0], paths[1], ty, out)), "kinds.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: p, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

func checkKinds(t *testing.T, out string, asof, windowed, regular []string, what string) {
	t.Helper()
	for _, c := range []struct {
		name string
		want []string
	}{{"asof", asof}, {"windowed", windowed}, {"regular", regular}} {
		if got := kindsRows(t, filepath.Join(out, c.name)); !slices.Equal(got, c.want) {
			t.Fatalf("%s, %s: %d rows, want %d; %s", what, c.name, len(got), len(c.want), firstDifference(got, c.want))
		}
	}
}

// TestStreamJoinKindsMatchAReference runs a temporal, a window and a regular join of
// authorisations with settlements, inner and left, at parallelism 1 to 8, and compares each
// with its definition applied pair by pair to the on-time rows: the version of the latest
// time at or before the row's (a settlement at the row's own time counts), the pairs of each
// 2-hour window every hour with unmatched left rows once per window, and the pairs at most 24
// hours apart. The ledger balances, a view's filtered rows being the inner join's unmatched
// ones.
func TestStreamJoinKindsMatchAReference(t *testing.T) {
	dir := t.TempDir()
	paths, rows := writeJoinInputs(t, dir, 4, 1500)
	parallelisms := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		parallelisms = []int{1, 3, 8}
	}
	for _, ty := range []spec.JoinType{spec.InnerJoin, spec.LeftJoin} {
		asof, windowed, regular := referenceKinds(rows, ty)
		if len(asof) == 0 || len(windowed) == 0 || len(regular) == 0 {
			t.Fatalf("the reference joins nothing: %d, %d, %d rows", len(asof), len(windowed), len(regular))
		}
		for _, p := range parallelisms {
			out := filepath.Join(dir, fmt.Sprintf("%s-%d", ty, p))
			pl := kindsRun(t, paths, ty, out, p)
			stats, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions())
			if err != nil {
				t.Fatalf("%s at %d: %v", ty, p, err)
			}
			checkKinds(t, out, asof, windowed, regular, fmt.Sprintf("%s at %d", ty, p))
			if l := pl.Ledger(stats); !l.Balanced() {
				t.Fatalf("%s at %d: ledger:\n%s", ty, p, l)
			}
		}
	}
}

// TestStreamJoinKindsResumeFromCheckpoints stops the three joins at a checkpoint taken by key
// group, resumes them at another parallelism, stops again and finishes at a third: what they
// write equals the reference, nothing lost and nothing twice.
func TestStreamJoinKindsResumeFromCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("joins 60,000 authorisations with their settlements three ways in three runs")
	}
	dir := t.TempDir()
	paths, rows := writeJoinInputs(t, dir, 5, 60_000)
	asof, windowed, regular := referenceKinds(rows, spec.LeftJoin)
	out := filepath.Join(dir, "out")
	runResumed(t, []enginetest.Stage{{P: 3, ByGroup: true}, {P: 5, ByGroup: false}, {P: 2, ByGroup: true}}, func(p int) *Plan {
		return kindsRun(t, paths, spec.LeftJoin, out, p)
	})
	checkKinds(t, out, asof, windowed, regular, "resumed")
}

// TestStreamJoinKindPlanErrors checks what the window and temporal joins refuse.
func TestStreamJoinKindPlanErrors(t *testing.T) {
	dir := t.TempDir()
	paths, _ := writeJoinInputs(t, dir, 3, 10)
	cases := map[string]string{
		"join: {stream: windowed, on: tx_id, window: {tumble: 1h}}":                                            "views.v.join: the join adds the column window_start, but an input has one: rename it in a view",
		"join: {stream: settlements, on: n, as_of: true}":                                                      "", // plans
		"join: {stream: settlements, on: tx_id, ttl: 1h}\n    window: {tumble: 1h}\n    select: {c: count(*)}": "views.v.window: cannot be combined with a join with a stream in one view",
	}
	for clauses, want := range cases {
		text := fmt.Sprintf(`
name: test
sources:
  auths: {kind: file, path: %s, columns: {tx_id: string, ts: timestamp, "n": int64}, event_time: ts}
  settlements: {kind: file, path: %s, columns: {tx_id: string, ts: timestamp, "n": int64}, event_time: ts}
views:
  windowed: {from: settlements, select: {tx_id: tx_id, ts: ts, window_start: ts}}
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
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", clauses, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s:\n got %v\nwant %s", clauses, err, want)
		}
	}
}

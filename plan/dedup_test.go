package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/engine"
	"millrace/engine/enginetest"
	"millrace/gen"
	"millrace/schema"
	"millrace/spec"
)

const dedupSpec = `
name: once
sources:
  tx: {kind: file, path: %s, schema: transaction, event_time: ts, watermark: 5s}
views:
  once:
    from: tx
    where: channel <> 'atm'
    dedup: {key: card_id, within: 2m, keep: %s}
    select: {card_id: card_id, tx_id: tx_id, ts: ts}
sinks:
  once: {from: once, kind: jsonl, path: %s}
`

// referenceTxDedup reads the transactions in file order and keeps, per card, the first (or
// the latest) row of each interval of 2 minutes that a row of the card opens, as the dedup
// view does; it renders the rows kept as card|tx|ts and counts the duplicates.
func referenceTxDedup(t *testing.T, path string, last bool) ([]string, int) {
	type row struct {
		card, tx string
		ts       int64
	}
	type interval struct {
		start int64
		kept  row
	}
	const within = 120_000
	open := map[string][]*interval{}
	var all []*interval
	dups := 0
	for _, rec := range readAll(t, path, schema.Transaction()) {
		cards := rec.Column(schema.CardID).(*array.String)
		txs := rec.Column(schema.TxID).(*array.String)
		ts := rec.Column(schema.TS).(*array.Timestamp)
		channel := rec.Column(schema.Channel).(*array.String)
	rows:
		for i := range int(rec.NumRows()) {
			if channel.Value(i) == "atm" {
				continue
			}
			r := row{cards.Value(i), txs.Value(i), int64(ts.Value(i))}
			for _, iv := range open[r.card] {
				if r.ts-iv.start <= within && iv.start-r.ts <= within {
					dups++
					if last && r.ts >= iv.kept.ts {
						iv.kept = r
					}
					continue rows
				}
			}
			iv := &interval{start: r.ts, kept: r}
			open[r.card] = append(open[r.card], iv)
			all = append(all, iv)
		}
		rec.Release()
	}
	var out []string
	for _, iv := range all {
		out = append(out, fmt.Sprintf("%s|%s|%d", iv.kept.card, iv.kept.tx, iv.kept.ts))
	}
	slices.Sort(out)
	return out, dups
}

// dedupedRows reads the once sink's rows as referenceTxDedup renders them.
func dedupedRows(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, m := range sinkLines(t, dir) {
		ts, err := time.Parse(time.RFC3339Nano, m["ts"].(string))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s|%s|%d", m["card_id"], m["tx_id"], ts.UnixMilli()))
	}
	slices.Sort(out)
	return out
}

func dedupPlan(t *testing.T, input, keep, out string, p int) *Plan {
	t.Helper()
	s, err := spec.Parse([]byte(fmt.Sprintf(dedupSpec, input, keep, out)), "once.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: p, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// TestDedupMatchesAReference drops the repeats of each card within 2 minutes from generated
// transactions (keeping the first, then the last), at parallelism 1 to 8, and compares the
// rows kept and the duplicates the ledger counts with a reference that goes through the
// file row by row.
func TestDedupMatchesAReference(t *testing.T) {
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Seed, cfg.Partitions, cfg.Disorder, cfg.DupRate, cfg.Accounts = 20_000, 4, 1, 2*time.Second, 0.02, 2000
	input := writeTx(t, dir, cfg)
	parallelisms := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		parallelisms = []int{1, 3, 8}
	}
	for _, keep := range []string{"first", "last"} {
		want, dups := referenceTxDedup(t, input, keep == "last")
		for _, p := range parallelisms {
			out := filepath.Join(dir, fmt.Sprintf("%s-%d", keep, p))
			pl := dedupPlan(t, input, keep, out, p)
			stats, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if got := dedupedRows(t, out); !slices.Equal(got, want) {
				t.Fatalf("keep %s at %d: %d rows, want %d; %s", keep, p, len(got), len(want), firstDifference(got, want))
			}
			l := pl.Ledger(stats)
			if v := l.Views[0]; !l.Balanced() || v.Duplicates != int64(dups) || v.Out != int64(len(want)) || v.Kept != v.Out+v.Duplicates || dups == 0 {
				t.Fatalf("keep %s at %d: want %d duplicates and %d rows out, ledger:\n%s", keep, p, dups, len(want), l)
			}
			js, err := json.Marshal(l) // as the dashboard's ledger API answers
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(l.String(), fmt.Sprintf("(%d duplicates dropped)", dups)) || !strings.Contains(string(js), fmt.Sprintf(`"duplicates":%d`, dups)) {
				t.Fatalf("the printed ledger or its JSON lacks the duplicates:\n%s\n%s", l, js)
			}
		}
	}
}

// TestDedupResumesFromACheckpoint stops a keep-last dedup at a checkpoint taken by key
// group, resumes it at another parallelism, stops again and finishes at a third: the rows
// kept equal the reference.
func TestDedupResumesFromACheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("deduplicates 200,000 transactions in three runs")
	}
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Seed, cfg.Partitions, cfg.Disorder, cfg.DupRate = 200_000, 5, 1, 2*time.Second, 0.02
	input := writeTx(t, dir, cfg)
	want, _ := referenceTxDedup(t, input, true)
	out := filepath.Join(dir, "out")
	runResumed(t, []enginetest.Stage{{P: 3, ByGroup: true}, {P: 5, ByGroup: false}, {P: 1, ByGroup: false}}, func(p int) *Plan {
		return dedupPlan(t, input, "last", out, p)
	})
	if got := dedupedRows(t, out); !slices.Equal(got, want) {
		t.Fatalf("%d rows, want %d; %s", len(got), len(want), firstDifference(got, want))
	}
}

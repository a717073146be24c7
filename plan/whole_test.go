package plan

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/engine"
	"millrace/format"
	"millrace/gen"
	"millrace/schema"
	"millrace/spec"
	"millrace/tools/duckdb"
)

// TestGroupByWithoutWindowEmitsTheTableAtTheEnd aggregates a Parquet file of transactions
// per country and channel, and over all of it, with views that have no window, and checks
// both tables against one computed here from the input rows and against DuckDB's answer to
// the same GROUP BY on the same file. The source has no event time: the whole input needs
// none.
func TestGroupByWithoutWindowEmitsTheTableAtTheEnd(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "tx.parquet")
	f, err := format.CreateFile(input)
	if err != nil {
		t.Fatal(err)
	}
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Seed, cfg.Partitions = 30_000, 5, 1
	if _, err := gen.Write(context.Background(), cfg, f, format.Parquet, format.WriteOptions{RowGroupRows: 4096}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	groups, totals := filepath.Join(dir, "groups.jsonl"), filepath.Join(dir, "totals.jsonl")
	const text = `
name: whole
sources:
  tx: {kind: file, path: %s, schema: transaction}
views:
  per_country:
    from: tx
    where: channel <> 'atm'
    group_by: [country, channel]
    select:
      tx_count: count(*)
      volume: sum(amount)
      top: max(amount)
      p99: quantile(amount, 0.99)
      frauds: count_if(is_fraud)
    having: tx_count > 1
  totals:
    from: tx
    select: {tx_count: count(*), volume: sum(amount), first: min(ts)}
sinks:
  groups: {from: per_country, kind: jsonl, path: %s}
  totals: {from: totals, kind: jsonl, path: %s}
`
	s, err := spec.Parse([]byte(fmt.Sprintf(text, input, groups, totals)), "whole.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := pl.String(); !strings.Contains(got, "per whole input, emitted once the input has ended") ||
		!strings.Contains(got, "country utf8, channel utf8, tx_count int64") {
		t.Fatalf("plan:\n%s", got)
	}
	stats, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if l := pl.Ledger(stats); !l.Balanced() || l.Sources[0].Read != cfg.Rows {
		t.Fatalf("ledger:\n%s", l)
	}

	// The table computed here: count, sum and max in cents, frauds.
	type group struct{ n, cents, top, frauds int64 }
	want := map[string]*group{}
	var n, cents, first int64
	first = 1 << 62
	for _, rec := range readAll(t, input, schema.Transaction()) {
		country := rec.Column(schema.Country).(*array.String)
		channel := rec.Column(schema.Channel).(*array.String)
		amount := rec.Column(schema.AmountCol).(*array.Decimal128)
		fraud := rec.Column(schema.IsFraud).(*array.Boolean)
		ts := rec.Column(schema.TS).(*array.Timestamp)
		for i := range int(rec.NumRows()) {
			c := amount.Value(i).LowBits()
			n, cents, first = n+1, cents+int64(c), min(first, int64(ts.Value(i)))
			if channel.Value(i) == "atm" {
				continue
			}
			key := country.Value(i) + "/" + channel.Value(i)
			g := want[key]
			if g == nil {
				g = &group{top: -1 << 62}
				want[key] = g
			}
			g.n, g.cents, g.top = g.n+1, g.cents+int64(c), max(g.top, int64(c))
			if fraud.IsValid(i) && fraud.Value(i) {
				g.frauds++
			}
		}
		rec.Release()
	}
	for k, g := range want {
		if g.n <= 1 {
			delete(want, k)
		}
	}
	got := numberLines(t, groups)
	if len(got) != len(want) || len(want) < 20 {
		t.Fatalf("%d groups, want %d", len(got), len(want))
	}
	for _, row := range got {
		key := fmt.Sprint(row["country"], "/", row["channel"])
		g := want[key]
		if g == nil {
			t.Fatalf("group %s is not in the input (or has one row)", key)
		}
		if _, ok := row["window_start"]; ok {
			t.Fatalf("a table of the whole input has window bounds: %v", row)
		}
		for name, w := range map[string]string{"tx_count": fmt.Sprint(g.n), "volume": cents2(g.cents), "top": cents2(g.top), "frauds": fmt.Sprint(g.frauds)} {
			if v := fmt.Sprint(row[name]); v != w {
				t.Errorf("group %s: %s = %s, want %s", key, name, v, w)
			}
		}
	}
	tot := numberLines(t, totals)
	if len(tot) != 1 || fmt.Sprint(tot[0]["tx_count"]) != fmt.Sprint(n) || fmt.Sprint(tot[0]["volume"]) != cents2(cents) {
		t.Fatalf("totals = %v, want %d rows and %s", tot, n, cents2(cents))
	}

	// The pebble backend, spilling all but a few groups, gives the same table.
	spilled := filepath.Join(dir, "spilled.jsonl")
	s2, err := spec.Parse([]byte(fmt.Sprintf(text, input, spilled, filepath.Join(dir, "totals2.jsonl"))), "whole.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl2, err := Build(s2, Options{Parallelism: 2, StateBackend: PebbleBackend, SpillDir: t.TempDir(), SpillAbove: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Run(context.Background(), pl2.Graph, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	a, b := sortedLines(t, groups), sortedLines(t, spilled)
	if !slices.Equal(a, b) {
		t.Fatalf("the pebble backend's table differs: %d rows, the memory backend's %d", len(b), len(a))
	}

	// DuckDB's answer on the same file, quantile included.
	q := "SELECT country, channel, count(*) AS tx_count, sum(amount) AS volume, max(amount) AS top, " +
		"quantile_disc(amount, 0.99) AS p99, count_if(is_fraud) AS frauds FROM read_parquet('" + strings.ReplaceAll(input, "'", "''") + "') " +
		"WHERE channel <> 'atm' GROUP BY country, channel HAVING count(*) > 1 ORDER BY country, channel"
	duck := duckdb.Query(t, q)
	slices.SortFunc(got, func(a, b map[string]any) int {
		return strings.Compare(fmt.Sprint(a["country"], "/", a["channel"]), fmt.Sprint(b["country"], "/", b["channel"]))
	})
	if len(duck) != len(got) {
		t.Fatalf("DuckDB has %d groups, millrace %d", len(duck), len(got))
	}
	for i, d := range duck {
		for _, col := range []string{"country", "channel", "tx_count", "volume", "top", "p99", "frauds"} {
			if a, b := fmt.Sprint(got[i][col]), fmt.Sprint(d[col]); a != b {
				t.Errorf("row %d (%s/%s): %s = %s, DuckDB says %s", i, d["country"], d["channel"], col, a, b)
			}
		}
	}
}

// cents2 writes cents as a decimal with two places.
func cents2(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// numberLines reads a JSON lines file into one map per line, numbers kept as written.
func numberLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		d := json.NewDecoder(strings.NewReader(sc.Text()))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sortedLines reads a file's lines, sorted.
func sortedLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	slices.Sort(lines)
	return lines
}

package plan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"millrace/engine"
	"millrace/expr"
	"millrace/format"
	"millrace/gen"
	"millrace/schema"
	"millrace/spec"
)

// writeTx generates rows transactions into a JSONL file and returns its path.
func writeTx(t testing.TB, dir string, cfg gen.Config) string {
	t.Helper()
	path := filepath.Join(dir, "tx.jsonl")
	f, err := format.CreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Write(context.Background(), cfg, f, format.JSONL, format.WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func readAll(t *testing.T, path string, s *arrow.Schema) []arrow.RecordBatch {
	t.Helper()
	r, err := format.OpenAll(path, "", s, format.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []arrow.RecordBatch
	for {
		rec, dead, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) > 0 {
			t.Fatalf("%s: %v", path, dead[0])
		}
		out = append(out, rec)
	}
}

const windowSpec = `
name: test
sources:
  tx: {kind: file, path: %s, schema: transaction, event_time: ts, watermark: 3s, checks: ["amount > 1"]}
views:
  per_card:
    from: tx
    where: channel <> 'atm'
    group_by: [card_id]
    window: %s
    select: {n: count(*), spend: sum(amount), top: max(amount)}
  big:
    from: tx
    where: amount > 500
    select: {tx_id: tx_id, doubled: amount * 2}
sinks:
  cards: {from: per_card, kind: parquet, path: %s}
  big:   {from: big, kind: jsonl, path: %s}
  dead:  {from: tx.dead_letters, kind: jsonl, path: %s}
`

// TestRunMatchesReference runs a windowed and a stateless view over generated files, for
// several seeds, window kinds and parallelisms 1 to 8, and compares with a row-at-a-time
// computation from the same rows.
func TestRunMatchesReference(t *testing.T) {
	seeds, parallelisms := []int64{1, 2, 3}, []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		seeds, parallelisms = seeds[:1], []int{1, 3}
	}
	for _, seed := range seeds {
		for _, w := range []struct {
			name, spec  string
			size, every int64
		}{{"tumble", "{tumble: 1m}", 60_000, 60_000}, {"hop", "{hop: 3m, every: 1m}", 180_000, 60_000}} {
			t.Run(fmt.Sprintf("seed%d/%s", seed, w.name), func(t *testing.T) {
				checkAgainstReference(t, seed, w.spec, w.size, w.every, parallelisms, Options{})
			})
		}
	}
}

// TestPebbleBackendMatchesReference is TestRunMatchesReference with the pebble state
// backend, with a threshold of one byte (every group goes to disk after every batch) and of
// a few kilobytes (some windows do), and its stores under a directory that must be empty
// again after each run.
func TestPebbleBackendMatchesReference(t *testing.T) {
	parallelisms := []int{1, 3}
	if testing.Short() {
		parallelisms = parallelisms[1:]
	}
	for _, w := range []struct {
		name, spec  string
		size, every int64
	}{{"tumble", "{tumble: 1m}", 60_000, 60_000}, {"hop", "{hop: 3m, every: 1m}", 180_000, 60_000}} {
		for _, above := range []int64{1, 32 << 10} {
			t.Run(fmt.Sprintf("%s/above=%d", w.name, above), func(t *testing.T) {
				spill := t.TempDir()
				checkAgainstReference(t, 2, w.spec, w.size, w.every, parallelisms,
					Options{StateBackend: PebbleBackend, SpillDir: spill, SpillAbove: above})
				if left, err := os.ReadDir(spill); err != nil || len(left) > 0 {
					t.Fatalf("%s holds %d entries after the runs (%v)", spill, len(left), err)
				}
			})
		}
	}
}

func checkAgainstReference(t *testing.T, seed int64, windowText string, size, every int64, parallelisms []int, opts Options) {
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Seed, cfg.Rows, cfg.Disorder, cfg.Accounts = seed, 20_000, 2*time.Second, 1000
	input := writeTx(t, dir, cfg)
	rows := readAll(t, input, schema.Transaction())

	// The reference: per card and minute, rows with amount > 1 and channel <> 'atm'.
	type acc struct {
		n        int64
		sum, max decimal128.Num
	}
	want := map[string]*acc{}
	var checked, big int64
	for _, r := range rows {
		ts := r.Column(schema.TS).(*array.Timestamp)
		amt := r.Column(schema.AmountCol).(*array.Decimal128)
		for i := range int(r.NumRows()) {
			a := amt.Value(i)
			if !a.Greater(decimal128.FromI64(100)) {
				continue
			}
			checked++
			if a.Greater(decimal128.FromI64(50000)) {
				big++
			}
			if r.Column(schema.Channel).ValueStr(i) == "atm" {
				continue
			}
			t0 := int64(ts.Value(i))
			for start := t0 / every * every; start > t0-size; start -= every {
				k := r.Column(schema.CardID).ValueStr(i) + "@" + fmt.Sprint(start)
				if want[k] == nil {
					want[k] = &acc{max: a}
				}
				w := want[k]
				w.n++
				w.sum = w.sum.Add(a)
				if a.Greater(w.max) {
					w.max = a
				}
			}
		}
	}

	for _, p := range parallelisms {
		out := filepath.Join(dir, fmt.Sprint("out", p))
		text := fmt.Sprintf(windowSpec, input, windowText, filepath.Join(out, "cards.parquet"), filepath.Join(out, "big.jsonl"), filepath.Join(out, "dead.jsonl"))
		s, err := spec.Parse([]byte(text), "test.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		opts.Parallelism = p
		pl, err := Build(s, opts)
		if err != nil {
			t.Fatal(err)
		}
		stats, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		ledger := pl.Ledger(stats)
		if !ledger.Balanced() {
			t.Fatalf("p=%d: ledger does not balance:\n%s", p, ledger)
		}
		src := ledger.Sources[0]
		if src.Read != cfg.Rows || src.Accepted+src.Late != checked {
			t.Fatalf("p=%d: ledger %+v, want %d read and %d passing checks", p, src, cfg.Rows, checked)
		}
		if src.Late != 0 {
			t.Fatalf("p=%d: %d late rows within the allowed disorder", p, src.Late)
		}

		got := map[string]string{}
		cards := readParquet(t, filepath.Join(out, "cards.parquet"))
		for _, r := range cards {
			for i := range int(r.NumRows()) {
				k := r.Column(0).ValueStr(i) + "@" + fmt.Sprint(int64(r.Column(1).(*array.Timestamp).Value(i)))
				if _, dup := got[k]; dup {
					t.Fatalf("p=%d: window %s emitted twice", p, k)
				}
				sum := r.Column(4).(*array.Decimal128)
				top := r.Column(5).(*array.Decimal128)
				got[k] = fmt.Sprintf("%s %s %s", r.Column(3).ValueStr(i), sum.Value(i).ToString(2), top.Value(i).ToString(2))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("p=%d: %d windows, want %d", p, len(got), len(want))
		}
		for k, w := range want {
			if g := got[k]; g != fmt.Sprintf("%d %s %s", w.n, w.sum.ToString(2), w.max.ToString(2)) {
				t.Fatalf("p=%d: window %s = %q, want %d %s %s", p, k, g, w.n, w.sum.ToString(2), w.max.ToString(2))
			}
		}
		b, err := os.ReadFile(filepath.Join(out, "big.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if n := int64(strings.Count(string(b), "\n")); n != big {
			t.Fatalf("p=%d: %d big rows, want %d", p, n, big)
		}
	}
}

// readParquet reads a Parquet file with the schema stored in it.
func readParquet(t *testing.T, path string) []arrow.RecordBatch {
	t.Helper()
	s := arrow.NewSchema([]arrow.Field{
		{Name: "card_id", Type: arrow.BinaryTypes.String},
		{Name: "window_start", Type: schema.Timestamp},
		{Name: "window_end", Type: schema.Timestamp},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "spend", Type: &arrow.Decimal128Type{Precision: 38, Scale: 2}, Nullable: true},
		{Name: "top", Type: schema.Amount, Nullable: true},
	}, nil)
	return readAll(t, path, s)
}

func TestPlanErrorsNameTheKeyPath(t *testing.T) {
	dir := t.TempDir()
	input := writeTx(t, dir, gen.Config{Seed: 1, Rows: 10, Rate: 10, Accounts: 10, Merchants: 10})
	cases := map[string]string{
		`select: {n: count(*), s: sum(amout)}`:   `test.yaml:10: views.per_card.select.s: unknown column "amout" (did you mean "amount"?)`,
		`select: {n: count(*), s: sumx(amount)}`: `views.per_card.select.s: `,
		`select: {n: count(*), s: sum(channel)}`: `views.per_card.select: sum(string) is not defined`,
		`select: {n: count(*), s: amount + 'x'}`: `views.per_card.select.s: `,
	}
	for sel, want := range cases {
		text := fmt.Sprintf(`
name: test
sources:
  tx: {kind: file, path: %s, schema: transaction, event_time: ts}
views:
  per_card:
    from: tx
    group_by: [card_id]
    window: {tumble: 1m}
    %s
sinks:
  out: {from: per_card, kind: jsonl, path: %s}
`, input, sel, filepath.Join(dir, "o.jsonl"))
		s, err := spec.Parse([]byte(text), "test.yaml", nil)
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		_, err = Build(s, Options{Parallelism: 2})
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, spec.ErrInvalid) {
			t.Errorf("%s:\n got %v\nwant %s", sel, err, want)
		}
	}
}

// TestUnionAndLookupJoin unions two sources and joins the result with a table.
func TestUnionAndLookupJoin(t *testing.T) {
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Merchants = 5000, 50
	a := writeTx(t, filepath.Join(dir, "a"), cfg)
	cfg.Seed = 2
	b := writeTx(t, filepath.Join(dir, "b"), cfg)
	// The table knows the even merchants only.
	var table strings.Builder
	table.WriteString("merchant_id,risk\n")
	for m := 0; m < 200; m += 2 {
		fmt.Fprintf(&table, "m%d,%d\n", m, m%7)
	}
	tablePath := filepath.Join(dir, "merchants.csv")
	if err := os.WriteFile(tablePath, []byte(table.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	text := fmt.Sprintf(`
name: joined
sources:
  a: {kind: file, path: %s, schema: transaction}
  b: {kind: file, path: %s, schema: transaction}
  merchants: {kind: file, path: %s, columns: {merchant_id: string, risk: "int64 null"}}
views:
  both:
    from: [a, b]
  enriched:
    from: both
    join: {table: merchants, on: merchant_id, type: inner}
    select: {tx_id: tx_id, merchant_id: merchant_id, risk: risk}
sinks:
  out: {from: enriched, kind: jsonl, path: %s}
`, a, b, tablePath, out)
	s, err := spec.Parse([]byte(text), "joined.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	l := pl.Ledger(stats)
	if !l.Balanced() || l.Views[0].In != 10_000 {
		t.Fatalf("ledger:\n%s", l)
	}
	var even int64
	for _, path := range []string{a, b} {
		for _, r := range readAll(t, path, schema.Transaction()) {
			for i := range int(r.NumRows()) {
				var m int
				if _, err := fmt.Sscanf(r.Column(schema.MerchantID).ValueStr(i), "m%d", &m); err != nil {
					t.Fatal(err)
				}
				if m%2 == 0 && m < 200 {
					even++
				}
			}
		}
	}
	body, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if int64(len(lines)) != even || l.Views[1].Filtered != 10_000-even {
		t.Fatalf("%d joined rows and %d filtered, want %d joined", len(lines), l.Views[1].Filtered, even)
	}
	for _, line := range lines[:20] {
		var m int
		if _, err := fmt.Sscanf(line[strings.Index(line, `"merchant_id":"m`)+len(`"merchant_id":"m`):], "%d", &m); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(line, fmt.Sprintf(`"risk":%d}`, m%7)) {
			t.Fatalf("row %s: want risk %d", line, m%7)
		}
	}
}

// TestSessionWindowsEndToEnd runs a session window over generated files and compares with
// sessions cut from each key's sorted event times.
func TestSessionWindowsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Disorder, cfg.Merchants = 20_000, 2*time.Second, 300
	input := writeTx(t, dir, cfg)
	const gap = int64(5000)
	times := map[string][]int64{}
	for _, r := range readAll(t, input, schema.Transaction()) {
		ts := r.Column(schema.TS).(*array.Timestamp)
		for i := range int(r.NumRows()) {
			m := r.Column(schema.MerchantID).ValueStr(i)
			times[m] = append(times[m], int64(ts.Value(i)))
		}
	}
	want := map[string]int{}
	for m, ts := range times {
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		start, n := ts[0], 1
		for i := 1; i <= len(ts); i++ {
			if i == len(ts) || ts[i]-ts[i-1] >= gap {
				want[fmt.Sprintf("%s@%d-%d", m, start, ts[i-1]+gap)] = n
				if i < len(ts) {
					start, n = ts[i], 0
				}
			}
			n++
		}
	}
	for _, p := range []int{1, 3} {
		out := filepath.Join(dir, fmt.Sprint("sessions", p, ".jsonl"))
		text := fmt.Sprintf(`
name: sessions
sources:
  tx: {kind: file, path: %s, schema: transaction, event_time: ts, watermark: 3s}
views:
  visits:
    from: tx
    group_by: [merchant_id]
    window: {session: 5s}
    select: {n: count(*)}
sinks:
  out: {from: visits, kind: jsonl, path: %s}
`, input, out)
		s, err := spec.Parse([]byte(text), "sessions.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := Build(s, Options{Parallelism: p})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions()); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		sess := arrow.NewSchema([]arrow.Field{
			{Name: "merchant_id", Type: arrow.BinaryTypes.String},
			{Name: "window_start", Type: schema.Timestamp},
			{Name: "window_end", Type: schema.Timestamp},
			{Name: "n", Type: arrow.PrimitiveTypes.Int64},
		}, nil)
		for _, r := range readAll(t, out, sess) {
			for i := range int(r.NumRows()) {
				k := fmt.Sprintf("%s@%d-%d", r.Column(0).ValueStr(i), int64(r.Column(1).(*array.Timestamp).Value(i)), int64(r.Column(2).(*array.Timestamp).Value(i)))
				got[k] = int(r.Column(3).(*array.Int64).Value(i))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("p=%d: %d sessions, want %d", p, len(got), len(want))
		}
		for k, n := range want {
			if got[k] != n {
				t.Fatalf("p=%d: session %s has %d events, want %d", p, k, got[k], n)
			}
		}
	}
}

// TestDeepExpressionsAreRefused plans specs whose expressions nest far too deep, in a check,
// a where and a select, and expects one clear error naming the key path and the limit.
func TestDeepExpressionsAreRefused(t *testing.T) {
	dir := t.TempDir()
	input := writeTx(t, dir, gen.Config{Seed: 1, Rows: 10, Rate: 10, Accounts: 10, Merchants: 10})
	limit := fmt.Sprintf("expression nested deeper than %d levels", expr.MaxDepth)
	cases := []struct{ check, where, sel, want string }{
		{check: strings.Repeat("NOT ", 100_000) + "amount > 0", want: "sources.tx.checks[0]: at 1021: " + limit},
		{where: strings.Repeat("(", 100_000) + "amount > 0" + strings.Repeat(")", 100_000), want: "views.v.where: at 257: " + limit},
		// The 256th + of 100 000: "amount" and then 255 times " + amount" come before it.
		{sel: "amount" + strings.Repeat(" + amount", 100_000), want: "views.v.select.s: at 2303: " + limit},
	}
	for _, c := range cases {
		check, where, sel := orDefault(c.check, "amount > 0"), orDefault(c.where, "amount > 1"), orDefault(c.sel, "amount")
		text := fmt.Sprintf("name: deep\nsources:\n  tx: {kind: file, path: %s, schema: transaction, event_time: ts, checks: [%q]}\nviews:\n  v:\n    from: tx\n    where: %q\n    select: {s: %q}\nsinks:\n  out: {from: v, kind: jsonl, path: %s}\n",
			input, check, where, sel, filepath.Join(dir, "o.jsonl"))
		s, err := spec.Parse([]byte(text), "deep.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Build(s, Options{Parallelism: 1, Stdout: io.Discard})
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, spec.ErrInvalid) {
			t.Errorf("got %.300v\nwant %s", err, c.want)
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestBuildContextGivesUp plans with a context that has ended and gets its error back.
func TestBuildContextGivesUp(t *testing.T) {
	dir := t.TempDir()
	input := writeTx(t, dir, gen.Config{Seed: 1, Rows: 10, Rate: 10, Accounts: 10, Merchants: 10})
	s, err := spec.Parse([]byte(fmt.Sprintf("name: t\nsources:\n  tx: {kind: file, path: %s, schema: transaction}\nviews:\n  v: {from: tx}\n", input)), "t.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if p, err := BuildContext(ctx, s, Options{Parallelism: 1}); p != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, %v", p, err)
	}
}

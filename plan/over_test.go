package plan

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"millrace/engine"
	"millrace/gen"
	"millrace/schema"
	"millrace/spec"
)

// overSpec chains card features and merchant features over the card view's rows.
const overSpec = `
name: features
sources:
  tx: {kind: file, path: %s, schema: transaction, event_time: ts, watermark: 3s}
views:
  card:
    from: tx
    where: channel <> 'atm'
    over: {key: card_id, range: 5m, ttl: 10m}
    select:
      n: count(*)
      spend: sum(amount)
      mean: avg(amount)
      big: count_if(amount > 500)
      merchants: count_distinct(merchant_id)
      z: zscore(amount)
      new_merchant: first_seen(merchant_id)
      new_country: first_seen(country)
      gap: seconds_since_prev()
      km: km_from_prev(lat, lon)
      kmh: kmh_from_prev(lat, lon)
  merchant:
    from: card
    over: {key: merchant_id, range: 30m}
    select:
      cards: count_distinct(card_id)
      frauds: count_if(is_fraud)
      m_spend: sum(amount)
      m_gap: seconds_since_prev()
sinks:
  out: {from: merchant, kind: jsonl, path: %s}
`

// featTx is a transaction as the reference reads it.
type featTx struct {
	id, card, merchant, country string
	ts                          int64
	amount                      decimal128.Num
	lat, lon                    float64
	pos                         bool
	fraud                       bool
}

// featureInput generates transactions delivered out of order, with duplicates and fraud,
// few enough cards and merchants that keys have histories, and returns the file and the
// rows the card view keeps, in the order the file holds them.
func featureInput(t *testing.T, dir string, rows int64) (string, []featTx) {
	t.Helper()
	cfg := gen.DefaultConfig()
	cfg.Seed, cfg.Rows, cfg.Rate = 11, rows, 8
	cfg.Accounts, cfg.Merchants = 150, 200
	cfg.Disorder, cfg.DupRate, cfg.FraudRate = 2*time.Second, 0.01, 0.05
	input := writeTx(t, dir, cfg)
	var kept []featTx
	for _, r := range readAll(t, input, schema.Transaction()) {
		defer r.Release()
		ts := r.Column(schema.TS).(*array.Timestamp)
		amt := r.Column(schema.AmountCol).(*array.Decimal128)
		lat, lon := r.Column(schema.Lat).(*array.Float64), r.Column(schema.Lon).(*array.Float64)
		fraud := r.Column(schema.IsFraud).(*array.Boolean)
		for i := range int(r.NumRows()) {
			if r.Column(schema.Channel).ValueStr(i) == "atm" {
				continue
			}
			kept = append(kept, featTx{
				id: r.Column(schema.TxID).ValueStr(i), card: r.Column(schema.CardID).ValueStr(i),
				merchant: r.Column(schema.MerchantID).ValueStr(i), country: r.Column(schema.Country).ValueStr(i),
				ts: int64(ts.Value(i)), amount: amt.Value(i),
				lat: lat.Value(i), lon: lon.Value(i), pos: lat.IsValid(i) && lon.IsValid(i),
				fraud: fraud.IsValid(i) && fraud.Value(i),
			})
		}
	}
	return input, kept
}

// featRef is what the reference expects of one row: values by output column, and for km
// and kmh the candidates (several when peers of the previous position differ).
type featRef map[string]any

// referenceFeatures computes the features of every row one row at a time: for each key, its
// rows sorted by event time, and for each row a scan of the rows before it.
func referenceFeatures(rows []featTx, key func(featTx) string, rangeMs, ttlMs int64, row func(r featTx, inRange, history []featTx, prev []featTx, out featRef)) map[string]featRef {
	byKey := map[string][]featTx{}
	for _, r := range rows {
		byKey[key(r)] = append(byKey[key(r)], r)
	}
	out := map[string]featRef{}
	for _, rs := range byKey {
		slices.SortStableFunc(rs, func(a, b featTx) int { return cmp.Compare(a.ts, b.ts) })
		start := int64(math.MinInt64) // the first event time of the history the ttl left
		for i, r := range rs {
			if i > 0 && rs[i-1].ts < r.ts && ttlMs > 0 && r.ts-rs[i-1].ts >= ttlMs {
				start = r.ts
			}
			var inRange, history []featTx
			for _, o := range rs {
				if o.ts > r.ts-rangeMs && o.ts <= r.ts {
					inRange = append(inRange, o)
				}
				if o.ts >= start && o.ts < r.ts {
					history = append(history, o)
				}
			}
			var prev []featTx // the rows of the latest earlier event time
			for _, o := range history {
				if len(prev) > 0 && o.ts > prev[0].ts {
					prev = prev[:0]
				}
				prev = append(prev, o)
			}
			f := featRef{}
			row(r, inRange, history, prev, f)
			out[r.id] = f
		}
	}
	return out
}

func cardReference(rows []featTx) map[string]featRef {
	return referenceFeatures(rows, func(r featTx) string { return r.card }, 5*60_000, 10*60_000, func(r featTx, in, hist, prev []featTx, f featRef) {
		var sum decimal128.Num
		big := int64(0)
		merchants := map[string]bool{}
		for _, o := range in {
			sum = sum.Add(o.amount)
			if o.amount.Greater(decimal128.FromI64(50000)) {
				big++
			}
			merchants[o.merchant] = true
		}
		f["n"], f["spend"], f["big"], f["merchants"] = int64(len(in)), sum, big, int64(len(merchants))
		f["mean"] = sum.ToFloat64(2) / float64(len(in))
		f["z"] = nil
		if n := len(hist); n >= 2 {
			mean, ss := 0.0, 0.0
			for _, o := range hist {
				mean += o.amount.ToFloat64(2)
			}
			mean /= float64(n)
			for _, o := range hist {
				d := o.amount.ToFloat64(2) - mean
				ss += d * d
			}
			if sd := math.Sqrt(ss / float64(n-1)); sd > 0 {
				f["z"] = (r.amount.ToFloat64(2) - mean) / sd
			}
		}
		f["new_merchant"], f["new_country"] = true, true
		for _, o := range hist {
			if o.merchant == r.merchant {
				f["new_merchant"] = false
			}
			if o.country == r.country {
				f["new_country"] = false
			}
		}
		f["gap"] = nil
		if len(prev) > 0 {
			f["gap"] = float64(r.ts-prev[0].ts) / 1000
		}
		// The latest earlier position: any of the rows of its event time may be the one kept.
		var kms, kmhs []float64
		at := int64(math.MinInt64)
		for _, o := range hist {
			if o.pos && o.ts > at {
				at = o.ts
			}
		}
		for _, o := range hist {
			if o.pos && o.ts == at && r.pos {
				km := haversine(o.lat, o.lon, r.lat, r.lon)
				kms = append(kms, km)
				kmhs = append(kmhs, km/(float64(r.ts-o.ts)/3_600_000))
			}
		}
		f["km"], f["kmh"] = kms, kmhs
	})
}

func merchantReference(rows []featTx) map[string]featRef {
	return referenceFeatures(rows, func(r featTx) string { return r.merchant }, 30*60_000, 0, func(r featTx, in, hist, prev []featTx, f featRef) {
		cards := map[string]bool{}
		frauds := int64(0)
		var sum decimal128.Num
		for _, o := range in {
			cards[o.card] = true
			if o.fraud {
				frauds++
			}
			sum = sum.Add(o.amount)
		}
		f["cards"], f["frauds"], f["m_spend"] = int64(len(cards)), frauds, sum
		f["m_gap"] = nil
		if len(prev) > 0 {
			f["m_gap"] = float64(r.ts-prev[0].ts) / 1000
		}
	})
}

// haversine is the great-circle distance in km, written out again for the reference.
func haversine(lat1, lon1, lat2, lon2 float64) float64 {
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dp, dl := p2-p1, (lon2-lon1)*math.Pi/180
	a := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * 6371 * math.Atan2(math.Sqrt(a), math.Sqrt(1-a))
}

// checkFeatureRow compares one output row's features with the reference's.
func checkFeatureRow(got map[string]any, want featRef) error {
	for name, w := range want {
		g := got[name]
		switch w := w.(type) {
		case nil:
			if g != nil {
				return fmt.Errorf("%s = %v, want null", name, g)
			}
		case int64:
			n, ok := g.(json.Number)
			if v, err := n.Int64(); !ok || err != nil || v != w {
				return fmt.Errorf("%s = %v, want %d", name, g, w)
			}
		case bool:
			if g != w {
				return fmt.Errorf("%s = %v, want %v", name, g, w)
			}
		case decimal128.Num:
			n, _ := g.(json.Number)
			v, err := decimal128.FromString(string(n), 38, 2)
			if err != nil || v != w {
				return fmt.Errorf("%s = %v, want %s", name, g, w.ToString(2))
			}
		case float64:
			if !closeTo(g, w) {
				return fmt.Errorf("%s = %v, want %v", name, g, w)
			}
		case []float64:
			if len(w) == 0 {
				if g != nil {
					return fmt.Errorf("%s = %v, want null", name, g)
				}
				continue
			}
			if !slices.ContainsFunc(w, func(w float64) bool { return closeTo(g, w) }) {
				return fmt.Errorf("%s = %v, want one of %v", name, g, w)
			}
		}
	}
	return nil
}

func closeTo(g any, w float64) bool {
	n, ok := g.(json.Number)
	if !ok {
		return false
	}
	v, err := n.Float64()
	return err == nil && math.Abs(v-w) <= 1e-9*max(1, math.Abs(w))
}

// buildFeatures plans the features spec at parallelism p.
func buildFeatures(t *testing.T, input, out string, p int) *Plan {
	t.Helper()
	s, err := spec.Parse([]byte(fmt.Sprintf(overSpec, input, out)), "features.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: p})
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// TestFeaturesMatchReference runs card features and merchant features chained over
// generated transactions delivered out of order (within the watermark) and with duplicates,
// at parallelism 1 to 8, and checks every feature of every row against a row-at-a-time
// computation over the rows sorted by key and event time.
func TestFeaturesMatchReference(t *testing.T) {
	parallelisms := []int{1, 2, 3, 4, 5, 6, 7, 8}
	rows := int64(12_000)
	if testing.Short() {
		parallelisms, rows = []int{1, 3}, 4_000
	}
	dir := t.TempDir()
	input, kept := featureInput(t, dir, rows)
	card, merchant := cardReference(kept), merchantReference(kept)
	var firstKm, zs, resets int
	for _, f := range card {
		if km := f["km"].([]float64); len(km) > 0 && km[0] > 0 {
			firstKm++
		}
		if f["z"] != nil {
			zs++
		}
		if f["gap"] == nil {
			resets++
		}
	}
	if firstKm < 100 || zs < 1000 || resets < 200 || resets > len(card)/2 {
		t.Fatalf("the input exercises too little: %d distances, %d z-scores, %d first rows of %d", firstKm, zs, resets, len(card))
	}
	for _, p := range parallelisms {
		out := filepath.Join(dir, fmt.Sprintf("out%d.jsonl", p))
		pl := buildFeatures(t, input, out, p)
		stats, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions())
		if err != nil {
			t.Fatalf("p=%d: %v", p, err)
		}
		ledger := pl.Ledger(stats)
		if !ledger.Balanced() {
			t.Fatalf("p=%d: ledger does not balance:\n%s", p, ledger)
		}
		got := numberLines(t, out)
		if len(got) != len(kept) {
			t.Fatalf("p=%d: %d rows out, want one per kept row, %d", p, len(got), len(kept))
		}
		for _, g := range got {
			id := g["tx_id"].(string)
			if err := checkFeatureRow(g, card[id]); err != nil {
				t.Fatalf("p=%d: card features of %s (card %s at %s): %v", p, id, g["card_id"], g["ts"], err)
			}
			if err := checkFeatureRow(g, merchant[id]); err != nil {
				t.Fatalf("p=%d: merchant features of %s (merchant %s at %s): %v", p, id, g["merchant_id"], g["ts"], err)
			}
		}
	}
}

// TestFeaturesResumeFromEveryCheckpoint stops the features pipeline right after each
// checkpoint it completes and resumes it, at another parallelism each time and every other
// time with state by key group: the output equals an uninterrupted run's.
func TestFeaturesResumeFromEveryCheckpoint(t *testing.T) {
	// How many checkpoints a run completes before its input ends depends on the machine; the
	// operator's own tests resume from chosen messages. Here one resume with state will do:
	// a busy machine that finishes the input before a checkpoint holds any gets more input.
	for _, rows := range []int64{40_000, 160_000, 640_000} {
		if resumeFeatures(t, rows) {
			return
		}
	}
	t.Fatal("no run stopped with card features state, even over 640,000 rows; the test needs one")
}

// resumeFeatures runs the features over rows transactions, each run stopped after its
// first checkpoint and resumed at another parallelism, until one finishes, and checks that
// the output is an uninterrupted run's. It says whether a stop held card state.
func resumeFeatures(t *testing.T, rows int64) bool {
	t.Helper()
	dir := t.TempDir()
	input, _ := featureInput(t, dir, rows)
	want := filepath.Join(dir, "want.jsonl")
	if _, err := engine.Run(context.Background(), buildFeatures(t, input, want, 2).Graph, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	got := filepath.Join(dir, "got.jsonl")
	parallelisms := []int{3, 1, 4, 2, 8, 5}
	var last *engine.Snapshot
	stops, held := 0, 0
	for {
		ctx, stop := context.WithCancel(context.Background())
		opts := engine.DefaultOptions()
		resumedFrom := last
		opts.Checkpointing = &engine.Checkpointing{Interval: time.Millisecond, Restore: resumedFrom, ByKeyGroup: stops%2 == 1,
			Complete: func(s *engine.Snapshot) error {
				last = s
				if !s.Final {
					if slices.ContainsFunc(s.Parts["card"], func(p []byte) bool { return p != nil }) {
						held++
					}
					stop()
				}
				return nil
			}}
		_, err := engine.Run(ctx, buildFeatures(t, input, got, parallelisms[stops%len(parallelisms)]).Graph, opts)
		stop()
		if err == nil {
			break
		}
		if !errors.Is(err, context.Canceled) || last == resumedFrom {
			t.Fatalf("run %d: %v", stops+1, err)
		}
		if stops++; stops > 500 {
			t.Fatalf("no run finished after %d stops", stops)
		}
	}
	t.Logf("%d rows: %d runs stopped after a checkpoint before one finished, %d with card state", rows, stops, held)
	g, w := sortedLines(t, got), sortedLines(t, want)
	if !slices.Equal(g, w) {
		t.Fatalf("%d rows after %d stops, %d uninterrupted; first difference: %s", len(g), stops, len(w), firstDiff(g, w))
	}
	return held > 0
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("\n got %s\nwant %s", a[i], b[i])
		}
	}
	return "one is longer"
}

// TestOverErrors checks what plan says of over views it cannot run.
func TestOverErrors(t *testing.T) {
	for _, c := range []struct{ view, want string }{
		{`{from: tx, over: {key: card_id, range: 1m}, select: {n: count(*) + 1}}`, "views.v.select.n: must be one feature function call"},
		{`{from: tx, over: {key: nope, range: 1m}, select: {n: count(*)}}`, `views.v.over.key: unknown column "nope"`},
		{`{from: tx, over: {key: card_id, range: 1m}, select: {z: zscore(country)}}`, "argument 1 is utf8; zscore takes a number"},
		{`{from: tx, over: {key: card_id, range: 1m}, select: {amount: count(*)}}`, `the output already has a column "amount"`},
		{`{from: tx, over: {key: card_id, range: 1m}, select: {n: count(amount)}}`, "count takes *"},
		{`{from: tx, over: {key: card_id}, select: {n: count(*)}}`, "views.v.over: range is required"},
		{`{from: tx, over: {key: card_id, range: 1m}, group_by: [card_id], select: {n: count(*)}}`, "views.v.group_by: cannot be combined with over"},
	} {
		text := "name: e\nsources:\n  tx: {kind: generator, rows: 10, schema: transaction}\nviews:\n  v: " + c.view + "\nsinks:\n  o: {from: v, kind: stdout}\n"
		s, err := spec.Parse([]byte(text), "e.yaml", nil)
		if err == nil {
			_, err = Build(s, Options{Parallelism: 1})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.view, err, c.want)
		}
	}
}

// TestOverArgumentErrorsGoToViewErrors computes a feature of an argument that fails on some
// rows: those go to the view's errors, the others get their features, and the ledger
// balances.
func TestOverArgumentErrorsGoToViewErrors(t *testing.T) {
	dir := t.TempDir()
	out, errs := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "errors.jsonl")
	text := fmt.Sprintf(`
name: e
sources:
  tx: {kind: generator, rows: 3000, seed: 4, rate: 20}
views:
  v:
    from: tx
    over: {key: card_id, range: 10m}
    select:
      ones: sum(CAST(CASE WHEN channel = 'atm' THEN 'x' ELSE '1' END AS int64))
      n: count(*)
sinks:
  out: {from: v, kind: jsonl, path: %s}
  errs: {from: v.errors, kind: jsonl, path: %s}
`, out, errs)
	s, err := spec.Parse([]byte(text), "e.yaml", nil)
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
	if l := pl.Ledger(stats); !l.Balanced() {
		t.Fatalf("ledger does not balance:\n%s", l)
	}
	rows, bad := numberLines(t, out), numberLines(t, errs)
	if len(bad) == 0 || len(rows)+len(bad) != 3000 {
		t.Fatalf("%d rows out and %d errors, want some errors and 3000 in all", len(rows), len(bad))
	}
	for _, r := range rows {
		if r["channel"] == "atm" || r["ones"].(json.Number).String() != r["n"].(json.Number).String() {
			t.Fatalf("row %v: want no atm rows, and every row in range counted by sum as by count", r)
		}
	}
	if !strings.Contains(bad[0]["reason"].(string), `"x"`) {
		t.Fatalf("error %v does not say what failed", bad[0])
	}
}

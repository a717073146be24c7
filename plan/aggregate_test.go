package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
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

// TestBooleanAggregatesAndExactQuantiles runs sum, avg and count_if over booleans and the
// exact quantiles over money through a planned view, and compares every group with a
// computation from the input rows: booleans count true as 1, quantile is quantile_disc and
// both quantiles answer in decimal(18,2).
func TestBooleanAggregatesAndExactQuantiles(t *testing.T) {
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows = 4000
	input := writeTx(t, dir, cfg)
	out := filepath.Join(dir, "out.jsonl")
	text := fmt.Sprintf(`
name: bools
sources:
  tx: {kind: file, path: %s, schema: transaction, event_time: ts, watermark: 1000h}
views:
  per_channel:
    from: tx
    group_by: [channel]
    window: {tumble: 1h}
    select:
      frauds: sum(is_fraud)
      share: avg(is_fraud)
      big: count_if(amount > 100)
      p99: quantile(amount, 0.99)
      med: quantile_cont(amount, 0.5)
sinks:
  out: {from: per_channel, kind: jsonl, path: %s}
`, input, out)
	s, err := spec.Parse([]byte(text), "bools.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := pl.String(); !strings.Contains(got, "frauds int64, share float64, big int64, p99 decimal(18, 2), med decimal(18, 2)") {
		t.Fatalf("plan columns:\n%s", got)
	}
	if _, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}

	type group struct {
		frauds, flagged, big int64
		cents                []int64
	}
	want := map[string]*group{}
	for _, rec := range readAll(t, input, schema.Transaction()) {
		channel := rec.Column(schema.Channel).(*array.String)
		fraud := rec.Column(schema.IsFraud).(*array.Boolean)
		amount := rec.Column(schema.AmountCol).(*array.Decimal128)
		ts := rec.Column(schema.TS).(*array.Timestamp)
		for i := range int(rec.NumRows()) {
			hour := int64(ts.Value(i)) / 3_600_000 * 3_600_000
			key := fmt.Sprintf("%s %s", channel.Value(i), time.UnixMilli(hour).UTC().Format(time.RFC3339))
			g := want[key]
			if g == nil {
				g = &group{}
				want[key] = g
			}
			if fraud.IsValid(i) {
				g.flagged++
				if fraud.Value(i) {
					g.frauds++
				}
			}
			c := int64(amount.Value(i).LowBits())
			if c > 100_00 {
				g.big++
			}
			g.cents = append(g.cents, c)
		}
		rec.Release()
	}
	body, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d rows, want one per channel and hour (%d)", len(lines), len(want))
	}
	for _, line := range lines {
		var row struct {
			Channel     string
			WindowStart time.Time `json:"window_start"`
			Frauds, Big int64
			Share       float64
			P99, Med    json.Number
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		key := fmt.Sprintf("%s %s", row.Channel, row.WindowStart.UTC().Format(time.RFC3339))
		g := want[key]
		if g == nil {
			t.Fatalf("row for an unknown channel: %s", line)
		}
		slices.Sort(g.cents)
		n := len(g.cents)
		p99 := g.cents[(n*99+99)/100-1]
		r := float64(n-1) * 0.5
		lo, hi := g.cents[int(math.Floor(r))], g.cents[int(math.Ceil(r))]
		med := lo + int64(math.Floor(float64(hi-lo)*(r-math.Floor(r))))
		share := float64(g.frauds) / float64(g.flagged)
		if row.Frauds != g.frauds || row.Big != g.big || math.Abs(row.Share-share) > 1e-12 ||
			row.P99.String() != decimal128.FromI64(p99).ToString(2) || row.Med.String() != decimal128.FromI64(med).ToString(2) {
			t.Errorf("%s: got %s\nwant frauds %d, share %v, big %d, p99 %s, med %s", key, line, g.frauds, share, g.big,
				decimal128.FromI64(p99).ToString(2), decimal128.FromI64(med).ToString(2))
		}
	}
}

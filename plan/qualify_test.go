package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/engine"
	"millrace/nexmark"
	"millrace/spec"
)

// TestQualifyKeepsTheTopBids runs a qualify view over a nexmark source and compares its rows
// with the bids of the highest price per 5-second window, computed row by row.
func TestQualifyKeepsTheTopBids(t *testing.T) {
	const events = 30_000
	text := fmt.Sprintf(`
name: top
sources:
  bids: {kind: nexmark, events: %d}
views:
  top:
    from: bids
    where: auction %% 2 = 0
    window: {tumble: 5s}
    select: {auction: auction, price: price, date_time: date_time}
    qualify: price = max(price)
sinks:
  out: {from: top, kind: stdout}
`, events)
	s, err := spec.Parse([]byte(text), "top.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p, err := Build(s, Options{Parallelism: 2, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Run(context.Background(), p.Graph, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	var got []int64
	for line := range strings.Lines(out.String()) {
		var row struct {
			Price     int64  `json:"price"`
			WindowEnd string `json:"window_end"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil || row.WindowEnd == "" {
			t.Fatalf("row %q: %v", line, err)
		}
		got = append(got, row.Price)
	}

	cfg := nexmark.DefaultConfig()
	cfg.Events = events
	g, err := nexmark.NewGenerator(cfg, nexmark.Bids)
	if err != nil {
		t.Fatal(err)
	}
	top, n := map[int64]int64{}, map[int64]int{}
	for {
		rec, err := g.Next(4096)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		a := rec.Column(nexmark.BidAuction).(*array.Int64)
		pr := rec.Column(nexmark.BidPrice).(*array.Int64)
		ts := rec.Column(nexmark.BidDateTime).(*array.Timestamp)
		for i := range int(rec.NumRows()) {
			if a.Value(i)%2 != 0 {
				continue
			}
			end := int64(ts.Value(i)) - int64(ts.Value(i))%5000 + 5000
			switch m, ok := top[end]; {
			case !ok || pr.Value(i) > m:
				top[end], n[end] = pr.Value(i), 1
			case pr.Value(i) == m:
				n[end]++
			}
		}
		rec.Release()
	}
	var want []int64
	for end, m := range top {
		for range n[end] {
			want = append(want, m)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("top prices = %v, want %v", got, want)
	}
}

func TestQualifyErrors(t *testing.T) {
	cases := map[string]string{
		"window: {tumble: 10s}\n    qualify: price > 0":                             "top.yaml:9: views.top.qualify: must be COLUMN = max(COLUMN)",
		"window: {tumble: 10s}\n    qualify: price = max(bidder)":                   "views.top.qualify: must be COLUMN = max(COLUMN)",
		"window: {tumble: 10s}\n    qualify: price = min(price)":                    "views.top.qualify: must be COLUMN = max(COLUMN)",
		"window: {tumble: 10s}\n    qualify: url = max(url)":                        `views.top.qualify: column "url" is utf8; qualify compares int64 columns`,
		"window: {tumble: 10s}\n    qualify: cost = max(cost)":                      `views.top.qualify: unknown column "cost"`,
		"qualify: price = max(price)":                                               "views.top.qualify: needs window: {tumble: D}, or an input window view whose window_end it keeps",
		"window: {tumble: 10s}\n    select: {n: count(*)}\n    qualify: n = max(n)": "views.top.select: cannot aggregate in a view with qualify",
	}
	for clauses, want := range cases {
		text := fmt.Sprintf(`
name: top
sources:
  bids: {kind: nexmark, events: 100}
views:
  top:
    from: bids
    %s
sinks:
  out: {from: top, kind: stdout}
`, clauses)
		s, err := spec.Parse([]byte(text), "top.yaml", nil)
		if err != nil {
			t.Fatalf("%s: %v", clauses, err)
		}
		_, err = Build(s, Options{Parallelism: 2})
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, spec.ErrInvalid) {
			t.Errorf("%s:\n got %v\nwant %s", clauses, err, want)
		}
	}
}

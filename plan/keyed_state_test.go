package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"millrace/gen"
	"millrace/spec"
)

func TestHoldsKeyedState(t *testing.T) {
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows = 10
	input := writeTx(t, dir, cfg)
	rates := filepath.Join(dir, "rates.csv")
	if err := os.WriteFile(rates, []byte("currency,fx\nEUR,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	for _, tc := range []struct {
		name, sources, view string
		want                bool
	}{
		{"whole-input aggregate", "", "select: {n: count(*), spend: sum(amount)}", false},
		{"filter and project", "", "where: amount > 0\n    select: {tx_id: tx_id}", false},
		{"grouped aggregate", "", "group_by: [card_id]\n    select: {n: count(*)}", true},
		{"tumbling window per key", "", "group_by: [card_id]\n    window: {tumble: 1m}\n    select: {n: count(*)}", true},
		{"lookup join", fmt.Sprintf("  rates: {kind: file, path: %q, columns: {currency: string, fx: float64}, table: true}\n", rates),
			"join: {table: rates, on: currency}\n    select: {tx_id: tx_id, fx: fx}", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := fmt.Sprintf(`
name: state
sources:
  tx: {kind: file, path: %q, schema: transaction, event_time: ts, watermark: 1s}
%sviews:
  v:
    from: tx
    %s
sinks:
  out: {from: v, kind: jsonl, path: %q}
`, input, tc.sources, tc.view, out)
			s, err := spec.Parse([]byte(text), "state.yaml", nil)
			if err != nil {
				t.Fatal(err)
			}
			pl, err := Build(s, Options{Parallelism: 2})
			if err != nil {
				t.Fatal(err)
			}
			if got := pl.HoldsKeyedState(); got != tc.want {
				t.Fatalf("HoldsKeyedState() = %v, want %v; plan:\n%s", got, tc.want, pl)
			}
		})
	}
}

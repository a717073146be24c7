package plan

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"millrace/gen"
	"millrace/spec"
)

// manyViewsSpec writes a spec of n views over one file source. Short chains: chains of ten
// views, each filtering and selecting columns of the one before, the first of each chain
// reading the source. Long chain: n/2 views in one chain, then n/2 window views reading its
// end. A sink reads the last view.
func manyViewsSpec(txPath string, n int, long bool) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: many\nsources:\n  tx:\n    kind: file\n    path: %s\n    schema: transaction\n    event_time: ts\n    watermark: 5s\nviews:\n", txPath)
	for i := range n {
		switch {
		case !long:
			from := "tx"
			if i%10 != 0 {
				from = fmt.Sprintf("v%d", i-1)
			}
			fmt.Fprintf(&b, "  v%d:\n    from: %s\n    where: amount > %d\n    select: {tx_id: tx_id, ts: ts, card_id: card_id, amount: amount, country: country}\n", i, from, i)
		case i == 0:
			fmt.Fprintf(&b, "  v0: {from: tx, where: amount > 0}\n")
		case i < n/2:
			fmt.Fprintf(&b, "  v%d: {from: v%d, where: amount > %d}\n", i, i-1, i)
		default:
			fmt.Fprintf(&b, "  v%d: {from: v%d, group_by: [card_id], window: {tumble: 1m}, select: {n: count(*)}}\n", i, n/2-1)
		}
	}
	fmt.Fprintf(&b, "sinks:\n  out: {from: v%d, kind: jsonl, path: out/x.jsonl}\n", n-1)
	return []byte(b.String())
}

// BenchmarkPlanManyViews parses, plans and prints specs of 1 000 and 10 000 views, in short
// chains and in one long chain with window views at its end. Planning is linear in the spec
// when ns/op grows ten times from the first size to the second.
func BenchmarkPlanManyViews(b *testing.B) {
	cfg := gen.DefaultConfig()
	cfg.Rows = 10
	tx := writeTx(b, b.TempDir(), cfg)
	for _, long := range []bool{false, true} {
		for _, n := range []int{1000, 10000} {
			data := manyViewsSpec(filepath.ToSlash(tx), n, long)
			b.Run(fmt.Sprintf("long=%v/views=%d", long, n), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					s, err := spec.Parse(data, "many.yaml", nil)
					if err != nil {
						b.Fatal(err)
					}
					p, err := Build(s, Options{Parallelism: 2, Stdout: io.Discard})
					if err != nil {
						b.Fatal(err)
					}
					_ = p.String()
				}
			})
		}
	}
}

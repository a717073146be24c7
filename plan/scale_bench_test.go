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

// manyViewsSpec writes a spec of n views over one file source: chains of ten views, each
// filtering and selecting columns of the one before, the first of each chain reading the
// source, and a sink on the last view.
func manyViewsSpec(txPath string, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: many\nsources:\n  tx:\n    kind: file\n    path: %s\n    schema: transaction\n    event_time: ts\n    watermark: 5s\nviews:\n", txPath)
	for i := range n {
		from := "tx"
		if i%10 != 0 {
			from = fmt.Sprintf("v%d", i-1)
		}
		fmt.Fprintf(&b, "  v%d:\n    from: %s\n    where: amount > %d\n    select: {tx_id: tx_id, ts: ts, card_id: card_id, amount: amount, country: country}\n", i, from, i)
	}
	fmt.Fprintf(&b, "sinks:\n  out: {from: v%d, kind: jsonl, path: out/x.jsonl}\n", n-1)
	return []byte(b.String())
}

// BenchmarkPlanManyViews parses, plans and prints specs of 1 000 and 10 000 views. Planning
// is linear in the spec when ns/op grows ten times from the first size to the second.
func BenchmarkPlanManyViews(b *testing.B) {
	cfg := gen.DefaultConfig()
	cfg.Rows = 10
	tx := writeTx(b, b.TempDir(), cfg)
	for _, n := range []int{1000, 10000} {
		data := manyViewsSpec(filepath.ToSlash(tx), n)
		b.Run(fmt.Sprintf("views=%d", n), func(b *testing.B) {
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

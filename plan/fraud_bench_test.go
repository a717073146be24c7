//go:build unix

package plan

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"testing"

	"millrace/engine"
	"millrace/proctime"
	"millrace/spec"
)

// BenchmarkFeaturesAndScoring runs the steps of examples/fraud.yaml over 200,000 generated
// transactions (0.5% fraud) at parallelism 1: the features per card, account and merchant,
// the shipped model's score of every transaction and the rules, with the generator before
// them and the alerts written to a JSONL file after (the Parquet audit trail of every score
// is left out). It reports transactions per second and per CPU second of the process, all
// its goroutines and the garbage collector included: what one core does.
func BenchmarkFeaturesAndScoring(b *testing.B) {
	const rows = 200_000
	text, err := os.ReadFile("../examples/fraud.yaml")
	if err != nil {
		b.Fatal(err)
	}
	audit := []byte(`  audit: {from: scored, kind: parquet, path: "${FRAUD_OUT:-out/fraud}/audit.parquet"}` + "\n")
	if !bytes.Contains(text, audit) {
		b.Fatalf("examples/fraud.yaml has no line %q", audit)
	}
	text = bytes.Replace(text, audit, nil, 1)
	vars := map[string]string{"FRAUD_DIR": "../examples", "FRAUD_ROWS": strconv.Itoa(rows), "FRAUD_OUT": b.TempDir()}
	s, err := spec.Parse(text, "fraud.yaml", func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		b.Fatal(err)
	}
	var done int64
	cpu0 := proctime.CPU()
	for b.Loop() {
		pl, err := BuildContext(context.Background(), s, Options{Parallelism: 1, Stdout: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		st, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		tx, _ := st.Node("tx")
		scored, _ := st.Node("scored")
		if tx.Read != rows || scored.RowsOut != rows {
			b.Fatalf("read %d transactions and scored %d, want %d", tx.Read, scored.RowsOut, rows)
		}
		done += scored.RowsOut
	}
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(done)/(proctime.CPU()-cpu0).Seconds(), "rows/cpu-s")
}

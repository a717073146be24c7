package cluster

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"millrace/examples/examplestest"
	"millrace/format"
	"millrace/gen"
	"millrace/plan"
	"millrace/spec"
)

var update = flag.Bool("update", false, "rewrite the golden layouts under testdata/")

// TestExampleLayoutsMatchGolden cuts every example spec a cluster runs into its stages and
// compares what plan --cluster prints with testdata/<name>.layout (go test ./cluster -run
// Golden -update rewrites them).
func TestExampleLayoutsMatchGolden(t *testing.T) {
	dir := t.TempDir()
	tx := filepath.Join(dir, "tx.jsonl")
	f, err := format.CreateFile(tx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Write(context.Background(), gen.Config{Seed: 1, Rows: 100, Rate: 100, Accounts: 10, Merchants: 10}, f, format.JSONL, format.WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	vars := examplestest.Brokers(t)
	vars["TX_PATH"], vars["HISTORY_PATH"] = tx, tx
	vars["FRAUD_DIR"] = "../examples"
	env := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	examples, _ := filepath.Glob("../examples/*.yaml")
	if len(examples) == 0 {
		t.Fatal("no examples")
	}
	cut := 0
	for _, path := range examples {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := spec.Parse(text, filepath.Base(path), env)
		if err != nil {
			t.Fatal(err)
		}
		p, err := plan.Build(s, plan.Options{Parallelism: 2})
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		l, err := Cut(p)
		if err != nil {
			t.Logf("%s: %v", name, err) // a single-file sink, mostly: refusals have tests of their own
			continue
		}
		cut++
		var got bytes.Buffer
		if err := l.Print(&got); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", name+".layout")
		text = []byte(strings.NewReplacer(tx, "TX_PATH", vars["KAFKA_BROKERS"], "KAFKA_BROKERS").Replace(got.String()))
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, text, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./cluster -run Golden -update)", err)
		}
		if !bytes.Equal(text, want) {
			t.Errorf("%s: the layout differs from %s:\n%s", path, golden, text)
		}
	}
	if cut < 2 {
		t.Errorf("a cluster runs %d of the examples, want cluster-velocity and payment-cashout at least", cut)
	}
}

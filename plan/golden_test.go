package plan

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"millrace/examples/examplestest"
	"millrace/gen"
	"millrace/spec"
)

var update = flag.Bool("update", false, "rewrite the golden plans under testdata/")

// TestExamplePlansMatchGolden plans every example spec at parallelism 2 and compares the
// printed plan with testdata/<name>.plan, nexmark/<query>.yaml's with
// testdata/nexmark-<query>.plan (go test ./plan -update rewrites them).
func TestExamplePlansMatchGolden(t *testing.T) {
	dir := t.TempDir()
	tx := writeTx(t, dir, gen.Config{Seed: 1, Rows: 100, Rate: 100, Accounts: 10, Merchants: 10})
	vars := examplestest.Brokers(t)
	vars["TX_PATH"], vars["HISTORY_PATH"] = tx, tx
	vars["FRAUD_DIR"] = "../examples" // the fraud examples' model and rules
	env := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	examples, _ := filepath.Glob("../examples/*.yaml")
	nexmark, _ := filepath.Glob("../examples/nexmark/*.yaml")
	examples = append(examples, nexmark...)
	if len(examples) == 0 {
		t.Fatal("no examples")
	}
	for _, path := range examples {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := spec.Parse(text, filepath.Base(path), env)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Build(s, Options{Parallelism: 2})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.NewReplacer(tx, "TX_PATH", vars["KAFKA_BROKERS"], "KAFKA_BROKERS", vars["NATS_URL"], "NATS_URL").Replace(p.String())
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		if filepath.Base(filepath.Dir(path)) == "nexmark" {
			name = "nexmark-" + name
		}
		golden := filepath.Join("testdata", name+".plan")
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./plan -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s: plan differs from %s:\n%s", path, golden, got)
		}
	}
}

// TestGoldenPlanErrors plans every testdata/bad/*.yaml, which parses but cannot be planned,
// and compares the error with testdata/bad/NAME.err (go test ./plan -update rewrites them).
func TestGoldenPlanErrors(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no specs under testdata/bad")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			text, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := spec.Parse(text, filepath.Base(path), nil)
			if err != nil {
				t.Fatalf("want a spec that parses, got:\n%v", err)
			}
			p, err := Build(s, Options{Parallelism: 2})
			if err == nil {
				t.Fatalf("want a plan error, got a plan:\n%s", p)
			}
			if !errors.Is(err, spec.ErrInvalid) {
				t.Errorf("errors.Is(err, spec.ErrInvalid) = false for %v", err)
			}
			compareGolden(t, strings.TrimSuffix(path, ".yaml")+".err", err.Error()+"\n")
		})
	}
}

// compareGolden compares got with the file at path, or rewrites the file under -update.
func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./plan -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestGoldenWarnings plans every testdata/warn/*.yaml, a spec that runs but is likely a
// mistake, and compares its warnings, one a line, with testdata/warn/NAME.warn.
func TestGoldenWarnings(t *testing.T) {
	files, _ := filepath.Glob("testdata/warn/*.yaml")
	if len(files) == 0 {
		t.Fatal("no specs under testdata/warn")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			text, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := spec.Parse(text, filepath.Base(path), nil)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Build(s, Options{Parallelism: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Warnings) == 0 {
				t.Fatal("no warnings")
			}
			compareGolden(t, strings.TrimSuffix(path, ".yaml")+".warn", strings.Join(p.Warnings, "\n")+"\n")
		})
	}
}

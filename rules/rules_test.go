package rules

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/op"
	"millrace/reload"
)

var in = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.BinaryTypes.String},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

// batch makes rows of in: ids r0, r1, ... with the amounts given (NaN for null).
func batch(amounts ...float64) arrow.RecordBatch {
	ids := array.NewStringBuilder(memory.DefaultAllocator)
	defer ids.Release()
	am := array.NewFloat64Builder(memory.DefaultAllocator)
	defer am.Release()
	for i, a := range amounts {
		ids.Append("r" + string(rune('0'+i)))
		if math.IsNaN(a) {
			am.AppendNull()
		} else {
			am.Append(a)
		}
	}
	a, b := ids.NewArray(), am.NewArray()
	defer a.Release()
	defer b.Release()
	return array.NewRecordBatch(in, []arrow.Array{a, b}, int64(len(amounts)))
}

func TestParseErrors(t *testing.T) {
	for name, c := range map[string]struct{ text, want string }{
		"empty":     {"rules: []\n", "r.yaml: no rules"},
		"unknown":   {"rules:\n  - name: a\n    when: true\n    reason: x\n    sevrity: high\n", "field sevrity not found"},
		"no name":   {"rules:\n  - when: amount > 1\n    reason: x\n", "r.yaml:2: rules[0]: name is required"},
		"bad name":  {"rules:\n  - name: 1a\n    when: amount > 1\n    reason: x\n", `r.yaml:2: rules[0]: name "1a" is not an identifier`},
		"twice":     {"rules:\n  - {name: a, when: amount > 1, reason: x}\n  - {name: a, when: amount > 2, reason: y}\n", `r.yaml:3: rules[1]: name "a" is used by the rule at line 2 too`},
		"no when":   {"rules:\n  - {name: a, reason: x}\n", "r.yaml:2: rules[0]: when is required"},
		"severity":  {"rules:\n  - {name: a, when: amount > 1, reason: x, severity: urgent}\n", `severity "urgent" is not one of`},
		"no reason": {"rules:\n  - {name: a, when: amount > 1}\n", "r.yaml:2: rules[0]: reason is required"},
		"yaml":      {"rules: [\n", "r.yaml: yaml:"},
	} {
		_, err := Parse([]byte(c.text), "r.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
	rs, err := Parse([]byte("rules:\n  - {name: a, when: amount > 1, reason: x}\n  - {name: b, when: amount + 1, reason: y}\n  - {name: c, when: amout > 1, reason: z}\n"), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Severity != "medium" {
		t.Errorf("default severity %q", rs[0].Severity)
	}
	_, err = Compile(rs, in, "r.yaml")
	for _, want := range []string{"r.yaml:3: rules[1] b: when: must be true or false, not float64", `r.yaml:4: rules[2] c: when: unknown column "amout"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("compile: got %v, want %q", err, want)
		}
	}
}

type collect []arrow.RecordBatch

func (c *collect) Collect(rec arrow.RecordBatch) error { *c = append(*c, rec); return nil }

// alerts runs one batch through a and returns its alerts as "id rule version" lines.
func alerts(t *testing.T, a *Alerter, amounts ...float64) []string {
	t.Helper()
	var got collect
	if err := a.Process(0, batch(amounts...), &got); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rec := range got {
		for i := range int(rec.NumRows()) {
			out = append(out, rec.Column(0).(*array.String).Value(i)+" "+rec.Column(2).(*array.String).Value(i)+" "+
				rec.Column(3).(*array.String).Value(i)+" "+rec.Column(4).(*array.String).Value(i)+" "+rec.Column(5).(*array.String).Value(i))
		}
		rec.Release()
	}
	return out
}

const (
	v1 = "rules:\n  - {name: big, when: amount > 100, severity: high, reason: a big amount}\n  - {name: small, when: amount < 1, severity: low, reason: a tiny amount}\n"
	v2 = "rules:\n  - {name: big, when: amount > 10, severity: high, reason: a big amount}\n"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path+".new", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// TestAlerterMatchesAndReloads checks the alerts of two rules, in rule order and then row
// order, and that without checkpoints a changed file applies from the next batch on, while a
// bad one keeps the rules in use.
func TestAlerterMatchesAndReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	write(t, path, v1)
	st := &reload.Status{Path: path, What: "rules"}
	a, err := NewAlerter(path, in, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Open(op.Context{}); err != nil {
		t.Fatal(err)
	}
	ver1, ver2 := reload.Version([]byte(v1)), reload.Version([]byte(v2))
	got := strings.Join(alerts(t, a, 500, 0.5, 50, math.NaN(), 101, 0), "\n")
	want := strings.Join([]string{
		"r0 big high a big amount " + ver1, "r4 big high a big amount " + ver1,
		"r1 small low a tiny amount " + ver1, "r5 small low a tiny amount " + ver1,
	}, "\n")
	if got != want {
		t.Fatalf("alerts:\n%s\nwant:\n%s", got, want)
	}
	write(t, path, v2)
	if got := strings.Join(alerts(t, a, 50, 0.5), "\n"); got != "r0 big high a big amount "+ver2 {
		t.Fatalf("after the change, alerts:\n%s", got)
	}
	write(t, path, "rules:\n  - {name: big, when: amont > 10, reason: typo}\n")
	if got := strings.Join(alerts(t, a, 50), "\n"); got != "r0 big high a big amount "+ver2 {
		t.Fatalf("after a bad file, alerts:\n%s", got)
	}
	if st.Reloads() != 1 || st.Failures() != 1 || !strings.Contains(st.LastError(), `unknown column "amont"`) || !strings.Contains(st.LastError(), "still using version "+ver2) {
		t.Fatalf("reloads %d, failures %d, last error %q", st.Reloads(), st.Failures(), st.LastError())
	}
}

// TestAlerterRestoresItsRules checks that with checkpoints a changed file applies from the
// next checkpoint, and that a run restored from an earlier checkpoint matches with the rules
// that checkpoint holds, not the file's, until its own first checkpoint.
func TestAlerterRestoresItsRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	write(t, path, v1)
	st := &reload.Status{Path: path, What: "rules"}
	a, err := NewAlerter(path, in, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Open(op.Context{Checkpointing: true}); err != nil {
		t.Fatal(err)
	}
	first, err := a.Snapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	write(t, path, v2)
	if got := alerts(t, a, 50); len(got) != 0 {
		t.Fatalf("between checkpoints the new rules applied: %v", got)
	}
	if _, err := a.Snapshot(2); err != nil {
		t.Fatal(err)
	}
	if got := alerts(t, a, 50); len(got) != 1 {
		t.Fatalf("after the checkpoint, alerts %v", got)
	}

	r, err := NewAlerter(path, in, st) // a restarted run, which finds v2 in the file
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Open(op.Context{Checkpointing: true}); err != nil {
		t.Fatal(err)
	}
	if err := r.Restore(first); err != nil {
		t.Fatal(err)
	}
	if r.Version() != reload.Version([]byte(v1)) {
		t.Fatalf("restored version %s", r.Version())
	}
	if got := alerts(t, r, 50, 0.5); len(got) != 1 || !strings.HasPrefix(got[0], "r1 small") {
		t.Fatalf("restored, alerts %v; want the checkpoint's rules", got)
	}
	if _, err := r.Snapshot(3); err != nil {
		t.Fatal(err)
	}
	if got := alerts(t, r, 50, 0.5); len(got) != 1 || !strings.HasPrefix(got[0], "r0 big") {
		t.Fatalf("after its first checkpoint, alerts %v; want the file's rules", got)
	}
	if err := r.Restore([]byte("MRST not ours")); err == nil {
		t.Fatal("restored from a foreign state")
	}
}

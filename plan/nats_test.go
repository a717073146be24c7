package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"millrace/spec"
)

// TestNATSSourcePlan plans a nats source split into partition subjects: the step reads as
// many partitions as the parallelism allows, says what it reads and never prints the
// password.
func TestNATSSourcePlan(t *testing.T) {
	s, err := spec.Parse([]byte(`name: live
sources:
  tx:
    kind: nats
    url: nats://127.0.0.1:4222
    stream: TX
    subject: tx
    partitions: 3
    user: millrace
    password: ${NATS_PASSWORD}
    schema: transaction
sinks:
  out: {from: tx, kind: jsonl, path: out/tx.jsonl}
`), "live.yaml", func(string) (string, bool) { return "hunter2-secret", true })
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: 4})
	if err != nil {
		t.Fatal(err)
	}
	text := pl.String()
	js, err := pl.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"stream TX subjects tx.0..2", "3 partition(s)", "durable consumer millrace-live-tx"} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan does not say %q:\n%s", want, text)
		}
	}
	if strings.Contains(text+string(js), "hunter2") {
		t.Errorf("the plan prints the password:\n%s", text)
	}
	st, ok := pl.Step("tx")
	if !ok {
		t.Fatal("no step tx")
	}
	if st.Parallelism != 3 {
		t.Errorf("the source step runs %d subtasks over 3 partitions", st.Parallelism)
	}
}

// TestNATSSinkPlan plans a nats sink with a subject per row: one subtask, a description
// without the server, and an unknown column in subject_by named at its key path.
func TestNATSSinkPlan(t *testing.T) {
	text := `name: live
sources:
  tx: {kind: file, path: "%s", schema: transaction}
sinks:
  out: {from: tx, kind: nats, url: "nats://10.0.0.1:4222", subject: tx.out, subject_by: %s}
`
	input := filepath.Join(t.TempDir(), "tx.jsonl")
	if err := os.WriteFile(input, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse([]byte(fmt.Sprintf(text, input, "channel")), "live.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Build(s, Options{Parallelism: 4})
	if err != nil {
		t.Fatal(err)
	}
	st, ok := pl.Step("sink.out")
	if !ok {
		t.Fatalf("no step sink.out:\n%s", pl)
	}
	if st.Parallelism != 1 {
		t.Errorf("the nats sink runs %d subtasks, want 1", st.Parallelism)
	}
	if out := pl.String(); !strings.Contains(out, "subject tx.out.(channel)") || strings.Contains(out, "10.0.0.1") {
		t.Errorf("the plan does not say where rows go, or names the server:\n%s", out)
	}
	s, err = spec.Parse([]byte(fmt.Sprintf(text, input, "chanel")), "live.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(s, Options{Parallelism: 4}); err == nil || !strings.Contains(err.Error(), "sinks.out.subject_by") {
		t.Errorf("an unknown column in subject_by: %v", err)
	}
}

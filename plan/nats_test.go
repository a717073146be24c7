package plan

import (
	"strings"
	"testing"

	"millrace/spec"
)

// TestNATSSourcePlan plans a nats source split into partition subjects: the step reads as
// many partitions as the parallelism allows, says where it reads from and never prints the
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
	for _, want := range []string{"stream TX subjects tx.0..2", "user millrace", "3 partition(s)", "durable consumer millrace-live-tx"} {
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

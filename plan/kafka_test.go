package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"millrace/spec"
)

func TestKafkaSourcePlan(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "tx"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	broker := cluster.ListenAddrs()[0]
	text := fmt.Sprintf(`name: live
sources:
  tx:
    kind: kafka
    brokers: %s
    topic: tx
    sasl: {mechanism: PLAIN, username: u, password: "${KAFKA_PASSWORD}"}
    columns: {id: string, amount: int64, _offset: int64}
sinks:
  out: {from: tx, kind: jsonl, path: out.jsonl}
`, broker)
	env := func(name string) (string, bool) { return "hunter2", name == "KAFKA_PASSWORD" }
	s, err := spec.Parse([]byte(text), "live.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	// The cluster takes no SASL: planning lists the partitions over a plain connection.
	s.Source("tx").Kafka.SASL = nil
	p, err := Build(s, Options{Parallelism: 8})
	if err != nil {
		t.Fatal(err)
	}
	out := p.String()
	want := "read jsonl from Kafka topics tx (4 partitions), from earliest where no checkpoint says, offsets committed to group millrace.live.tx"
	if !strings.Contains(out, want) {
		t.Errorf("plan:\n%s\nwant a step that does %q", out, want)
	}
	if n := p.Graph.Nodes[0]; n.Name != "tx" || n.Parallelism != 4 {
		t.Errorf("source node %s with parallelism %d, want tx with 4: one subtask per partition at most", n.Name, n.Parallelism)
	}

	missing, err := spec.Parse([]byte(strings.Replace(text, "topic: tx", "topic: payments", 1)), "live.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(missing, Options{Parallelism: 2})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("SASL against a cluster that takes none: %v", err)
	}
	missing.Source("tx").Kafka.SASL = nil
	_, err = Build(missing, Options{Parallelism: 2})
	if err == nil {
		t.Fatal("a plan over a missing topic was built")
	}
	for _, want := range []string{"live.yaml:3: sources.tx: ", `topic "payments" does not exist at ` + broker} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing topic: %v\nwant %q", err, want)
		}
	}
}

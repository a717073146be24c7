package observe

import (
	"testing"

	"millrace/engine"
	"millrace/listen"
	"millrace/plan"
	"millrace/spec"
)

// servePlan plans the pipeline of text (named name, its variables from vars) at parallelism
// p and serves it on a port of loopback with a Monitor for its run; the server closes when
// the test ends.
func servePlan(t *testing.T, text, name string, vars func(string) (string, bool), p int) (*plan.Plan, *Server, *engine.Monitor) {
	t.Helper()
	s, err := spec.Parse([]byte(text), name, vars)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.Build(s, plan.Options{Parallelism: p})
	if err != nil {
		t.Fatal(err)
	}
	mon := &engine.Monitor{}
	srv, err := Listen(listen.Config{Addr: "127.0.0.1:0"}, pl, mon)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return pl, srv, mon
}

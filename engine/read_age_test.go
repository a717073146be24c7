package engine

import (
	"context"
	"testing"
	"time"

	"millrace/op"
	"millrace/source"
)

// agedCounter is a counter whose records were all appended to their broker an hour ago.
type agedCounter struct {
	counter
	appended time.Time
}

func (c *agedCounter) Open(ctx context.Context, p int, pos []byte) (source.PartitionReader, error) {
	r, err := c.counter.Open(ctx, p, pos)
	if err != nil {
		return nil, err
	}
	return &agedReader{counterReader: r.(*counterReader), appended: c.appended}, nil
}

type agedReader struct {
	*counterReader
	appended time.Time
}

func (r *agedReader) Progress() source.Progress { return source.Progress{Appended: r.appended} }

// TestSourcesCountTheAgeOfWhatTheyRead checks that a source whose reader says when its
// records were appended counts, for every batch it read, how old that was; a source that
// does not say counts nothing.
func TestSourcesCountTheAgeOfWhatTheyRead(t *testing.T) {
	for _, aged := range []bool{true, false} {
		var src source.Source = &counter{n: 400, parts: 2}
		if aged {
			src = &agedCounter{counter: counter{n: 400, parts: 2}, appended: time.Now().Add(-time.Hour)}
		}
		in := &Node{Name: "src", Parallelism: 1, Source: src, Watermarks: WatermarkPolicy{EventTime: 1}}
		out := &Node{Name: "out", Parallelism: 1, Operator: func(int) (op.Operator, error) { return &twoPhase{d: newDisk()}, nil }}
		st, err := Run(context.Background(), &Graph{Nodes: []*Node{in, out}, Edges: []*Edge{{From: in, To: out}}}, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		s, _ := st.Node("src")
		age := s.ReadAge
		switch {
		case aged && (age.Count() != 40 || age.Sum < 40*time.Hour):
			t.Errorf("40 batches appended an hour before: %d ages, %s in all", age.Count(), age.Sum)
		case !aged && age.Count() != 0:
			t.Errorf("a source that does not say when its records were appended: %d ages", age.Count())
		}
	}
}

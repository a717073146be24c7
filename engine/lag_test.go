package engine

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
	"millrace/source"
)

// lagging is a three-partition source whose readers say their partition holds 10 times its
// number of records at the broker past what they read, one fewer after each batch.
type lagging struct{ scripted }

func (*lagging) Capabilities() source.Capabilities {
	return source.Capabilities{Bounded: true, Lag: true}
}
func (*lagging) Partitions() int { return 3 }
func (l *lagging) Open(_ context.Context, p int, _ []byte) (source.PartitionReader, error) {
	return &laggingReader{scriptedReader: scriptedReader{left: 4}, lag: int64(10 * p)}, nil
}

type laggingReader struct {
	scriptedReader
	lag int64
}

func (r *laggingReader) Read(ctx context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	rec, dead, err := r.scriptedReader.Read(ctx)
	if rec != nil {
		r.lag = max(r.lag-1, 0)
	}
	return rec, dead, err
}

func (r *laggingReader) Progress() source.Progress { return source.Progress{Lag: r.lag} }

func TestSourceLagReachesTheStats(t *testing.T) {
	src := &Node{Name: "s", Parallelism: 2, Source: &lagging{}, Watermarks: WatermarkPolicy{EventTime: 0}}
	var out sinkResult
	g := &Graph{Nodes: []*Node{src, out.node("out")}}
	g.Edges = []*Edge{{From: src, To: g.Nodes[1], Partitioning: Rebalance}}
	stats, err := Run(context.Background(), g, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := stats.Node("s")
	want := map[int]int64{0: 0, 1: 6, 2: 16}
	if len(s.Lag) != len(want) {
		t.Fatalf("lag %v, want %v", s.Lag, want)
	}
	for p, lag := range want {
		if s.Lag[p] != lag {
			t.Errorf("partition %d: lag %d, want %d (all: %v)", p, s.Lag[p], lag, s.Lag)
		}
	}
	o, _ := stats.Node("out")
	if o.Lag != nil {
		t.Errorf("an operator has a lag: %v", o.Lag)
	}
}

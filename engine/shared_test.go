package engine

import (
	"context"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
	"millrace/source"
)

// sharing is a source of four empty partitions whose copies made by Share note which
// partitions each opened, as a broker source's copies share one fetch.
type sharing struct {
	boundedSource
	mu     *sync.Mutex
	opened map[*sharing][]int // by copy; the original opens under its own key
}

func (s *sharing) Schema() *arrow.Schema { return tsOnly }
func (s *sharing) Partitions() int       { return 4 }
func (s *sharing) Share() source.Source  { return &sharing{mu: s.mu, opened: s.opened} }
func (s *sharing) Open(_ context.Context, p int, _ []byte) (source.PartitionReader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opened[s] = append(s.opened[s], p)
	return endedReader{}, nil
}

// endedReader is a partition with nothing in it.
type endedReader struct{ plainReader }

func (endedReader) Read(context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	return nil, nil, io.EOF
}

// TestEachSourceSubtaskOpensThroughACopyOfItsOwn checks that a source whose readers can
// fetch together has each subtask's partitions opened from one copy of the subtask's own,
// so that they wait for their records together and for no other subtask.
func TestEachSourceSubtaskOpensThroughACopyOfItsOwn(t *testing.T) {
	orig := &sharing{mu: new(sync.Mutex), opened: map[*sharing][]int{}}
	src := &Node{Name: "s", Parallelism: 2, Source: orig, Watermarks: WatermarkPolicy{EventTime: -1}}
	var out sinkResult
	g := &Graph{Nodes: []*Node{src, out.node("out")}}
	g.Edges = []*Edge{{From: src, To: g.Nodes[1], Partitioning: Rebalance}}
	if _, err := Run(context.Background(), g, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if got := orig.opened[orig]; got != nil {
		t.Errorf("partitions %v opened from the source itself, not a copy", got)
	}
	var groups [][]int
	for c, parts := range orig.opened {
		if c != orig {
			slices.Sort(parts)
			groups = append(groups, parts)
		}
	}
	slices.SortFunc(groups, func(a, b []int) int { return a[0] - b[0] })
	if want := [][]int{{0, 2}, {1, 3}}; !slices.EqualFunc(groups, want, slices.Equal) {
		t.Errorf("partitions opened by copy %v, want %v (each subtask's from a copy of its own)", groups, want)
	}
}

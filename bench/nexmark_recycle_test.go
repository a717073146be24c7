package bench

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/engine"
	"millrace/nexmark"
	"millrace/op"
	"millrace/plan"
)

// TestRecycledBuffersChangeNoRows runs q18, whose dedup keeps rows with their strings in
// keyed state behind a hash exchange, with the generators' buffers recycled (and scribbled
// over as they come back) and with fresh memory: the rows must be the same.
func TestRecycledBuffersChangeNoRows(t *testing.T) {
	in := NexmarkInput{Events: 30_000, Seed: 3, Rate: 500}
	fresh := runQueryAllocating(t, "q18", in, 2, nil)
	if len(fresh) == 0 {
		t.Fatal("q18 wrote nothing")
	}
	if recycled := runQuery(t, "q18", in, 2); !slices.Equal(recycled, fresh) {
		t.Fatalf("recycled buffers: %d rows, fresh memory: %d; %s", len(recycled), len(fresh), firstRowDifference(recycled, fresh))
	}
}

// keeper is a faulty sink: it keeps each bid's channel as String.Value returns it, a string
// into the batch's memory, past the batch's release; and a copy, to compare.
type keeper struct {
	op.Base
	mu           *sync.Mutex
	kept, copies *[]string
}

func (k *keeper) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	ch := rec.Column(nexmark.BidChannel).(*array.String)
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range ch.Len() {
		*k.kept = append(*k.kept, ch.Value(i))
		*k.copies = append(*k.copies, strings.Clone(ch.Value(i)))
	}
	return nil
}

// TestRecycledBuffersExposeAStepThatKeepsThem checks that the runs above can fail: a sink
// keeping strings into released batches reads them intact from fresh memory and as junk
// from recycled buffers.
func TestRecycledBuffersExposeAStepThatKeepsThem(t *testing.T) {
	in := NexmarkInput{Events: 30_000, Seed: 3, Rate: 500}
	for _, recycle := range []bool{false, true} {
		pl, err := NexmarkPlan("q0", in, 2)
		if err != nil {
			t.Fatal(err)
		}
		if recycle {
			recycleGeneratorBuffers(pl, func() memory.Allocator { return scribbler{nexmark.NewRecycler()} })
		}
		var mu sync.Mutex
		var kept, copies []string
		for i, st := range pl.Steps {
			if st.Kind == plan.KindSink {
				pl.Graph.Nodes[i].Operator = func(int) (op.Operator, error) { return &keeper{mu: &mu, kept: &kept, copies: &copies}, nil }
			}
		}
		if _, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions()); err != nil {
			t.Fatal(err)
		}
		if len(kept) == 0 {
			t.Fatal("q0 wrote nothing")
		}
		if intact := slices.Equal(kept, copies); intact == recycle {
			t.Fatalf("recycled %v: the kept strings are intact: %v", recycle, intact)
		}
	}
}

package op

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// TestChainResumesFromASnapshot runs a filter, a hopping window aggregation and a window top
// fused in one chain, stopping and resuming it between messages.
func TestChainResumesFromASnapshot(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(5, 5))
	msgs := txStream(r, mem, 24, 150, 9, 3000, 20_000)
	defer releaseStream(msgs)
	hop := window.Spec{Kind: window.Hop, Size: 5 * time.Minute, Every: time.Minute}
	fresh := func() Operator {
		// The aggregation emits card, window_start, window_end and count(*) first; the top
		// keeps the cards with the most rows per window.
		c := NewChain(NewMap(notNull(4), nil, nil), newTxAgg(t, mem, hop, Single, 1), NewWindowTop(2, 3))
		if err := c.Open(Context{Mem: mem}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	checkResumes(t, fresh, msgs, stops(r, len(msgs)))
}

// TestNestedChainResumesFromASnapshot chains a window top, in a chain of its own, with a
// tumbling window aggregation over all the rows it emits, so that both hold state between
// messages: the top the rows of windows that have not ended, the aggregation the windows of
// the rows' ends.
func TestNestedChainResumesFromASnapshot(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(6, 6))
	msgs := topStream(r, mem, 40)
	defer releaseStream(msgs)
	tumble := window.Spec{Kind: window.Tumble, Size: 30 * time.Second}
	fresh := func() Operator {
		calls := []AggCall{{Name: "count"}, {Name: "sum", Args: []int{2}, ArgTypes: []arrow.DataType{arrow.PrimitiveTypes.Int64}},
			{Name: "min", Args: []int{0}, ArgTypes: []arrow.DataType{arrow.BinaryTypes.String}}}
		agg, err := NewWindowAgg(WindowAggConfig{Window: tumble, Keys: 0, Time: 1, Calls: calls, Phase: Single})
		if err != nil {
			t.Fatal(err)
		}
		f := []arrow.Field{{Name: "window_start", Type: tsType}, {Name: "window_end", Type: tsType}}
		for i, rt := range agg.ResultTypes() {
			f = append(f, arrow.Field{Name: calls[i].Name, Type: rt, Nullable: true})
		}
		agg.cfg.Out = arrow.NewSchema(f, nil)
		c := NewChain(NewChain(NewMap(nil, nil, nil), NewWindowTop(1, 2)), agg)
		if err := c.Open(Context{Mem: mem}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	checkResumes(t, fresh, msgs, stops(r, len(msgs)))
}

// committer is a stateless operator that counts its snapshots and commits.
type committer struct {
	Base
	snapshots, commits []uint64
}

func (c *committer) Process(_ int, rec arrow.RecordBatch, _ Collector) error {
	rec.Release()
	return nil
}

func (c *committer) Snapshot(id uint64) ([]byte, error) {
	c.snapshots = append(c.snapshots, id)
	return []byte{byte(id)}, nil
}

func (c *committer) Restore([]byte) error { return nil }

func (c *committer) Commit(id uint64) error {
	c.commits = append(c.commits, id)
	return nil
}

func TestChainCommitsItsCommitters(t *testing.T) {
	sink := &committer{}
	c := NewChain(NewMap(nil, nil, nil), sink)
	cm, ok := c.(Committer)
	if !ok {
		t.Fatalf("a chain ending in a Committer is a %T, not a Committer", c)
	}
	state, err := cm.Snapshot(3)
	if err != nil {
		t.Fatal(err)
	}
	if err := cm.Restore(state); err != nil {
		t.Fatal(err)
	}
	if err := cm.Commit(3); err != nil {
		t.Fatal(err)
	}
	if len(sink.snapshots) != 1 || len(sink.commits) != 1 || sink.commits[0] != 3 {
		t.Fatalf("the member saw snapshots %v and commits %v", sink.snapshots, sink.commits)
	}
}

func TestChainIsASnapshotterOnlyWithStatefulMembers(t *testing.T) {
	mem := memory.DefaultAllocator
	tumble := window.Spec{Kind: window.Tumble, Size: time.Minute}
	stateless := NewChain(NewMap(nil, nil, nil), NewMap(nil, nil, nil))
	if _, ok := stateless.(Snapshotter); ok {
		t.Error("a chain of maps is a Snapshotter")
	}
	if _, ok := stateless.(*Chain); !ok {
		t.Errorf("a chain of maps is a %T", stateless)
	}
	stateful := NewChain(NewMap(nil, nil, nil), newTxAgg(t, mem, tumble, Single, 1))
	if _, ok := stateful.(Snapshotter); !ok {
		t.Error("a chain holding a window aggregation is not a Snapshotter")
	}
	if _, ok := stateful.(Committer); ok {
		t.Error("a chain without a Committer is one")
	}
	if _, ok := stateful.(interface{ Dropped() int64 }); !ok {
		t.Error("a chain with state lost Dropped")
	}
	nested := NewChain(stateless, stateful)
	if _, ok := nested.(Snapshotter); !ok {
		t.Error("a chain holding a chain with state is not a Snapshotter")
	}
	a := NewChain(NewMap(nil, nil, nil), newTxAgg(t, mem, tumble, Single, 1)).(StateFingerprinter).StateFingerprint()
	b := NewChain(NewMap(nil, nil, nil), newTxAgg(t, mem, window.Spec{Kind: window.Tumble, Size: time.Hour}, Single, 1)).(StateFingerprinter).StateFingerprint()
	c := NewChain(newTxAgg(t, mem, tumble, Single, 1), NewMap(nil, nil, nil)).(StateFingerprinter).StateFingerprint()
	if a == b || a == c {
		t.Errorf("chain fingerprints do not tell the window or the position apart: %s %s %s", a, b, c)
	}
}

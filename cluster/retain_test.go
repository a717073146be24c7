package cluster

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"millrace/objstore"
)

// TestCleanKeepsTheTwoCheckpointsAUnitMayRestore writes a unit's state at five checkpoints
// and commits two of them: clean-up leaves exactly the last two committed and the one the
// group names now (another worker's, which took the unit over).
func TestCleanKeepsTheTwoCheckpointsAUnitMayRestore(t *testing.T) {
	ctx := context.Background()
	store, err := objstore.Open(ctx, t.TempDir(), objstore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close() }()
	w := &worker{opts: Options{Store: store, Layout: &Layout{Pipeline: "p", KeyGroups: 256}, Log: slog.New(slog.DiscardHandler)}}
	u := &unit{stage: &Stage{Name: "tx"}, topic: "tx", partition: 3}
	other := &unit{stage: &Stage{Name: "tx"}, topic: "tx", partition: 4}
	g := &generation{w: w, units: []*unit{u}, committed: map[*unit]committedUnit{}}
	for _, name := range []string{"a-g1-1", "a-g1-2", "a-g1-3", "b-g1-7", "a-g1-4"} {
		for _, x := range []*unit{u, other} {
			if err := store.Put(ctx, stateKey("p", x.topic, x.partition, name), []byte(name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	g.retain(ctx, 1, map[*unit]*unitState{u: {Checkpoint: "a-g1-2", Offset: 10}})
	g.retain(ctx, 2, map[*unit]*unitState{u: {Checkpoint: "a-g1-3", Offset: 20}})
	if err := g.clean(ctx, u, "b-g1-7"); err != nil {
		t.Fatal(err)
	}
	keys := func(x *unit) []string {
		objs, err := store.List(ctx, stateKey("p", x.topic, x.partition, "")+"/")
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, o := range objs {
			ks = append(ks, o.Key)
		}
		return ks
	}
	want := []string{stateKey("p", "tx", 3, "a-g1-2"), stateKey("p", "tx", 3, "a-g1-3"), stateKey("p", "tx", 3, "b-g1-7")}
	if got := keys(u); !slices.Equal(got, want) {
		t.Errorf("after clean-up %v, want %v", got, want)
	}
	if got := keys(other); len(got) != 5 {
		t.Errorf("another unit's state was touched: %v", got)
	}
}

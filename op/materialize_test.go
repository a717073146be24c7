package op

import (
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var materializeIn = arrow.NewSchema([]arrow.Field{
	{Name: OpColumn, Type: arrow.BinaryTypes.String},
	{Name: "card", Type: arrow.BinaryTypes.String},
	{Name: "v", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// tableOf renders the rows shards hold as card=v, sorted.
func tableOf(t *testing.T, shards ...*TableShard) []string {
	t.Helper()
	var out []string
	for _, s := range shards {
		for _, k := range s.Keys() {
			for _, r := range s.Lookup([]byte(k)) {
				card, v := array.NewStringBuilder(memory.DefaultAllocator), array.NewInt64Builder(memory.DefaultAllocator)
				if err := AppendKey([]byte(r), []array.Builder{card, v}); err != nil {
					t.Fatal(err)
				}
				c, n := card.NewStringArray(), v.NewInt64Array()
				out = append(out, fmt.Sprintf("%s=%d", c.Value(0), n.Value(0)))
				c.Release()
				n.Release()
				card.Release()
				v.Release()
			}
		}
	}
	slices.Sort(out)
	return out
}

func newTestMaterialize(t *testing.T, rows bool, shards map[int]*TableShard) *Materialize {
	t.Helper()
	m, err := NewMaterialize(MaterializeConfig{In: materializeIn, Op: 0, Keys: []int{1}, Rows: rows, Shard: func(sub, _ int) *TableShard {
		if shards[sub] == nil {
			shards[sub] = NewTableShard()
		}
		return shards[sub]
	}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMaterializeAppliesChanges applies a changelog to a table of one row per key, and a
// top's to one of several rows per key; the tables restore from snapshots rescaled from 2
// subtasks to 3, the new shards emptied first.
func TestMaterializeAppliesChanges(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	for _, c := range []struct {
		rows       bool
		ops, cards []string
		vals       []string
		want       []string
	}{
		{false, []string{"+I", "+I", "-U", "+U", "+I", "-D"}, []string{"a", "b", "a", "a", "c", "b"}, []string{"1", "2", "1", "5", "3", "2"}, []string{"a=5", "c=3"}},
		{true, []string{"+I", "+I", "+I", "-D", "+I"}, []string{"a", "a", "b", "a", "a"}, []string{"1", "2", "7", "1", "4"}, []string{"a=2", "a=4", "b=7"}},
	} {
		shards := map[int]*TableShard{}
		subs := []*Materialize{newTestMaterialize(t, c.rows, shards), newTestMaterialize(t, c.rows, shards)}
		for i, m := range subs {
			if err := m.Open(Context{Subtask: i, Parallelism: 2}); err != nil {
				t.Fatal(err)
			}
		}
		rec := batch(t, mem, materializeIn, c.ops, c.cards, c.vals)
		deliver(t, subs[0], []msg{{rec: rec}}, false)
		rec.Release()
		if got := tableOf(t, shards[0], shards[1]); !slices.Equal(got, c.want) {
			t.Fatalf("rows %v: table %v, want %v", c.rows, got, c.want)
		}
		states := make([][]byte, 2)
		for i, m := range subs {
			var err error
			if states[i], err = m.Snapshot(1); err != nil {
				t.Fatal(err)
			}
		}
		moved, err := newTestMaterialize(t, c.rows, shards).Rescale(states, 3, cardOwner(3))
		if err != nil {
			t.Fatal(err)
		}
		shards[0].rows["stale"] = []string{"x"}
		for i := range 3 {
			m := newTestMaterialize(t, c.rows, shards)
			if err := m.Open(Context{Subtask: i, Parallelism: 3}); err != nil {
				t.Fatal(err)
			}
			if err := m.Restore(moved[i]); err != nil {
				t.Fatal(err)
			}
		}
		if got := tableOf(t, shards[0], shards[1], shards[2]); !slices.Equal(got, c.want) {
			t.Fatalf("rows %v: restored at 3, table %v, want %v", c.rows, got, c.want)
		}
	}
}

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/objstore"
)

// benchGeneration is a generation of a worker of pipeline that owns keyGroups of the
// exchange topic feeding the keyed node final, as build would make it for a keyed stage
// of one stateful node: the exchange's source node at one subtask, final at one subtask,
// one unit per key group. Its worker saves to and loads from store and, through cl, reads
// the offsets group committed. Only what unitStates, saveAll and restore use is set.
func benchGeneration(pipeline string, store objstore.Store, cl *kgo.Client, group, topic string, final *engine.Node, keyGroups []int32) *generation {
	st := &Stage{Name: final.Name, Nodes: []*engine.Node{final}}
	w := &worker{opts: Options{Layout: &Layout{Pipeline: pipeline, KeyGroups: 256, Stages: []*Stage{st}}, Store: store, Group: group}, cl: cl}
	g := newGeneration(w, 1, map[string][]int32{topic: keyGroups}, time.Now())
	g.attempt, g.stopAttempt = context.WithCancel(g.ctx) // as once starts an attempt
	g.committed = map[*unit]committedUnit{}
	in := &engine.Node{Name: topic, Parallelism: 1, Watermarks: engine.NoEventTime}
	g.graph = &engine.Graph{KeyGroups: 256, Nodes: []*engine.Node{in, final}}
	g.keyed[final.Name] = true
	for i, kg := range keyGroups {
		g.units = append(g.units, &unit{stage: st, topic: topic, partition: kg, node: in, index: i, offsetOf: benchOffset})
	}
	return g
}

// benchPosition is the position of a key group's reader in the snapshots the benchmarks
// make: the offset of its next record, a JSON number, so that benchOffset reads it back.
func benchPosition(kg int32) json.RawMessage { return json.RawMessage(strconv.Itoa(1000 + int(kg))) }

// benchOffset reads the offset out of a position benchPosition made.
func benchOffset(i int, pos []byte) (int64, error) {
	off, err := strconv.ParseInt(string(pos), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("position %d: %w", i, err)
	}
	return off, nil
}

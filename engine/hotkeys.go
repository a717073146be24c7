package engine

import (
	"cmp"
	"slices"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/heavy"
)

// Hot keys are found by sampling: every keySampleStride-th row a hash edge routes is counted
// in a small heavy-hitters sketch of its sending subtask, and the sketch halves its counts
// every keyDecaySamples samples, so it tells the recent traffic. A key worth a verdict takes
// a large share, which a sample finds as surely as a full count, at an eighth of the cost.
const (
	keySampleStride = 8
	keySketchSize   = 32
	keyDecaySamples = 1 << 15
	hotKeysReported = 3
)

// keySketch is the sketch of one sending subtask on one hash edge.
type keySketch struct {
	mu     sync.Mutex
	sketch *heavy.Sketch
	offset int // the first row of the next batch to sample
}

// sample counts every keySampleStride-th row of a batch by its key hash; the key columns at
// key render a key the first time the sketch sees it.
func (k *keySketch) sample(rec arrow.RecordBatch, key []int, hashes []uint64) {
	row := 0
	label := func() string { return keyLabel(rec, key, row) }
	k.mu.Lock()
	defer k.mu.Unlock()
	for row = k.offset; row < len(hashes); row += keySampleStride {
		k.sketch.Add(hashes[row], label)
	}
	k.offset = row - len(hashes)
	if k.sketch.Total() >= keyDecaySamples {
		k.sketch.Decay()
	}
}

// keyLabel renders a row's key as text: its values joined by ", ".
func keyLabel(rec arrow.RecordBatch, key []int, row int) string {
	var b strings.Builder
	for i, c := range key {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(rec.Column(c).ValueStr(row))
	}
	return b.String()
}

// hotKeys merges the sketches of the edges into one node and names its hottest keys.
func hotKeys(sketches []*keySketch, keyGroups, parallelism int) []HotKey {
	if len(sketches) == 0 {
		return nil
	}
	merged := heavy.New(keySketchSize)
	for _, k := range sketches {
		k.mu.Lock()
		merged.Merge(k.sketch)
		k.mu.Unlock()
	}
	// A key's guaranteed count is its count less the error it may have inherited: over many
	// keys of equal weight every tracked count is mostly error, and no key is hot.
	var out []HotKey
	for _, e := range merged.Top(hotKeysReported) {
		if sure := e.Count - e.Error; sure > 0 && merged.Total() > 0 {
			out = append(out, HotKey{Key: e.Key, Share: float64(sure) / float64(merged.Total()),
				Subtask: KeyGroupOwner(KeyGroup(e.Hash, keyGroups), keyGroups, parallelism)})
		}
	}
	slices.SortStableFunc(out, func(a, b HotKey) int { return cmp.Compare(b.Share, a.Share) })
	return out
}
